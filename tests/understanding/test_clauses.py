"""bot/understanding/clauses.py: two questions are split, one question is left whole, and each
clause is told apart: a question, a problem reported, or only the story around them."""

from __future__ import annotations

import pytest

from bot.understanding.clauses import clauses, split


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
    "Hello. How much is the duty on a fridge?",
])
def test_one_question_stays_whole(text):
    assert split(text) == []


def test_a_short_greeting_joins_the_question_after_it_instead_of_keeping_the_message_whole():
    assert split("Hello. How do I pay customs duty? And what is the penalty if I pay late?") == [
        "Hello How do I pay customs duty", "what is the penalty if I pay late"]


def test_a_joining_word_is_not_part_of_the_question():
    assert split("how do i get a prn? and how do i pay with mobile money")[1] == (
        "how do i pay with mobile money")


S, Q, P, W = (), ("asked",), ("problem",), ("wants",)  # a story sentence, a question...


@pytest.mark.parametrize(("text", "kinds"), [
    ("Good morning sir. I paid my duty yesterday through the bank. I want to know how long "
     "clearance takes", [S, S, Q + W]),
    ("Good morning, I want to pay the duty using mobile money. Where do I get the number for "
     "the payment?", [W, Q]),
    ("I paid but it's not reflecting, also what's the penalty for late payment", [P, Q]),
    ("I forgot my TPIN. How do I pay duty online", [P, Q]),
    ("Hi there, two questions: what is a TPIN, and how do I register for one?", [Q, Q]),
    ("I am a returning resident, is there relief on my goods? and what do I pay on my car",
     [Q, Q]),
    ("Hello sir. Please explain the carbon surtax. My car was charged it at the border", [Q, S]),
    ("Send me the list of prohibited goods, also which goods need a permit?", [W, Q]),
])
def test_each_clause_is_a_question_a_problem_a_want_or_the_story(text, kinds):
    assert [tuple(k for k in ("asked", "problem", "wants") if getattr(c, k))
            for c in clauses(text)] == kinds


@pytest.mark.parametrize(("text", "joined"), [
    ("I want to register for a TPIN, also how do I appoint a clearing agent?", [False, True]),
    ("I want to pay with mobile money. Where do I get the number for the payment?",
     [False, False]),
    ("Hi, I want to report smuggling near Mwami. How do I lodge a complaint too?",
     [False, True]),
    ("Hello. How do I pay customs duty? And what is the penalty if I pay late?", [False, True]),
])
def test_a_clause_joined_by_also_and_or_too_is_told_apart(text, joined):
    assert [c.joined for c in clauses(text)] == joined


@pytest.mark.parametrize(("text", "parts"), [
    ("how much duty on a used car, how do i pay it",
     ["how much duty on a used car", "how do i pay it"]),
    ("what is a tpin, where do i register for one",
     ["what is a tpin", "where do i register for one"]),
    ("Hello, how do I pay duty, where is the office in Ndola",
     ["Hello, how do I pay duty", "where is the office in Ndola"]),
    ("when will my goods be released, where do i pay the duty",
     ["when will my goods be released", "where do i pay the duty"]),
])
def test_two_questions_joined_by_a_comma_only_are_split(text, parts):
    assert split(text) == parts


@pytest.mark.parametrize("text", [
    "If I import a second hand car from Japan, how much duty will I pay",
    "when my goods arrive at Chirundu, what documents do i need",
    "Hello, how do I pay duty",
    "my payment is not reflecting, what should i do",
    "how much can i bring duty free, i am coming from Dubai next week",
    "good morning, is duty charged on electric cars, I am buying one in Durban",
    # A yes/no question after a comma elaborates the first; "when" + -ing is a condition.
    "How do I register for a TPIN, do I need to go to the office?",
    "Where do I pay duty, can I use mobile money?",
    "When importing a car, what documents do I need?",
    "What is required, do I need a clearing agent for personal goods?",
])
def test_a_condition_a_greeting_or_a_detail_before_a_comma_keeps_one_question_whole(text):
    assert split(text) == []
