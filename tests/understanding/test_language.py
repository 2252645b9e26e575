"""bot/understanding/language.py: messages in the languages of Zambia and its neighbours are
recognised as not English; short SMS English, customs words and place names are English.

A few development sentences per language; the held-out sentences are eval/realworld.yml
(`make eval`)."""

from __future__ import annotations

import pytest

from bot.understanding import language, lexicon, spelling

DOMAIN = ["tpin", "asycuda", "zra", "prn", "kasumbalesa", "chirundu", "nakonde", "comesa"]


@pytest.fixture(scope="module")
def detector():
    return language.detector(lexicon.english_words(), DOMAIN, spelling.abbreviations())


FOREIGN = {
    "nyanja": ["Ndikufuna kulembetsa TPIN yanga", "Zikomo kwambiri bambo"],
    "bemba": ["Ndefwaya ukulembesha TPIN yandi", "Ifipe fyandi filekakwa ku Nakonde"],
    "tonga": ["Ndiyanda kuziba zya mutelo", "Twalumba kapati"],
    "lozi": ["Ni bata ku ziba za mutelo", "Ni itumezi hahulu"],
    "swahili": ["Mizigo yangu imekwama Nakonde", "Asante sana"],
    "french": ["Comment obtenir un TPIN?", "Mes marchandises sont bloquées à Kasumbalesa"],
    "portuguese": ["Como posso obter um TPIN?", "Muito obrigado"],
}


@pytest.mark.parametrize(("lang", "text"),
                         [(lang, t) for lang, texts in FOREIGN.items() for t in texts])
def test_other_languages_are_not_english(detector, lang, text):
    verdict = detector.verdict(text)
    assert not verdict.english
    assert verdict.language is not None


@pytest.mark.parametrize("text", [
    "hw do i gt tpin", "wat is vat pls", "my goods r stuck at chirundu", "PRN?", "tpin",
    "asycuda", "ok thanks", "hi", "thx", "i hv a prblm wit my declaration",
    "Mwansa here, need help with TPIN", "Muli bwanji, how do I get a TPIN?",
    "is maize flour duty free under COMESA", "calc duty for toyota corolla 2015",
])
def test_sms_english_customs_words_and_names_are_english(detector, text):
    assert detector.is_english(text)


def test_customs_words_count_for_neither_side(detector):
    assert detector.verdict("tpin asycuda zra").english
    assert detector.verdict("Ndefwaya TPIN").english is False


@pytest.mark.parametrize("text", ["ce 5", "CE5?", "ce 34", "form ce-6", "EU?", "CE form"])
def test_form_codes_and_acronyms_are_no_words_of_another_language(detector, text):
    # "ce" is French and "eu" Portuguese, but "CE 5" is the visitor's vehicle form.
    assert detector.is_english(text)


@pytest.mark.parametrize("text", ["CE QUE JE DOIS PAYER", "ce que je dois payer",
                                  "NDEFWAYA TPIN", "eu",
                                  # a small word of the language before a number stays one
                                  "Nifuna PRN ya 3", "Ninataka PRN ya 2",
                                  "Cuánto es el IVA de 2 coches"])
def test_a_message_all_in_capitals_or_a_lone_foreign_word_is_still_foreign(detector, text):
    assert not detector.is_english(text)
