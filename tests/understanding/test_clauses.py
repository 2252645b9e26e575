"""bot/understanding/clauses.py: two questions are split, one question is left whole."""

from __future__ import annotations

import pytest

from bot.understanding.clauses import split


@pytest.mark.parametrize(("text", "parts"), [
    ("I paid but it's not reflecting, also what's the penalty for late payment",
     ["I paid but it's not reflecting", "what's the penalty for late payment"]),
    ("how do i register for a tpin? where do i pay duty",
     ["how do i register for a tpin", "where do i pay duty"]),
    ("what is the vat rate and how do i pay it online",
     ["what is the vat rate", "how do i pay it online"]),
    ("Good morning sir. I have a consignment of tyres at Nakonde. What duty do I pay?",
     ["Good morning sir", "I have a consignment of tyres at Nakonde", "What duty do I pay"]),
])
def test_questions_are_split_in_order(text, parts):
    assert split(text) == parts


@pytest.mark.parametrize("text", [
    "how do i import and export goods",
    "what documents do i need to clear goods",
    "vat?",
    "duty on cars and trucks",
    "hi. vat",
])
def test_one_question_stays_whole(text):
    assert split(text) == []
