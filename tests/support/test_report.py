"""The support report on conversations written through Rasa's (redacting) SQL tracker store.

The end-to-end case (conversations over REST with the trained model) is in
tests/conversation/test_support_conversation.py; here the figures are checked on stores built
event by event, so every count is known exactly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.content.reader import read_knowledge
from bot.ops import cli
from bot.stores.tracker_store import RedactingSQLTrackerStore
from bot.support.report import build_report, group_texts, period, to_html, to_markdown

ROOT = Path(__file__).resolve().parents[2]


# --- helpers shared with test_retention ------------------------------------------------------

def tracker_store(path: Path | None = None, **kwargs) -> RedactingSQLTrackerStore:
    if path is not None:
        kwargs = {"dialect": "sqlite", "db": str(path)}
    return RedactingSQLTrackerStore(Domain.empty(), **kwargs)


def said(text: str, intent: str, ts: float) -> list:
    return [UserUttered(text, intent={"name": intent, "confidence": 0.9}, timestamp=ts),
            ActionExecuted("action_reply", timestamp=ts + 0.1),
            BotUttered("reply", timestamp=ts + 0.2),
            ActionExecuted("action_listen", timestamp=ts + 0.3)]


def session(ts: float) -> list:
    return [ActionExecuted("action_session_start", timestamp=ts),
            SessionStarted(timestamp=ts + 0.01),
            ActionExecuted("action_listen", timestamp=ts + 0.02)]


def save(store: RedactingSQLTrackerStore, sender: str, events: list) -> None:
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))


def at(day: dt.date, hour: int = 10) -> float:
    # A fraction, like real event times (whole-number floats look like TPINs to redaction).
    return dt.datetime.combine(day, dt.time(hour)).timestamp() + 0.25


# --- the report --------------------------------------------------------------------------------

TODAY = dt.date(2026, 11, 29)
YESTERDAY = TODAY - dt.timedelta(days=1)
PASSPORT = ["where do i renew my passport", "passport renewal office in lusaka",
            "how to renew an expired passport"]


@pytest.fixture()
def store_db(tmp_path):
    path = tmp_path / "tracker.db"
    store = tracker_store(path)
    t = at(YESTERDAY)
    # Three people ask about passports (declined), one about football (unsure).
    for i, text in enumerate(PASSPORT):
        save(store, f"p{i}", session(t + i * 100) + said(text, "out_of_scope", t + i * 100 + 1))
    save(store, "f1", session(t + 500) + said("football scores tonight", "nlu_fallback", t + 501))
    # Today: knowledge questions, a TPIN typed inside the declaration form (not a gap), a
    # button click, and one conversation that asks for a person.
    t = at(TODAY)
    save(store, "k1", session(t) + said("vat rate?", "kb_import_vat_rate", t + 1)
         + said("/kb_what_is_tpin", "kb_what_is_tpin", t + 2)
         + said("vat on imports", "kb_import_vat_rate", t + 3))
    save(store, "d1", session(t + 10) + said("where is my declaration",
                                             "check_declaration_status", t + 11)
         + [ActiveLoop("declaration_form", timestamp=t + 11.5)]
         + said("tpin 1002003004", "nlu_fallback", t + 12)
         + [ActiveLoop(None, timestamp=t + 12.5)])
    save(store, "h1", session(t + 20) + said("talk to a person", "request_human", t + 21)
         + [ActiveLoop("handover_form", timestamp=t + 21.5)]
         + said("Mary Banda", "nlu_fallback", t + 22)
         + [ActiveLoop(None, timestamp=t + 23), ActionExecuted("action_create_ticket",
                                                               timestamp=t + 23.1)])
    # Outside the period: not counted.
    old = at(TODAY - dt.timedelta(days=30))
    save(store, "old", session(old) + said("where do i renew my passport", "out_of_scope",
                                           old + 1))
    return path


def report_for(path: Path, since=YESTERDAY, until=TODAY, votes=None):
    kb, _ = read_knowledge(ROOT / "knowledge")
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        return build_report(engine, since, until, kb=kb, data_dir=ROOT / "data", votes=votes,
                            today=TODAY)
    finally:
        engine.dispose()


def test_figures_match_what_was_stored(store_db):
    r = report_for(store_db, votes={"import_vat_rate": {"helpful": 2, "not_helpful": 3},
                                    "what_is_tpin": {"helpful": 1, "not_helpful": 0}})
    assert r.conversations == 7
    assert [(d.date, d.conversations, d.messages) for d in r.days] == [
        (YESTERDAY, 4, 4), (TODAY, 3, 7)]
    assert r.messages == 11
    assert r.handed_over == 1 and r.tickets == 1
    # Handled without a person: only k1 was answered; the four declined ones are not handled,
    # d1 left the declaration form without a status (no question answered, none declined).
    assert (r.handled, r.declined_only, r.handed_over, r.no_question) == (1, 4, 1, 1)
    assert r.containment == pytest.approx(1 / 7)
    assert [(d.handled, d.declined_only, d.handed_over) for d in r.days] == [(0, 4, 0),
                                                                             (1, 0, 1)]
    assert [(e, n) for e, _, n in r.asked] == [("import_vat_rate", 2), ("what_is_tpin", 1)]
    assert [(e, n, h) for e, _, n, h in r.votes] == [("import_vat_rate", 3, 2),
                                                     ("what_is_tpin", 0, 1)]
    # Passports: one group of three, most frequent first; the form answers are not gaps.
    assert [sorted(m.text for m in g.messages) for g in r.unanswered] == [
        sorted(PASSPORT), ["football scores tonight"]]
    assert [m.kind for m in r.unanswered[1].messages] == ["unsure"]
    assert r.unanswered_messages == 4


def test_a_shorter_period_leaves_the_rest_out(store_db):
    r = report_for(store_db, since=TODAY, until=TODAY)
    assert r.conversations == 3 and r.unanswered == []


def test_draft_entry_passes_validate_once_its_answer_is_written(store_db, tmp_path):
    from bot.content.checks import validate

    group = report_for(store_db).unanswered[0]
    entry = yaml.safe_load(group.draft_yaml)[0]
    assert entry["answer"] == "" and entry["reviewed"] == TODAY
    assert set(PASSPORT) <= set(entry["examples"]) and len(entry["examples"]) >= 8
    knowledge = tmp_path / "knowledge"
    import shutil

    shutil.copytree(ROOT / "knowledge", knowledge)
    target = knowledge / "travellers.yml"
    original = target.read_text()
    target.write_text(original.rstrip("\n") + "\n\n" + group.draft_yaml)
    assert not validate(knowledge, ROOT / "data", today=TODAY).ok  # the answer is missing
    target.write_text(original.rstrip("\n") + "\n\n" + group.draft_yaml.replace(
        'answer: ""', 'answer: "Passports are issued by the Department of Immigration."'))
    result = validate(knowledge, ROOT / "data", today=TODAY)
    assert result.ok, [str(p) for p in result.errors]
    assert group.draft_id in result.kb.entries


def test_grouping_is_deterministic_and_separates_topics():
    texts = ["weather in lusaka today", "football results", "lusaka weather tomorrow",
             "who won the football match", "qwzx plorb"]
    groups = group_texts(texts, [])
    assert groups == group_texts(texts, [])
    assert sorted(sorted(g) for g in groups) == [[0, 2], [1, 3], [4]]
    assert group_texts([], []) == [] and group_texts(["a b", "A B!"], []) == [[0, 1]]


def test_html_is_self_contained_and_escapes_messages(store_db, tmp_path):
    store = tracker_store(store_db)
    t = at(TODAY, 11)
    save(store, "x1", session(t) + said("<script>alert(1)</script> customs?", "out_of_scope",
                                        t + 1))
    r = report_for(store_db)
    page = to_html(r)
    assert "<script" not in page and "&lt;script&gt;" in page
    assert page.count("<svg") >= 3 and "http://" not in page.replace("http://www.w3.org", "")
    md = to_markdown(r)
    assert "| Conversations | 8 |" in md and "where do i renew my passport" in md
    assert "tpin 1002003004" not in md + page


def test_report_command_writes_both_files(store_db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRACKER_DB", str(store_db))
    monkeypatch.delenv("TRACKER_DB_URL", raising=False)
    monkeypatch.setenv("CUSTOMS_DB_URL", f"sqlite:///{tmp_path / 'app.db'}")
    from bot import appdb

    appdb.dispose_engines()
    out = tmp_path / "reports"
    assert cli.main(["report", "--since", str(YESTERDAY), "--until", str(TODAY),
                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "7 conversation(s)" in printed
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"support-report-{YESTERDAY}-to-{TODAY}.html",
                     f"support-report-{YESTERDAY}-to-{TODAY}.md"]
    appdb.dispose_engines()


def test_both_formats_explain_the_groups_in_the_same_words_and_only_when_there_are_some(
        store_db, tmp_path):
    from bot.support.report import texts

    r = report_for(store_db)
    md, page = to_markdown(r), to_html(r)
    assert md.count(texts.UNANSWERED_INTRO) == 1
    assert ("<i>Declined</i>: the bot said it cannot help with that" in page
            and "under <code>entries:</code> in the right <code>knowledge/</code> file" in page)
    for rule in texts.COUNTING_RULES:
        assert f"- {rule}" in md and rule.split("'")[0] in page
    empty = report_for(tmp_path / "empty.db")
    md, page = to_markdown(empty), to_html(empty)
    assert "Grouped by similarity" not in md and "Grouped by similarity" not in page
    assert "## Questions the bot could not answer\n\nNone in this period.\n" in md


def test_containment_counts_a_conversation_handled_only_when_answered_without_a_person(
        tmp_path):
    store = tracker_store(tmp_path / "tracker.db")
    t = at(TODAY)
    save(store, "answered-after-a-miss", session(t) + said("passport office", "out_of_scope",
                                                           t + 1)
         + said("vat rate?", "kb_import_vat_rate", t + 2))
    save(store, "answered-then-person", session(t + 10) + said("vat?", "kb_import_vat_rate",
                                                               t + 11)
         + said("talk to a person", "request_human", t + 12))
    save(store, "status-looked-up", session(t + 20) + said("where is my declaration",
                                                           "check_declaration_status", t + 21)
         + [ActionExecuted("action_check_declaration", timestamp=t + 22)])
    save(store, "only-clarified", session(t + 30) + said("thing", "nlu_fallback", t + 31))
    save(store, "only-greeted", session(t + 40) + said("hello", "greet", t + 41))
    r = report_for(tmp_path / "tracker.db", since=TODAY, until=TODAY)
    assert (r.conversations, r.handled, r.declined_only, r.handed_over, r.no_question) == (
        5, 2, 1, 1, 1)
    assert r.containment == pytest.approx(2 / 5)
    assert (r.days[0].handled, r.days[0].declined_only, r.days[0].handed_over) == (2, 1, 1)
    md, page = to_markdown(r), to_html(r)
    assert "| Handled without a person (containment) | 40% (2 of 5) |" in md
    assert "| Only declined, clarified or pointed elsewhere (no answer, no person) | 1 |" in md
    assert f"| {TODAY:%a %d %b %Y} | 5 | 2 | 1 | 1 |" in md
    assert "<th>Declined only</th>" in page and "declined only: 1" in page


def test_period_defaults_to_the_last_seven_days():
    assert period(today=TODAY) == (TODAY - dt.timedelta(days=6), TODAY)
    assert period(days=1, today=TODAY) == (TODAY, TODAY)
    with pytest.raises(ValueError):
        period(since=TODAY, until=YESTERDAY)


def test_another_language_or_a_domestic_tax_pointer_is_not_handled_nor_a_knowledge_gap(
        tmp_path):
    store = tracker_store(tmp_path / "tracker.db")
    t = at(TODAY)
    save(store, "in-nyanja", session(t) + said("ndifuna kulipira msonkho", "other_language",
                                               t + 1))
    save(store, "income-tax", session(t + 10) + said("how do i file my income tax return",
                                                     "domestic_tax", t + 11))
    save(store, "answered", session(t + 20) + said("vat rate?", "kb_import_vat_rate", t + 21))
    r = report_for(tmp_path / "tracker.db", since=TODAY, until=TODAY)
    assert (r.conversations, r.handled, r.declined_only, r.handed_over, r.no_question) == (
        3, 1, 2, 0, 0)
    assert r.unanswered == []  # nothing for the content team to write an entry about
