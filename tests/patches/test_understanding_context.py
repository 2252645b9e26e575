"""bot/patches/understanding.py: the conversation a follow-up is read in, from Rasa's tracker."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.names import ANSWER_ACTION
from bot.patches.understanding import recent_turns
from bot.understanding.context import CONTEXT_TURNS


def said(text: str, intent: str, **parse) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.9},
                       parse_data={"intent": {"name": intent, "confidence": 0.9}, **parse})


def tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("someone", list(events))


def test_each_recent_message_comes_with_the_entry_answered_to_it():
    turns = recent_turns(tracker(
        said("what is the vat rate", "kb_import_vat_rate"), ActionExecuted(ANSWER_ACTION),
        said("thanks", "thank"), ActionExecuted("utter_you_are_welcome")))
    assert turns == [("what is the vat rate", "import_vat_rate"), ("thanks", None)]


def test_a_message_the_bot_asked_about_has_no_entry_even_after_an_earlier_answer():
    turns = recent_turns(tracker(
        said("what is the vat rate", "kb_import_vat_rate"), ActionExecuted(ANSWER_ACTION),
        said("and that?", "nlu_fallback"), ActionExecuted("action_clarify")))
    assert turns == [("what is the vat rate", "import_vat_rate"), ("and that?", None)]


def test_two_questions_lean_on_the_last_one_answered():
    turns = recent_turns(tracker(
        said("vat and excise", "kb_import_vat_rate",
             compound=["kb_import_vat_rate", "kb_excise_duty_goods"]),
        ActionExecuted(ANSWER_ACTION)))
    assert turns == [("vat and excise", "excise_duty_goods")]


def test_only_the_latest_messages_of_the_session_count():
    turns = recent_turns(tracker(
        said("what is the vat rate", "kb_import_vat_rate"), ActionExecuted(ANSWER_ACTION),
        said("hello", "greet"), said("hello again", "greet"), said("and?", "greet")))
    assert len(turns) == CONTEXT_TURNS and turns[-1] == ("and?", None)
    assert ("what is the vat rate", "import_vat_rate") not in turns
    assert recent_turns(tracker(
        said("what is the vat rate", "kb_import_vat_rate"), ActionExecuted(ANSWER_ACTION),
        SessionStarted())) == []
    assert recent_turns(None) == []
