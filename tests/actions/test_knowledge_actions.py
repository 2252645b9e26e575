"""Knowledge actions, tested the rasa-sdk way: a Tracker from a dict, a CollectingDispatcher."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import (
    ActionAnswerKnowledge,
    ActionBrowseCategory,
    ActionClarify,
    ActionReply,
)
from bot.content.live import KnowledgeStore

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = {"intents": ["greet", "check_declaration_status"]}


@pytest.fixture()
def kb_dir(private_knowledge):
    """A private copy of the shipped knowledge base, served by the actions."""
    return private_knowledge


def tracker(intent: str, ranking: list[tuple[str, float]] | None = None,
            entities: list[dict] | None = None, events: list[dict] | None = None) -> Tracker:
    latest = {"text": "some text", "intent": {"name": intent, "confidence": 0.9},
              "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [])],
              "entities": entities or []}
    return Tracker("user-1", {}, latest, events or [], False, None, {}, "action_listen")


def user_event(intent: str) -> dict:
    return {"event": "user", "text": "x", "parse_data": {"intent": {"name": intent}}}


def run(action, t: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, DOMAIN)
    return events, dispatcher.messages


def test_answer_comes_from_the_yaml_with_settings_filled(kb_dir):
    from bot.content.reader import read_knowledge

    kb, _ = read_knowledge(kb_dir)
    entry = kb.entries["what_is_tpin"]
    events, messages = run(ActionAnswerKnowledge(), tracker("kb_what_is_tpin"))
    # It asked: the count of answers since "did this help?" starts again.
    assert events == [{"event": "slot", "timestamp": None, "name": "answers_since_feedback",
                       "value": 0}]
    # The answer, then (first answer of the conversation) the "did this help?" question.
    assert len(messages) == 2
    assert [b["payload"] for b in messages[1]["buttons"]] == [
        "/feedback_helpful", "/feedback_not_helpful"]
    assert messages[0]["text"].startswith(kb.fill(entry.answer)[:60])
    assert "{" not in messages[0]["text"]
    related_payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert related_payloads == [f"/kb_{r}" for r in entry.related]


def test_answer_edit_is_served_without_restart(kb_dir):
    store = KnowledgeStore(kb_dir, check_interval=0)
    before = store.get().entries["import_vat_rate"].answer
    path = kb_dir / "duties.yml"
    text = path.read_text()
    first_line = before.splitlines()[0]
    path.write_text(text.replace(first_line, "EDITED: " + first_line, 1))
    time.sleep(0.01)
    assert store.get().entries["import_vat_rate"].answer.startswith("EDITED: ")


def test_invalid_edit_is_refused_and_last_valid_kept(kb_dir, caplog):
    store = KnowledgeStore(kb_dir, check_interval=0)
    good = store.get().entries["import_vat_rate"].answer
    path = kb_dir / "duties.yml"
    path.write_text(path.read_text() + "\n  - id: broken\n    question: [unclosed\n")
    kb = store.get()
    assert kb.entries["import_vat_rate"].answer == good
    assert "duties.yml" in (store.last_error or "")
    assert any("edit refused" in r.getMessage() for r in caplog.records)


def test_unknown_knowledge_intent_is_declined_not_guessed(kb_dir):
    _, messages = run(ActionAnswerKnowledge(), tracker("kb_removed_entry"))
    assert len(messages) == 1
    assert "being updated" in messages[0]["text"]


def test_clarify_offers_top_knowledge_topics_and_something_else(kb_dir):
    ranking = [("nlu_fallback", 0.5), ("kb_import_vat_rate", 0.3), ("greet", 0.2),
               ("kb_customs_duty_bands", 0.2), ("kb_how_is_import_duty_calculated", 0.1),
               ("kb_what_is_tpin", 0.05)]
    _, messages = run(ActionClarify(), tracker("nlu_fallback", ranking,
                                               events=[user_event("nlu_fallback")]))
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == ["/kb_import_vat_rate", "/kb_customs_duty_bands",
                        "/kb_how_is_import_duty_calculated", "/something_else"]


def test_clarify_without_candidates_says_what_it_can_do(kb_dir):
    _, messages = run(ActionClarify(), tracker("nlu_fallback", [("nlu_fallback", 0.6),
                                                                ("greet", 0.3)],
                                               events=[user_event("nlu_fallback")]))
    assert "buttons" not in messages[0] or not messages[0]["buttons"]
    assert "customs" in messages[0]["text"]


def test_second_failure_in_a_row_hands_over_to_a_person(kb_dir):
    events = [user_event("nlu_fallback"), user_event("something_else"),
              user_event("nlu_fallback")]
    _, messages = run(ActionClarify(), tracker("nlu_fallback", [("kb_what_is_tpin", 0.3)],
                                               events=events))
    texts = " ".join(m["text"] for m in messages)
    assert "person" in texts
    from bot.content.reader import read_knowledge

    kb, _ = read_knowledge(kb_dir)
    assert kb.fill("{contact_email}") in texts


def test_capabilities_lists_categories_and_status_check(kb_dir):
    _, messages = run(ActionReply(), tracker("ask_capabilities"))
    titles = [b["title"] for b in messages[0]["buttons"]]
    from bot.content.reader import read_knowledge

    kb, _ = read_knowledge(kb_dir)
    assert titles[:-1] == [c.name for c in kb.categories]
    assert messages[0]["buttons"][-1]["payload"] == "/check_declaration_status"


def test_browse_category_lists_its_questions(kb_dir):
    from bot.content.reader import read_knowledge

    kb, _ = read_knowledge(kb_dir)
    category = kb.categories[1]
    _, messages = run(ActionBrowseCategory(), tracker(
        "browse_category", entities=[{"entity": "category", "value": category.name}]))
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == [f"/kb_{i}" for i in category.entry_ids]


def test_browse_unknown_category_shows_the_capabilities_menu(kb_dir):
    # An old button after support staff renamed a category: the menu, not a crash.
    from bot.content.reader import read_knowledge

    kb, _ = read_knowledge(kb_dir)
    events, messages = run(ActionBrowseCategory(), tracker(
        "browse_category", entities=[{"entity": "category", "value": "Nope"}]))
    assert events == []
    assert len(messages) == 1
    assert messages[0]["text"] == kb.message("capabilities")
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert titles[:-1] == [c.name for c in kb.categories if c.entry_ids]
    assert messages[0]["buttons"][-1]["payload"] == "/check_declaration_status"


def test_settings_change_reaches_bot_messages(kb_dir):
    settings = kb_dir / "settings.yml"
    settings.write_text(settings.read_text().replace("bot_name: ZAX", "bot_name: Kasuba"))
    _, messages = run(ActionReply(), tracker("greet"))
    assert "Kasuba" in messages[0]["text"]
