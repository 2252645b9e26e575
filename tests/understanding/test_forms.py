"""bot/understanding/forms.py with a fake model: inside a form, a message that opens with
"forget it" / "never mind" is stop, whatever the rest pulls the whole message towards."""

from __future__ import annotations

import asyncio

import pytest

from bot.names import STOP
from bot.understanding import forms

# What the fake model reads as stop on its own.
STOPS = {"forget it", "never mind", "nevermind", "not now", "leave it", "forget about it"}


async def fake_parse(text: str) -> dict:
    if text.lower() in STOPS:
        return {"text": text, "intent": {"name": STOP, "confidence": 0.95}}
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
    ("forget it i'll go", "kb_contact_customer_support", 0.9),        # the model is sure
])
def test_other_messages_keep_their_reading(text, intent, confidence):
    assert leaving(text, intent, confidence) == intent


def test_the_opening_read_is_noted():
    whole = {"text": "forget it, i'll call", "intent": {"name": "request_human",
                                                        "confidence": 0.6}}
    result = asyncio.run(forms.leaving(whole, "forget it, i'll call", fake_parse))
    assert result["understanding"]["form_lead"] == "forget it"
    assert result["intent_ranking"][0]["name"] == STOP
