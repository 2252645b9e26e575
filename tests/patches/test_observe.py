"""The patch reads a turn from Rasa's own events: the same outcome as from rasa-sdk dicts."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.metrics import outcomes
from bot.patches.observe import turn_events


def tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("someone", list(events))


def test_only_the_latest_turn_is_read() -> None:
    earlier = [UserUttered("hello", {"name": "greet", "confidence": 1.0}),
               ActionExecuted("action_start_handover"), ActiveLoop("handover_form"),
               ActiveLoop(None), ActionExecuted("action_listen")]
    latest = [UserUttered("vat?", {"name": "kb_vat", "confidence": 0.9}),
              ActionExecuted("action_answer_knowledge"), BotUttered("16%"),
              ActionExecuted("action_listen")]
    turn = turn_events(tracker(*earlier, *latest))
    assert [e["event"] for e in turn] == ["action", "bot", "action", "user"]
    assert outcomes.classify(turn) == "answered"


def test_buttons_and_the_form_are_seen() -> None:
    clarify = tracker(UserUttered("duty", {"name": "nlu_fallback", "confidence": 0.4}),
                      ActionExecuted("action_clarify"),
                      BotUttered("Did you mean", data={"buttons": [{"title": "a",
                                                                    "payload": "/kb_a"}]}))
    assert outcomes.classify(turn_events(clarify)) == "clarified"
    handed = tracker(UserUttered("person", {"name": "request_human", "confidence": 0.99}),
                     ActionExecuted("action_start_handover"), ActionExecuted("handover_form"),
                     ActiveLoop("handover_form"))
    assert outcomes.classify(turn_events(handed)) == "handed_over"
