"""The answer with another question of the message offered as a button (parse "offer", from
bot.understanding), tested the rasa-sdk way: a Tracker from a dict, a CollectingDispatcher."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import ActionAnswerKnowledge

FEEDBACK = "/feedback_helpful"


@pytest.fixture()
def kb(private_knowledge):
    from bot.content.reader import read_knowledge

    return read_knowledge(private_knowledge)[0]


def answer(intent: str, offer: list[str] | None = None, compound: list[str] | None = None,
           active_loop: dict | None = None) -> list[dict]:
    latest: dict = {"text": "some text", "intent": {"name": intent, "confidence": 0.9},
                    "intent_ranking": [], "entities": []}
    if offer is not None:
        latest["offer"] = offer
    if compound is not None:
        latest["compound"] = compound
    tracker = Tracker("user-1", {}, latest, [], False, None, active_loop or {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = ActionAnswerKnowledge().run(dispatcher, tracker, {})
    assert [e["name"] for e in events] == ["answers_since_feedback"]  # the feedback cadence
    return dispatcher.messages


def payloads(message: dict) -> list[str]:
    return [b["payload"] for b in message.get("buttons") or []]


def test_the_answer_then_the_other_question_as_a_button_then_the_vote_once(kb):
    messages = answer("kb_how_long_clearance_takes", offer=["kb_authorised_economic_operator"])
    answered = kb.fill(kb.entries["how_long_clearance_takes"].answer)
    assert messages[0]["text"].startswith(answered[:60])
    assert messages[1]["text"] == kb.message("offer_also_asked")
    entry = kb.entries["authorised_economic_operator"]
    assert messages[1]["buttons"] == [{"title": kb.fill(entry.question),
                                       "payload": "/kb_authorised_economic_operator"}]
    assert len(messages) == 3 and payloads(messages[2])[0] == FEEDBACK
    assert sum(payloads(m).count(FEEDBACK) for m in messages) == 1


def test_an_offered_entry_is_not_also_among_the_related_buttons(kb):
    related = kb.entries["payment_not_reflecting"].related
    assert "generate_payment_reference_number" in related
    messages = answer("kb_payment_not_reflecting",
                      offer=["kb_generate_payment_reference_number"])
    assert payloads(messages[0]) == [f"/kb_{r}" for r in related
                                     if r != "generate_payment_reference_number"]
    assert payloads(messages[1]) == ["/kb_generate_payment_reference_number"]


def test_without_an_offer_the_reply_is_the_answer_and_the_vote(kb):
    messages = answer("kb_how_long_clearance_takes")
    assert kb.message("offer_also_asked") not in [m["text"] for m in messages]
    assert len(messages) == 2


@pytest.mark.parametrize("offer", [["kb_how_long_clearance_takes"], ["kb_removed_entry"],
                                   ["greet"], []])
def test_an_offer_of_the_answer_itself_or_of_no_entry_is_left_out(kb, offer):
    messages = answer("kb_how_long_clearance_takes", offer=offer)
    assert kb.message("offer_also_asked") not in [m["text"] for m in messages]
    assert len(messages) == 2


def test_two_answers_then_the_offer_then_the_vote(kb):
    messages = answer("kb_how_to_pay_customs_duty",
                      compound=["kb_how_to_pay_customs_duty", "kb_late_payment_penalty"],
                      offer=["kb_late_payment_penalty", "kb_find_my_tpin"])
    texts = [m["text"] for m in messages]
    assert texts[2] == kb.message("offer_also_asked")
    assert payloads(messages[2]) == ["/kb_find_my_tpin"]  # the answered one is not offered
    assert payloads(messages[3]) == [FEEDBACK, "/feedback_not_helpful"]
    assert len(messages) == 4


def test_inside_a_form_the_offer_is_made_and_no_vote_asked(kb):
    messages = answer("kb_how_long_clearance_takes", offer=["kb_authorised_economic_operator"],
                      active_loop={"name": "handover_form"})
    assert [m["text"] for m in messages][1:] == [kb.message("offer_also_asked")]
