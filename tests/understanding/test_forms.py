"""bot/understanding/forms.py with a fake model: inside a form, a message that opens with
"forget it" / "never mind" is stop, whatever the rest pulls the whole message towards."""

from __future__ import annotations

import asyncio

import pytest

from bot.names import STOP
from bot.understanding import forms

# What the fake model reads as stop on its own.
STOPS = {"forget it", "never mind", "nevermind", "not now", "leave it", "forget about it"}


# What it reads alone as a knowledge question it is sure of.
QUESTIONS = {"duty on cars": "kb_import_motor_vehicle_duty"}


async def fake_parse(text: str) -> dict:
    if text.lower() in STOPS:
        return {"text": text, "intent": {"name": STOP, "confidence": 0.95}}
    if text.lower() in QUESTIONS:
        return {"text": text, "intent": {"name": QUESTIONS[text.lower()], "confidence": 0.9}}
    return {"text": text, "intent": {"name": "out_of_scope", "confidence": 0.5}}


def leaving(text: str, intent: str = "request_human", confidence: float = 0.6) -> str:
    whole = {"text": text, "intent": {"name": intent, "confidence": confidence},
             "intent_ranking": [{"name": intent, "confidence": confidence}]}
    return asyncio.run(forms.leaving(whole, text, fake_parse))["intent"]["name"]


@pytest.mark.parametrize("text", [
    "forget it, I'll go to the office myself",
    "never mind i will phone them",
    "nevermind. we'll sort it out at the border",
    "not now, maybe tomorrow",
    "leave it - just let it be",
])
def test_an_opening_stop_clause_leaves_the_form(text):
    assert leaving(text) == STOP


@pytest.mark.parametrize("text, intent, confidence", [
    ("forget it, what is the vat rate", "kb_import_vat_rate", 0.7),  # the rest asks
    ("never mind, my reference is 2026 LSK C 10452", "check_declaration_status", 0.6),
    ("never mind the refund, my car was held", "out_of_scope", 0.5),  # no short opening
    ("hello, i am Mary Banda", "greet", 0.9),                         # the opening is not stop
    ("forget it, duty on cars", "kb_import_motor_vehicle_duty", 0.9),  # the rest alone is sure
])
def test_other_messages_keep_their_reading(text, intent, confidence):
    assert leaving(text, intent, confidence) == intent


@pytest.mark.parametrize("text", ["forget it i'll go", "never mind, i will ask my clearing agent"])
def test_a_whole_message_pulled_to_an_entry_by_its_opening_still_leaves(text):
    """Sure of an entry for the whole message, not for its rest read alone: the person leaves."""
    assert leaving(text, "kb_do_i_need_clearing_agent", 0.85) == STOP


def test_the_opening_read_is_noted():
    whole = {"text": "forget it, i'll call", "intent": {"name": "request_human",
                                                        "confidence": 0.6}}
    result = asyncio.run(forms.leaving(whole, "forget it, i'll call", fake_parse))
    assert result["understanding"]["form_lead"] == "forget it"
    assert result["intent_ranking"][0]["name"] == STOP
