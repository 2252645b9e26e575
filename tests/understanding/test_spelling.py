"""bot/understanding/spelling.py: SMS spelling expanded, misspellings corrected against the
customs vocabulary, and nothing else touched (numbers, references, TPINs, English words)."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.understanding.spelling import Speller, edit_distance, normalise

VOCABULARY = Counter({"declaration": 40, "declarations": 5, "customs": 60, "clearing": 20,
                      "agent": 30, "import": 50, "importing": 5, "tpin": 40, "register": 10,
                      "vehicle": 15, "payment": 25, "reference": 12, "duty": 70})
ENGLISH = frozenset({"how", "do", "i", "get", "my", "the", "a", "is", "what", "for", "car",
                     "please", "registered", "important"})
SPELLER = Speller(VOCABULARY, ENGLISH)


@pytest.mark.parametrize(("typed", "meant"), [
    ("hw do i gt tpin", "how do i get tpin"),
    ("wat is duty 4 a car pls", "what is duty 4 a car please"),
    ("decleration refrence", "declaration reference"),
    ("custms clering agent", "customs clearing agent"),
    ("imprt a vehicel", "import a vehicle"),
    ("wat if i pay l8", "what if i pay late"),  # a number spelling a syllable
])
def test_sms_spelling_and_misspellings_become_the_words_the_model_knows(typed, meant):
    assert normalise(typed, SPELLER) == meant


@pytest.mark.parametrize("text", [
    "2026 LSK C 10452", "my tpin is 1002003004", "registered", "important",
    "Kasumbalesa", "asycuda", "0977123456",
])
def test_numbers_references_english_and_unknown_names_are_left_alone(text):
    assert normalise(text, SPELLER) == text


def test_a_tie_goes_to_the_more_frequent_word():
    speller = Speller(Counter({"taxes": 1, "taxis": 9}))
    assert speller.correct("taxos") == "taxis"


def test_short_words_are_never_guessed():
    assert SPELLER.correct("dut") == "dut"


def test_edit_distance_counts_a_swap_as_one():
    assert edit_distance("tpni", "tpin") == 1
    assert edit_distance("custom", "customs") == 1
    assert edit_distance("abc", "xyz") == 3


@pytest.mark.parametrize("word", ["importer", "importing", "registers", "registered",
                                  "payments"])
def test_inflections_of_known_words_are_not_misspellings(word):
    speller = Speller(Counter({"imported": 5, "import": 9, "register": 3, "payment": 4}),
                      frozenset({"register", "payment"}))
    assert speller.correct(word) == word


def test_a_huge_word_is_not_guessed_at():
    import time

    word = "q" * 2000
    started = time.perf_counter()
    assert SPELLER.correct(word) == word
    assert time.perf_counter() - started < 0.1


def test_line_breaks_stay_they_separate_questions():
    assert normalise("wat is vat\nhw do i gt tpin", SPELLER) == "what is vat\nhow do i get tpin"


def test_a_capitalised_name_inside_a_sentence_is_not_corrected():
    speller = Speller(Counter({"customs": 9, "mwabuka": 1, "register": 3}))
    assert normalise("I am a farmer in Registr", speller) == "I am a farmer in Registr"
    assert normalise("Registr my company", speller) == "register my company"
    assert normalise("farmer in registr. Custms help", speller) == (
        "farmer in register. customs help")


def test_after_a_greeting_or_a_comma_a_capitalised_word_starts_a_sentence_and_is_corrected():
    speller = Speller(Counter({"customs": 9, "receipt": 3, "refund": 3}))
    assert normalise("Hello, Custms help", speller) == "Hello, customs help"
    assert normalise("Hi Custms", speller) == "Hi customs"
    assert normalise("Good morning, Reciept missing", speller) == "Good morning, receipt missing"
    assert normalise("Duty: Refnd please", speller) == "Duty: refund please"
    assert normalise("I live in Custms", speller) == "I live in Custms"  # a name


def test_no_word_is_corrected_into_another_languages_word():
    # "mwabuka" (a Tonga greeting) is in the training data; "mazabuka" (a town) is not it.
    speller = Speller(Counter({"mwabuka": 3, "customs": 9}), frozenset(),
                      frozenset({"mwabuka"}))
    assert speller.correct("mazabuka") == "mazabuka"
    assert speller.correct("mwabka") == "mwabka"
    assert speller.known("mwabuka")
    assert Speller(Counter({"mwabuka": 3})).correct("mazabuka") == "mwabuka"


@pytest.mark.parametrize(("typed", "meant"), [
    ("my payment wasnt reflected", "my payment was not reflected"),
    ("they arent answering", "they are not answering"),
    ("it wont clear", "it will not clear"),
])
def test_a_contraction_without_its_apostrophe_keeps_its_not(typed, meant):
    speller = Speller(Counter({"want": 9, "agent": 9, "payment": 5, "reflected": 2}))
    assert normalise(typed, speller) == meant
