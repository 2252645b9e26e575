"""No "[placeholder]" setting reaches a user: fill() shows each one's fallback instead, while
`validate` keeps warning about it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.content.answers import answer_text
from bot.content.checks import validate
from bot.content.messages import REQUIRED_MESSAGES
from bot.content.model import SETTING_FALLBACKS, KnowledgeBase
from bot.content.reader import read_knowledge
from bot.content.statuses import load_status_texts

ROOT = Path(__file__).resolve().parents[2]
BRACKETED = re.compile(r"\[[^\]\n]*\]")
UNFILLED = re.compile(r"\{[a-z_]+\}")


def shipped() -> KnowledgeBase:
    kb, _ = read_knowledge(ROOT / "knowledge")
    return kb


def everything_users_read(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(where, text as sent) for every answer, short answer, question, message and status."""
    texts = [(f"answer {e}", answer_text(kb, e)) for e in kb.entries]
    texts += [(f"short_answer {e.id}", kb.fill(e.short_answer)) for e in kb.entries.values()
              if e.short_answer]
    texts += [(f"question {e.id}", kb.fill(e.question)) for e in kb.entries.values()]
    for key, filled_by_code in REQUIRED_MESSAGES.items():
        texts.append((f"message {key}", kb.message(key, **{n: "x" for n in filled_by_code})))
    status = load_status_texts(ROOT / "knowledge" / "statuses.yml")
    texts += [(f"status {code}.{name}", kb.fill(text))
              for code, fields in status.statuses.items() for name, text in fields.items()]
    texts += [(f"lane {lane}", kb.fill(text)) for lane, text in status.lanes.items()]
    return texts


def test_the_shipped_settings_still_have_placeholders_and_validate_warns():
    report = validate(ROOT / "knowledge")
    warned = {p.message.split("'")[1] for p in report.warnings
              if "still a placeholder" in p.message}
    assert warned and warned <= set(SETTING_FALLBACKS)
    assert all("until then users read" in p.message for p in report.warnings
               if "still a placeholder" in p.message)


@pytest.mark.parametrize("all_placeholders", [False, True], ids=["shipped", "nothing-filled"])
def test_no_text_a_user_reads_shows_a_placeholder(all_placeholders):
    kb = shipped()
    if all_placeholders:  # the worst case: the authority has filled in no setting at all
        kb.settings = {k: (f"[{k}]" if isinstance(v, str) else v) for k, v in kb.settings.items()}
    found = [(where, m) for where, text in everything_users_read(kb)
             for m in BRACKETED.findall(text or "") + UNFILLED.findall(text or "")]
    assert found == []
    assert len(everything_users_read(kb)) > 100


def test_a_filled_setting_is_shown_and_a_placeholder_falls_back_to_the_website():
    kb = KnowledgeBase({}, [], {"website": "https://example.org",
                                "contact_phone": "[toll-free number]",
                                "contact_email": "help@example.org"})
    assert kb.fill("Call {contact_phone} or write to {contact_email}.") == (
        "Call the number on https://example.org or write to help@example.org.")
    kb.settings["contact_phone"] = "0800 000 000"
    assert kb.fill("Call {contact_phone}.") == "Call 0800 000 000."


def test_a_new_setting_without_its_own_fallback_falls_back_to_the_website():
    kb = KnowledgeBase({}, [], {"website": "https://example.org", "fax": "[fax number]"})
    assert kb.fill("Fax: {fax}") == "Fax: https://example.org"
