"""bot/understanding/pipeline.py with a fake model: what reaches Rasa for each kind of message.

The fake `parse` scores texts by keywords, so each test says exactly what the model would
answer; the conversation tests (tests/conversation) run the same path on the trained model.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.names import NLU_FALLBACK, OTHER_LANGUAGE, THANK
from bot.understanding import language
from bot.understanding.context import Context
from bot.understanding.pipeline import Understanding
from bot.understanding.spelling import Speller

KEYWORDS = {
    "kb_import_vat_rate": {"vat"},
    "kb_excise_duty_goods": {"excise"},
    "kb_import_motor_vehicle_duty": {"car", "vehicle"},
    "kb_electric_vehicle_duty": {"electric"},
    "kb_how_to_register_tpin": {"register", "get"},
    "kb_find_my_tpin": {"lost", "forgot"},
    "kb_late_payment_penalty": {"penalty"},
    "kb_payment_not_reflecting": {"reflecting"},
}
SEEN: list[str] = []


async def fake_parse(text: str) -> dict:
    SEEN.append(text)
    words = set(text.lower().replace("?", " ").split())
    if words & {"thanks", "thank"}:
        return {"text": text, "intent": {"name": THANK, "confidence": 0.97},
                "intent_ranking": [{"name": THANK, "confidence": 0.97}]}
    scores = {name: len(words & keys) for name, keys in KEYWORDS.items()}
    total = sum(scores.values())
    ranking = sorted(({"name": n, "confidence": s / total} for n, s in scores.items() if s),
                     key=lambda r: -r["confidence"]) if total else []
    top = ranking[0] if ranking and ranking[0]["confidence"] >= 0.6 else None
    intent = top or {"name": NLU_FALLBACK, "confidence": 0.3}
    return {"text": text, "intent": dict(intent), "intent_ranking": ranking}


UNDERSTANDING = Understanding(
    speller=Speller(Counter({"register": 3, "penalty": 2, "vehicle": 4})),
    detector=language.LanguageDetector(english=frozenset(
        "how do i get a tpin what is the and for if lost it about an electric one vat rate on "
        "imports penalty late payment paid but not reflecting also".split())))


def run(text: str, context: Context | None = None) -> dict:
    return asyncio.run(UNDERSTANDING(text, fake_parse, context or Context()))


def test_the_stored_text_is_what_the_person_typed_and_the_model_reads_it_corrected():
    SEEN.clear()
    result = run("how do i registr for tpin")
    assert result["text"] == "how do i registr for tpin"
    assert SEEN[0] == "how do i register for tpin"
    assert result["understanding"]["normalised"] == "how do i register for tpin"
    assert result["intent"]["name"] == "kb_how_to_register_tpin"


def test_another_language_is_answered_without_asking_the_model():
    SEEN.clear()
    result = run("Ndikufuna kulembetsa TPIN yanga chonde")
    assert result["intent"] == {"name": OTHER_LANGUAGE, "confidence": 1.0}
    assert SEEN == []


def test_two_questions_give_both_entries_in_order():
    result = run("I paid but its not reflecting, also what is the penalty")
    assert result["compound"] == ["kb_payment_not_reflecting", "kb_late_payment_penalty"]
    assert result["intent"]["name"] == "kb_payment_not_reflecting"


VAT = Context(previous_entry="import_vat_rate", previous_question="What is the VAT rate?",
              related=("excise_duty_goods", "import_motor_vehicle_duty"))


def test_a_follow_up_is_read_with_the_previous_answer():
    result = run("and excise?", VAT)
    assert result["intent"]["name"] == "kb_excise_duty_goods"
    assert result["understanding"]["follow_up_of"] == "import_vat_rate"


def test_a_follow_up_that_stays_unclear_offers_the_candidates():
    result = run("and that one?", VAT)
    assert result["intent"]["name"] == NLU_FALLBACK


def test_thanks_after_an_answer_stays_thanks():
    assert run("thanks", VAT)["intent"]["name"] == THANK


def test_without_a_previous_answer_a_short_message_is_not_a_follow_up():
    result = run("and excise?")
    assert "follow_up_of" not in result.get("understanding", {})


def test_a_clear_new_question_is_not_bent_towards_the_previous_topic():
    result = run("how do i get a tpin", VAT)
    assert result["intent"]["name"] == "kb_how_to_register_tpin"
    assert "follow_up_of" not in result.get("understanding", {})


def test_an_unsure_chat_intent_on_a_leaning_message_is_read_as_a_follow_up():
    async def parse(text: str) -> dict:
        if text == "and if i lost it":
            return {"text": text, "intent": {"name": "stop", "confidence": 0.44},
                    "intent_ranking": [{"name": "stop", "confidence": 0.44},
                                       {"name": "kb_find_my_tpin", "confidence": 0.3}]}
        return await fake_parse(text)

    tpin = Context(previous_entry="how_to_register_tpin",
                   previous_question="How do I register for a TPIN?",
                   related=("find_my_tpin",))
    result = asyncio.run(UNDERSTANDING("and if i lost it", parse, tpin))
    assert result["intent"]["name"] == "kb_find_my_tpin"


def test_inside_a_form_a_message_is_never_a_follow_up():
    in_form = Context(previous_entry="import_vat_rate", previous_question="What is the VAT?",
                      related=("excise_duty_goods",), in_form=True)
    result = run("and excise?", in_form)
    assert "follow_up_of" not in result.get("understanding", {})
