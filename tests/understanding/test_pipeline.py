"""bot/understanding/pipeline.py with a fake model: what reaches Rasa for each kind of message.

The fake `parse` scores texts by keywords, so each test says exactly what the model would
answer; the conversation tests (tests/conversation) run the same path on the trained model.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.names import DOMESTIC_TAX, NLU_FALLBACK, OTHER_LANGUAGE, OUT_OF_SCOPE, THANK
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


def test_an_unclear_follow_up_is_asked_with_the_best_two_others_and_the_entry_just_answered():
    ranking = run("and that one?", VAT)["intent_ranking"]
    names = [item["name"] for item in ranking]
    assert set(names[:2]) == {"kb_excise_duty_goods", "kb_import_motor_vehicle_duty"}
    assert names[2:] == ["kb_import_vat_rate"]  # last: no higher than the candidates
    assert ranking[2]["confidence"] <= ranking[1]["confidence"]


def test_an_unclear_follow_up_offers_no_third_other_entry():
    parse = scripted({
        "and the rate": [("nlu_fallback", 0.4), ("kb_exchange_rate_for_customs", 0.3),
                         ("kb_customs_duty_bands", 0.3), ("kb_import_vat_rate", 0.2)],
        "How do I find the HS code? and the rate": [
            ("kb_find_hs_code", 0.4), ("kb_exchange_rate_for_customs", 0.25),
            ("kb_customs_duty_bands", 0.25), ("kb_import_vat_rate", 0.1)],
        "How do I find the HS code?": [("kb_find_hs_code", 0.97), ("kb_import_vat_rate", 0.03)],
    })
    hs = Context(previous_entry="find_hs_code", previous_question="How do I find the HS code?")
    result = asyncio.run(UNDERSTANDING("and the rate", parse, hs))
    assert result["intent"]["name"] == NLU_FALLBACK
    names = [item["name"] for item in result["intent_ranking"]]
    assert set(names[:2]) == {"kb_exchange_rate_for_customs", "kb_customs_duty_bands"}
    assert names[2:] == ["kb_find_hs_code"]


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


def scripted(readings: dict[str, list[tuple[str, float]]]):
    """A model that reads each text as given (a ranking, best first); other texts: fake_parse."""
    async def parse(text: str) -> dict:
        SEEN.append(text)
        if text not in readings:
            return await fake_parse(text)
        ranking = [{"name": name, "confidence": c} for name, c in readings[text]]
        return {"text": text, "intent": dict(ranking[0]), "intent_ranking": ranking}
    return parse


LODGE = Context(previous_entry="how_to_lodge_import_declaration",
                previous_question="How do I lodge an import declaration?",
                related=("pre_clearance_requirement", "documents_required_for_import"))
LODGE_ALONE = [("kb_how_to_lodge_import_declaration", 0.97),
               ("kb_documents_required_for_import", 0.02), ("kb_pre_clearance_requirement", 0.01)]


def test_a_follow_up_is_read_after_each_wording_of_the_previous_entry():
    SEEN.clear()
    run("and excise?", Context(previous_entry="import_vat_rate",
                               previous_question="What is the VAT rate?",
                               previous_wordings=("What is the VAT rate?", "vat rate?",
                                                  "import vat percentage")))
    assert {"What is the VAT rate? and excise?", "vat rate? and excise?",
            "import vat percentage and excise?"} <= set(SEEN)


def test_an_unsure_chat_intent_is_replaced_by_a_clear_follow_up_even_without_leaning():
    after = [("kb_how_to_lodge_import_declaration", 0.8), ("kb_pre_clearance_requirement", 0.18),
             ("kb_documents_required_for_import", 0.02)]
    parse = scripted({
        "how early": [("greet", 0.46), ("kb_pre_clearance_requirement", 0.3)],
        "How do I lodge an import declaration? how early": after,
        "How do I lodge an import declaration?": LODGE_ALONE,
    })
    result = asyncio.run(UNDERSTANDING("how early", parse, LODGE))
    assert result["intent"]["name"] == "kb_pre_clearance_requirement"


def test_an_unsure_chat_intent_without_a_clear_follow_up_stays_as_it_is():
    parse = scripted({
        "hmm ok": [("greet", 0.5)],
        "How do I lodge an import declaration? hmm ok": LODGE_ALONE,
        "How do I lodge an import declaration?": LODGE_ALONE,
    })
    result = asyncio.run(UNDERSTANDING("hmm ok", parse, LODGE))
    assert result["intent"]["name"] == "greet"
    assert "follow_up_of" not in result.get("understanding", {})


def test_a_longer_follow_up_is_read_with_the_previous_answer_too():
    text = "and if i already have one but forgot the number"  # ten words
    tpin_alone = [("kb_how_to_register_tpin", 0.95), ("kb_what_is_tpin", 0.04),
                  ("kb_find_my_tpin", 0.01)]
    parse = scripted({
        text: [("out_of_scope", 0.88), ("kb_find_my_tpin", 0.03)],
        f"How do I register for a TPIN? {text}": [
            ("kb_how_to_register_tpin", 0.8), ("kb_find_my_tpin", 0.18), ("kb_what_is_tpin", 0.02)],
        "How do I register for a TPIN?": tpin_alone,
    })
    tpin = Context(previous_entry="how_to_register_tpin",
                   previous_question="How do I register for a TPIN?",
                   related=("what_is_tpin", "find_my_tpin"))
    result = asyncio.run(UNDERSTANDING(text, parse, tpin))
    assert result["intent"]["name"] == "kb_find_my_tpin"


def test_a_follow_up_that_only_the_previous_topic_points_to_is_asked_about():
    # "and that?" moves nothing: the wordings' own second choice is not answered.
    parse = scripted({
        "and that?": [("out_of_scope", 0.9)],
        "How do I lodge an import declaration? and that?": LODGE_ALONE,
        "How do I lodge an import declaration?": LODGE_ALONE,
    })
    lodge = Context(previous_entry=LODGE.previous_entry, previous_question=LODGE.previous_question,
                    related=("documents_required_for_import",))
    result = asyncio.run(UNDERSTANDING("and that?", parse, lodge))
    assert result["intent"]["name"] == NLU_FALLBACK
    assert result["intent_ranking"][0]["name"] == "kb_documents_required_for_import"


def test_the_same_topic_asked_again_in_its_own_words_is_answered_again():
    # "can i pay with airtel money" after how to pay: the model reads the message alone as the
    # previous entry, confidently; the readings after that entry could not tell it apart.
    result = run("and is vat charged on it too", VAT)
    assert result["intent"]["name"] == "kb_import_vat_rate"


CARBON = Context(previous_entry="carbon_emission_surtax",
                 previous_question="What is the carbon emission surtax?",
                 related=("import_motor_vehicle_duty", "visitor_vehicle_temporary_permit"))
CARBON_ALONE = [("kb_carbon_emission_surtax", 0.98), ("kb_import_motor_vehicle_duty", 0.01),
                ("kb_visitor_vehicle_temporary_permit", 0.01)]


def test_a_question_no_other_entry_is_meant_by_asks_about_the_topic_just_answered():
    parse = scripted({
        "how much is it": [("out_of_scope", 0.9)],
        "What is the carbon emission surtax? how much is it": CARBON_ALONE,
        "What is the carbon emission surtax?": CARBON_ALONE,
    })
    result = asyncio.run(UNDERSTANDING("how much is it", parse, CARBON))
    assert result["intent"]["name"] == "kb_carbon_emission_surtax"
    assert result["understanding"]["follow_up_of"] == "carbon_emission_surtax"


def test_a_message_that_says_nothing_of_its_own_is_asked_about_not_answered_again():
    parse = scripted({
        "what about it": [("out_of_scope", 0.9)],
        "What is the carbon emission surtax? what about it": CARBON_ALONE,
        "What is the carbon emission surtax?": CARBON_ALONE,
    })
    result = asyncio.run(UNDERSTANDING("what about it", parse, CARBON))
    assert result["intent"]["name"] == NLU_FALLBACK
    names = [r["name"] for r in result["intent_ranking"]]
    assert set(names[:2]) == {"kb_import_motor_vehicle_duty",
                              "kb_visitor_vehicle_temporary_permit"}
    assert names[2:] == ["kb_carbon_emission_surtax"]  # the topic just answered, last


def story_parse(readings: dict[str, list[tuple[str, float]]]):
    """A model that reads each text as given: (intent, confidence) pairs, the first is its
    answer unless below the fallback threshold."""
    async def parse(text: str) -> dict:
        ranking = [{"name": n, "confidence": c} for n, c in readings.get(text, [])]
        top = ranking[0] if ranking and ranking[0]["confidence"] >= 0.4 else None
        return {"text": text, "intent": dict(top or {"name": NLU_FALLBACK, "confidence": 0.4}),
                "intent_ranking": ranking}
    return parse


def test_a_story_the_model_puts_outside_customs_is_not_answered_from_its_question_clause():
    story = "Hello sir, my son has no passport yet. How long will it take?"
    parse = story_parse({
        story: [(OUT_OF_SCOPE, 0.95), ("kb_how_long_clearance_takes", 0.02)],
        "Hello sir, my son has no passport yet": [(OUT_OF_SCOPE, 0.9)],
        "How long will it take": [("kb_how_long_clearance_takes", 0.85)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert result["intent"]["name"] == OUT_OF_SCOPE


def test_a_story_and_its_question_that_both_lean_to_domestic_tax_get_the_domestic_tax_pointer():
    story = "Good morning madam, we sold our house last month. How much tax do we pay?"
    parse = story_parse({
        story: [(DOMESTIC_TAX, 0.38), ("kb_import_vat_rate", 0.3)],
        "Good morning madam, we sold our house last month": [(DOMESTIC_TAX, 0.45)],
        "How much tax do we pay": [(DOMESTIC_TAX, 0.6), ("kb_import_vat_rate", 0.2)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert result["intent"]["name"] == DOMESTIC_TAX
    assert all(r["name"].startswith("kb_") for r in result["intent_ranking"])


def test_a_story_whose_question_clause_is_sure_of_an_entry_is_still_answered():
    story = "Good evening sir, I have goods at Chirundu. How do I pay the duty?"
    parse = story_parse({
        story: [(NLU_FALLBACK, 0.4), ("kb_how_to_pay_customs_duty", 0.35), (OUT_OF_SCOPE, 0.2)],
        "Good evening sir, I have goods at Chirundu": [(OUT_OF_SCOPE, 0.5)],
        "How do I pay the duty": [("kb_how_to_pay_customs_duty", 0.9)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert result["intent"]["name"] == "kb_how_to_pay_customs_duty"


def test_a_named_domestic_tax_gets_the_pointer_even_when_the_model_is_sure_of_an_entry():
    parse = story_parse({"penalty for late payment of paye": [("kb_late_payment_penalty", 0.99)]})
    result = asyncio.run(UNDERSTANDING("penalty for late payment of paye", parse, Context()))
    assert result["intent"]["name"] == DOMESTIC_TAX
    assert result["understanding"]["near_miss"] == "paye"


def test_a_named_agency_with_a_customs_word_is_left_to_the_model():
    text = "do i need my passport at the border to declare goods"
    parse = story_parse({text: [("kb_traveller_duty_free_allowance", 0.8)]})
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["intent"]["name"] == "kb_traveller_duty_free_allowance"


def test_a_named_domestic_tax_in_a_request_for_a_person_stays_a_request():
    text = "i want to talk to a person about my paye"
    parse = story_parse({text: [("request_human", 0.9)]})
    assert asyncio.run(UNDERSTANDING(text, parse, Context()))["intent"]["name"] == "request_human"


EXPORT = Context(previous_entry="export_procedure", previous_question="How do I export goods?",
                 related=("prohibited_goods", "certificate_of_origin"))
EXPORT_ALONE = [("kb_export_procedure", 0.99), ("kb_prohibited_goods", 0.01)]


def test_n_and_a_new_detail_read_as_no_alone_asks_about_the_same_topic_again():
    # The model reads "n copper?" alone as "no" ("n" is one of its examples of no); read after
    # the export answer it stays on exports.
    parse = scripted({
        "n copper?": [("deny", 0.86), ("out_of_scope", 0.05)],
        "and copper?": [("nlu_fallback", 0.4), ("deny", 0.32), ("kb_prohibited_goods", 0.1)],
        "How do I export goods? and copper?": [("kb_export_procedure", 0.99),
                                               ("kb_prohibited_goods", 0.01)],
        "How do I export goods?": EXPORT_ALONE,
    })
    result = asyncio.run(UNDERSTANDING("n copper?", parse, EXPORT))
    assert result["intent"]["name"] == "kb_export_procedure"
    assert result["understanding"]["follow_up_of"] == "export_procedure"


def test_no_thanks_after_an_answer_stays_no():
    parse = scripted({"no thanks": [("deny", 0.99)]})
    assert asyncio.run(UNDERSTANDING("no thanks", parse, EXPORT))["intent"]["name"] == "deny"


AGENT = Context(previous_entry="do_i_need_clearing_agent",
                previous_question="Do I need a clearing agent?",
                related=("how_to_appoint_clearing_agent", "become_licensed_clearing_agent"))
AGENT_ALONE = [("kb_do_i_need_clearing_agent", 0.99), ("kb_how_to_appoint_clearing_agent", 0.005),
               ("kb_become_licensed_clearing_agent", 0.005)]


def test_a_question_that_moves_off_the_previous_entry_towards_two_related_ones_is_asked():
    # "how do i get one" after "do i need a clearing agent": appoint one or become one? The
    # readings move off the previous entry, to both: asked, not answered with the agent again.
    parse = scripted({
        "how do i get one": [("kb_how_to_register_tpin", 0.57), ("out_of_scope", 0.35)],
        "Do I need a clearing agent? how do i get one": [
            ("kb_do_i_need_clearing_agent", 0.9), ("kb_how_to_appoint_clearing_agent", 0.05),
            ("kb_become_licensed_clearing_agent", 0.05)],
        "Do I need a clearing agent?": AGENT_ALONE,
    })
    result = asyncio.run(UNDERSTANDING("how do i get one", parse, AGENT))
    assert result["intent"]["name"] == NLU_FALLBACK
    assert {r["name"] for r in result["intent_ranking"][:2]} == {
        "kb_how_to_appoint_clearing_agent", "kb_become_licensed_clearing_agent"}


QUERY = Context(previous_entry="declaration_stuck_in_query",
                previous_question="My declaration is stuck in a query. What should I do?",
                related=("what_do_lanes_mean", "amend_or_cancel_declaration"))
QUERY_ALONE = [("kb_declaration_stuck_in_query", 0.99), ("kb_what_do_lanes_mean", 0.005),
               ("kb_amend_or_cancel_declaration", 0.005)]


def test_a_question_about_it_read_as_stop_is_answered_when_the_entry_is_clear():
    parse = scripted({
        "can i cancel it": [("stop", 0.94), ("kb_amend_or_cancel_declaration", 0.01)],
        "My declaration is stuck in a query. What should I do? can i cancel it": [
            ("kb_declaration_stuck_in_query", 0.7), ("kb_amend_or_cancel_declaration", 0.29),
            ("kb_what_do_lanes_mean", 0.01)],
        "My declaration is stuck in a query. What should I do?": QUERY_ALONE,
    })
    result = asyncio.run(UNDERSTANDING("can i cancel it", parse, QUERY))
    assert result["intent"]["name"] == "kb_amend_or_cancel_declaration"


def test_stop_it_after_an_answer_stays_stop():
    parse = scripted({"stop it": [("stop", 1.0)]})
    assert asyncio.run(UNDERSTANDING("stop it", parse, QUERY))["intent"]["name"] == "stop"


PRN = Context(previous_entry="generate_payment_reference_number",
              previous_question="How do I get a Payment Reference Number (PRN)?",
              related=("how_to_pay_customs_duty", "payment_not_reflecting"))
PRN_ALONE = [("kb_generate_payment_reference_number", 0.98),
             ("kb_payment_not_reflecting", 0.01), ("kb_how_to_pay_customs_duty", 0.01)]


def test_i_lost_it_read_unsurely_as_stop_leans_on_the_answer():
    """"i lost it" (stop 0.82): not a stop the model is sure of, and it refers back: read with
    the PRN on screen, the PRN again."""
    parse = scripted({
        "i lost it": [("stop", 0.82), (OUT_OF_SCOPE, 0.08)],
        "How do I get a Payment Reference Number (PRN)? i lost it": [
            ("kb_generate_payment_reference_number", 0.97), ("kb_payment_not_reflecting", 0.02),
            ("kb_how_to_pay_customs_duty", 0.01)],
        "How do I get a Payment Reference Number (PRN)?": PRN_ALONE,
    })
    result = asyncio.run(UNDERSTANDING("i lost it", parse, PRN))
    assert result["intent"]["name"] == "kb_generate_payment_reference_number"
    assert result["understanding"]["follow_up_of"] == "generate_payment_reference_number"


def test_a_stop_the_model_is_sure_of_stays_stop_though_it_refers_back():
    for text in ("forget it", "leave it"):
        parse = scripted({
            text: [("stop", 0.99)],
            f"How do I get a Payment Reference Number (PRN)? {text}": PRN_ALONE,
            "How do I get a Payment Reference Number (PRN)?": PRN_ALONE,
        })
        assert asyncio.run(UNDERSTANDING(text, parse, PRN))["intent"]["name"] == "stop", text


def test_yes_or_no_with_a_word_that_refers_back_stays_the_reply():
    """ "yes it did" answers "did this help?": the rule for an unsure stop leaves it alone."""
    for text, name in (("yes it did", "affirm"), ("no that is wrong", "deny")):
        parse = scripted({
            text: [(name, 0.85), (OUT_OF_SCOPE, 0.1)],
            f"How do I get a Payment Reference Number (PRN)? {text}": [
                ("kb_generate_payment_reference_number", 0.97),
                ("kb_payment_not_reflecting", 0.02), ("kb_how_to_pay_customs_duty", 0.01)],
            "How do I get a Payment Reference Number (PRN)?": PRN_ALONE,
        })
        assert asyncio.run(UNDERSTANDING(text, parse, PRN))["intent"]["name"] == name, text


async def confidently_out_of_scope(text: str) -> dict:
    """Alone: out of scope, sure; after the VAT rate's wording: mostly the VAT rate (as a
    softmax spreads it)."""
    if text.lower().startswith("what is the vat rate"):
        ranking = [("kb_import_vat_rate", 0.7), (OUT_OF_SCOPE, 0.2),
                   ("kb_excise_duty_goods", 0.05), ("kb_find_hs_code", 0.05)]
    else:
        ranking = [(OUT_OF_SCOPE, 0.98), ("kb_excise_duty_goods", 0.01),
                   ("kb_find_hs_code", 0.01)]
    items = [{"name": n, "confidence": c} for n, c in ranking]
    return {"text": text, "intent": dict(items[0]), "intent_ranking": items}


def test_a_confident_decline_after_an_answer_is_not_taken_as_a_follow_up():
    context = Context(previous_entry="import_vat_rate",
                      previous_question="What is the VAT rate on imports?")
    result = asyncio.run(UNDERSTANDING("who won the football match?", confidently_out_of_scope,
                                       context))
    assert result["intent"]["name"] == OUT_OF_SCOPE


def test_another_agencys_term_does_not_override_an_entry_the_model_is_sure_of():
    text = "do i show my passport to claim the allowance"
    parse = story_parse({text: [("kb_traveller_duty_free_allowance", 0.98)]})
    assert asyncio.run(UNDERSTANDING(text, parse, Context()))["intent"]["name"] == \
        "kb_traveller_duty_free_allowance"
    unsure = story_parse({text: [("kb_traveller_duty_free_allowance", 0.6)]})
    assert asyncio.run(UNDERSTANDING(text, unsure, Context()))["intent"]["name"] == OUT_OF_SCOPE


def test_i_want_to_that_only_sets_the_scene_is_not_a_question_of_its_own():
    story = ("I want to pay the duty for my entry with mobile money. "
             "Where do I get the number for the payment?")
    parse = story_parse({
        story: [("kb_how_to_pay_customs_duty", 0.7),
                ("kb_generate_payment_reference_number", 0.25)],
        # As the trained model reads it: the whole's reading is this sentence's pull.
        "I want to pay the duty for my entry with mobile money": [
            ("kb_how_to_pay_customs_duty", 0.99)],
        "Where do I get the number for the payment": [
            ("kb_generate_payment_reference_number", 0.93), ("kb_how_to_pay_customs_duty", 0.03)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert "compound" not in result
    assert result["intent"]["name"] == "kb_generate_payment_reference_number"


def test_two_questions_after_a_short_greeting_are_both_answered():
    text = "Hello. How do I pay customs duty? And what is the penalty if I pay late?"
    parse = story_parse({
        text: [("kb_late_payment_penalty", 0.78), ("kb_how_to_pay_customs_duty", 0.2)],
        "Hello How do I pay customs duty": [("kb_how_to_pay_customs_duty", 0.97)],
        "what is the penalty if I pay late": [("kb_late_payment_penalty", 0.99)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["compound"] == ["kb_how_to_pay_customs_duty", "kb_late_payment_penalty"]


def test_a_problem_stated_then_a_question_are_two_questions():
    text = "I forgot my TPIN. How do I pay duty online?"
    parse = story_parse({
        text: [("kb_find_my_tpin", 0.61), ("kb_how_to_pay_customs_duty", 0.3)],
        "I forgot my TPIN": [("kb_find_my_tpin", 0.99)],
        "How do I pay duty online": [("kb_how_to_pay_customs_duty", 0.99)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["compound"] == ["kb_find_my_tpin", "kb_how_to_pay_customs_duty"]


def test_a_whole_story_the_model_is_sure_of_is_not_overruled_by_its_question_read_alone():
    story = ("Hello sir, I am a tourist driving my own car into Zambia for two weeks. "
             "What permit do I need?")
    parse = story_parse({
        story: [("kb_visitor_vehicle_temporary_permit", 0.96),
                ("kb_restricted_goods_permits", 0.01)],
        "Hello sir, I am a tourist driving my own car into Zambia for two weeks": [
            ("kb_visitor_vehicle_temporary_permit", 0.96)],
        "What permit do I need": [("kb_restricted_goods_permits", 0.98)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert "compound" not in result
    assert result["intent"]["name"] == "kb_visitor_vehicle_temporary_permit"


def test_a_question_that_leans_on_its_story_does_not_turn_the_whole_reading_into_a_decline():
    story = ("Good afternoon, we are a new mining supplier and we want to export copper to "
             "Namibia. What is the process?")
    parse = story_parse({
        story: [("kb_export_procedure", 0.51), ("kb_how_to_lodge_import_declaration", 0.23)],
        "Good afternoon, we are a new mining supplier and we want to export copper to Namibia": [
            ("kb_export_procedure", 0.45)],
        "What is the process": [("kb_how_to_lodge_import_declaration", 0.52),
                                ("kb_what_is_release_order", 0.14)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert result["intent"]["name"] == "kb_export_procedure"


def test_a_question_clause_that_clearly_wins_over_an_unsure_whole_reading_is_answered():
    story = "Hello. My agent generated the PRN and I paid at the bank. How long before release?"
    parse = story_parse({
        story: [("kb_generate_payment_reference_number", 0.6),
                ("kb_how_long_clearance_takes", 0.35)],
        "Hello My agent generated the PRN and I paid at the bank": [
            ("kb_generate_payment_reference_number", 0.97)],
        "How long before release": [("kb_how_long_clearance_takes", 0.94)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert "compound" not in result
    assert result["intent"]["name"] == "kb_how_long_clearance_takes"


def test_a_want_joined_to_another_question_by_also_is_a_question_of_its_own():
    text = "I want to register for a TPIN, also how do I appoint a clearing agent?"
    parse = story_parse({
        text: [("kb_how_to_register_tpin", 0.6), ("kb_how_to_appoint_clearing_agent", 0.35)],
        "I want to register for a TPIN": [("kb_how_to_register_tpin", 0.98)],
        "how do I appoint a clearing agent": [("kb_how_to_appoint_clearing_agent", 0.97)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["compound"] == ["kb_how_to_register_tpin", "kb_how_to_appoint_clearing_agent"]


def test_a_statement_beside_the_question_the_model_is_sure_of_is_its_story():
    # The model reads the whole message surely as the question's entry; the statement (a problem
    # read alone as another entry) is not joined to it by "also": one answer.
    story = "My first car was not registered in time last year. Do electric cars pay duty?"
    parse = story_parse({
        story: [("kb_electric_vehicle_duty", 0.97), ("kb_import_motor_vehicle_duty", 0.02)],
        "My first car was not registered in time last year": [
            ("kb_import_motor_vehicle_duty", 0.95)],
        "Do electric cars pay duty": [("kb_electric_vehicle_duty", 0.99)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert "compound" not in result
    assert result["intent"]["name"] == "kb_electric_vehicle_duty"


def test_a_question_unsure_alone_beside_a_problem_is_the_problems_question():
    # "lost" makes the first sentence a problem, read alone as returning residents; the question
    # alone is unsure (the allowance, 0.61): one question, the whole message's reading.
    story = ("I lost my job in the UK and I am coming back home for good. "
             "Can I bring my things without duty?")
    parse = story_parse({
        story: [("kb_returning_resident_relief", 0.96),
                ("kb_traveller_duty_free_allowance", 0.01)],
        "I lost my job in the UK and I am coming back home for good": [
            ("kb_returning_resident_relief", 0.86)],
        "Can I bring my things without duty": [("kb_traveller_duty_free_allowance", 0.61),
                                               ("kb_returning_resident_relief", 0.07)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert "compound" not in result
    assert result["intent"]["name"] == "kb_returning_resident_relief"


def test_a_problem_and_a_question_both_sure_alone_are_two_questions():
    text = "my declaration has been stuck in query for a week. how do i lodge a complaint"
    parse = story_parse({
        text: [("kb_declaration_stuck_in_query", 0.97), ("kb_lodge_complaint", 0.03)],
        "my declaration has been stuck in query for a week": [
            ("kb_declaration_stuck_in_query", 1.0)],
        "how do i lodge a complaint": [("kb_lodge_complaint", 1.0)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["compound"] == ["kb_declaration_stuck_in_query", "kb_lodge_complaint"]


def test_a_problem_joined_by_also_is_a_question_even_when_the_model_is_sure_of_the_other():
    text = "I was overcharged duty and want a refund. Also what is the penalty for late payment?"
    parse = story_parse({
        text: [("kb_late_payment_penalty", 0.91), ("kb_request_customs_refund", 0.08)],
        "I was overcharged duty and want a refund": [("kb_request_customs_refund", 0.97)],
        "what is the penalty for late payment": [("kb_late_payment_penalty", 0.99)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["compound"] == ["kb_request_customs_refund", "kb_late_payment_penalty"]


def test_an_entry_the_whole_reads_is_not_replaced_by_a_question_read_without_its_story():
    # "What is the process" alone is surely lodging an import declaration; the whole message,
    # with its story, is exports, and no story sentence alone is sure of exports: the whole's
    # words, not the story's pull, made that reading.
    story = ("Hi. We are a new mining supplier and we want to export copper cathodes to "
             "Namibia. What is the process?")
    parse = story_parse({
        story: [("kb_export_procedure", 0.52), ("kb_how_to_lodge_import_declaration", 0.2)],
        "Hi We are a new mining supplier and we want to export copper cathodes to Namibia": [
            ("kb_export_procedure", 0.43), (OUT_OF_SCOPE, 0.34)],
        "What is the process": [("kb_how_to_lodge_import_declaration", 0.72),
                                ("kb_export_procedure", 0.02)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert result["intent"]["name"] == "kb_export_procedure"


def test_a_decline_the_story_and_its_question_point_to_still_wins_over_an_unsure_entry():
    # Storage fees are nothing the knowledge answers: the whole message barely reads as how to
    # pay duty, the question alone is clearly out of scope; the rule that keeps an answering
    # whole against another entry must not keep it against a decline.
    story = "My goods are stuck at the border. How do I pay the storage fees?"
    parse = story_parse({
        story: [("kb_how_to_pay_customs_duty", 0.45), (OUT_OF_SCOPE, 0.4)],
        "My goods are stuck at the border": [("kb_goods_in_transit_procedure", 0.5)],
        "How do I pay the storage fees": [(OUT_OF_SCOPE, 0.9),
                                          ("kb_how_to_pay_customs_duty", 0.05)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert result["intent"]["name"] == OUT_OF_SCOPE


@pytest.mark.parametrize(("story", "whole", "clauses", "answer"), [
    # A story sentence the model is sure of is not answered as a second question.
    ("Good morning sir. I paid my duty yesterday through the bank. "
     "I want to know how long clearance takes",
     [("kb_how_long_clearance_takes", 0.9), ("kb_how_to_pay_customs_duty", 0.05)], {
         "Good morning sir": [("greet", 0.96)],
         "I paid my duty yesterday through the bank": [("kb_how_to_pay_customs_duty", 0.95)],
         "I want to know how long clearance takes": [("kb_how_long_clearance_takes", 0.98)],
     }, "kb_how_long_clearance_takes"),
    # An entry the whole reads because of its story gives way to the question.
    ("Hello, I am a pharmacist. I want to import some medicines from India. "
     "Do I need a permit for this?",
     [("kb_bring_medication", 0.79), ("kb_restricted_goods_permits", 0.17)], {
         "Hello, I am a pharmacist": [("kb_bring_medication", 0.6)],
         "I want to import some medicines from India": [("kb_bring_medication", 0.97)],
         "Do I need a permit for this": [("kb_restricted_goods_permits", 0.93)],
     }, "kb_restricted_goods_permits"),
])
def test_a_story_around_one_question_gets_one_answer_the_questions(story, whole, clauses,
                                                                   answer):
    result = asyncio.run(UNDERSTANDING(story, story_parse({story: whole, **clauses}),
                                       Context()))
    assert "compound" not in result
    assert result["intent"]["name"] == answer


def test_two_questions_joined_by_a_comma_give_both_entries():
    text = "how much duty on a used car, how do i pay it"
    parse = story_parse({
        text: [("kb_used_vehicle_specific_duty", 0.71), ("kb_import_motor_vehicle_duty", 0.27)],
        "how much duty on a used car": [("kb_used_vehicle_specific_duty", 0.99)],
        "how do i pay it": [("kb_how_to_pay_customs_duty", 0.94)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["compound"] == ["kb_used_vehicle_specific_duty", "kb_how_to_pay_customs_duty"]


def test_a_form_code_is_read_by_the_model_not_taken_for_french():
    parse = story_parse({"ce 5?": [("kb_visitor_vehicle_temporary_permit", 0.7)]})
    detector = language.LanguageDetector(english=frozenset())
    understanding = Understanding(speller=None, detector=detector)
    result = asyncio.run(understanding("ce 5?", parse, Context()))
    assert result["intent"]["name"] == "kb_visitor_vehicle_temporary_permit"


def test_a_want_stated_before_a_question_is_offered_beside_the_answer():
    # No "also": the want may be the question's story, so it is not answered; the model reads it
    # surely as another entry, so it is offered as a button after the answer.
    text = "I want to join the AEO programme. How long does clearance take for our goods?"
    parse = story_parse({
        text: [("kb_how_long_clearance_takes", 0.29), ("kb_authorised_economic_operator", 0.69)],
        "I want to join the AEO programme": [("kb_authorised_economic_operator", 0.99)],
        "How long does clearance take for our goods": [("kb_how_long_clearance_takes", 0.99)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert "compound" not in result
    assert result["intent"]["name"] == "kb_how_long_clearance_takes"
    assert result["offer"] == ["kb_authorised_economic_operator"]


def test_a_question_beside_the_answer_the_model_is_sure_of_is_offered():
    text = ("We are returning residents and want the relief for our goods. "
            "Which goods are prohibited?")
    parse = story_parse({
        text: [("kb_returning_resident_relief", 0.96), ("kb_prohibited_goods", 0.01)],
        "We are returning residents and want the relief for our goods": [
            ("kb_returning_resident_relief", 0.99)],
        "Which goods are prohibited": [("kb_prohibited_goods", 0.99)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["intent"]["name"] == "kb_returning_resident_relief"
    assert result["offer"] == ["kb_prohibited_goods"]


def test_a_story_sentence_offers_nothing_however_sure_the_model_is():
    story = "I generated my PRN yesterday. Where can I find the HS code for car tyres?"
    parse = story_parse({
        story: [("kb_find_hs_code", 0.15), ("kb_generate_payment_reference_number", 0.75)],
        "I generated my PRN yesterday": [("kb_generate_payment_reference_number", 0.99)],
        "Where can I find the HS code for car tyres": [("kb_find_hs_code", 0.99)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert result["intent"]["name"] == "kb_find_hs_code"
    assert "offer" not in result


def test_a_want_the_model_is_unsure_of_offers_nothing():
    story = "I want to pay with Airtel money. Where do I get the number for the payment?"
    parse = story_parse({
        story: [("kb_generate_payment_reference_number", 0.8)],
        "I want to pay with Airtel money": [("kb_how_to_pay_customs_duty", 0.86)],
        "Where do I get the number for the payment": [
            ("kb_generate_payment_reference_number", 0.97)],
    })
    result = asyncio.run(UNDERSTANDING(story, parse, Context()))
    assert result["intent"]["name"] == "kb_generate_payment_reference_number"
    assert "offer" not in result


def test_nothing_answered_nothing_offered():
    # The whole message and its question are unclear: "did you mean" buttons, not an offer.
    text = "I want to join the AEO programme. What about the other thing?"
    parse = story_parse({
        text: [("kb_authorised_economic_operator", 0.3)],
        "I want to join the AEO programme": [("kb_authorised_economic_operator", 0.99)],
        "What about the other thing": [("kb_how_long_clearance_takes", 0.2)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["intent"]["name"] == NLU_FALLBACK
    assert "offer" not in result


def test_two_questions_answered_offer_nothing_more():
    text = "I want to register for a TPIN, also how do I appoint a clearing agent?"
    parse = story_parse({
        text: [("kb_how_to_register_tpin", 0.6), ("kb_how_to_appoint_clearing_agent", 0.35)],
        "I want to register for a TPIN": [("kb_how_to_register_tpin", 0.98)],
        "how do I appoint a clearing agent": [("kb_how_to_appoint_clearing_agent", 0.97)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["compound"] == ["kb_how_to_register_tpin", "kb_how_to_appoint_clearing_agent"]
    assert "offer" not in result


def test_an_offer_is_kept_only_beside_an_answer_it_is_not():
    from bot.understanding.pipeline import _offers_beside

    offered = {"intent": {"name": "kb_find_hs_code", "confidence": 0.9},
               "offer": ["kb_customs_duty_bands"]}
    assert _offers_beside(offered)["offer"] == ["kb_customs_duty_bands"]
    # A follow-up turned the answer into the offered entry, or into "which did you mean?".
    became = {**offered, "intent": {"name": "kb_customs_duty_bands", "confidence": 0.9}}
    assert "offer" not in _offers_beside(became)
    unsure = {**offered, "intent": {"name": NLU_FALLBACK, "confidence": 0.4}}
    assert "offer" not in _offers_beside(unsure)


ORIGIN = Context(previous_entry="certificate_of_origin",
                 previous_question="How do I get a certificate of origin?",
                 related=("documents_required_for_import", "export_procedure"))


def test_a_follow_up_about_it_is_the_topic_on_screen_however_the_message_reads_alone():
    # "how do i get one" alone reads as registering for a TPIN, clearly enough for the first
    # reading; after the certificate's wording nothing else is lifted: the certificate again.
    parse = scripted({
        "how do i get one": [("kb_how_to_register_tpin", 0.78), (OUT_OF_SCOPE, 0.2)],
        "How do I get a certificate of origin? how do i get one": [
            ("kb_certificate_of_origin", 0.99), ("kb_how_to_register_tpin", 0.005),
            ("kb_export_procedure", 0.005)],
        "How do I get a certificate of origin?": [
            ("kb_certificate_of_origin", 0.995), ("kb_export_procedure", 0.003),
            ("kb_how_to_register_tpin", 0.002)],
    })
    result = asyncio.run(UNDERSTANDING("how do i get one", parse, ORIGIN))
    assert result["intent"]["name"] == "kb_certificate_of_origin"
    assert result["understanding"]["follow_up_of"] == "certificate_of_origin"


CAR_TAXES = Context(previous_entry="import_motor_vehicle_duty",
                    previous_question="What taxes do I pay to import a motor vehicle?",
                    related=("used_vehicle_specific_duty", "electric_vehicle_duty"))


def test_a_statement_about_mine_the_model_puts_outside_customs_is_read_with_the_topic():
    parse = scripted({
        "mine is 12 years old": [(OUT_OF_SCOPE, 0.95), ("kb_used_vehicle_specific_duty", 0.02)],
        "What taxes do I pay to import a motor vehicle? mine is 12 years old": [
            ("kb_import_motor_vehicle_duty", 0.6), ("kb_used_vehicle_specific_duty", 0.38),
            ("kb_electric_vehicle_duty", 0.02)],
        "What taxes do I pay to import a motor vehicle?": [
            ("kb_import_motor_vehicle_duty", 0.99), ("kb_used_vehicle_specific_duty", 0.006),
            ("kb_electric_vehicle_duty", 0.004)],
    })
    result = asyncio.run(UNDERSTANDING("mine is 12 years old", parse, CAR_TAXES))
    assert result["intent"]["name"] == "kb_used_vehicle_specific_duty"
    # the same message with no previous answer stays outside customs
    assert asyncio.run(UNDERSTANDING("mine is 12 years old", parse, Context())
                       )["intent"]["name"] == OUT_OF_SCOPE


def test_it_that_refers_to_nothing_customs_answers_leaves_the_decline_as_it_is():
    # "is it going to rain today?" after the VAT rate: read after the VAT rate's wording, the
    # model still puts most of it outside customs.
    async def parse(text: str) -> dict:
        if text.lower().startswith("what is the vat rate"):
            ranking = [("kb_import_vat_rate", 0.5), (OUT_OF_SCOPE, 0.45),
                       ("kb_excise_duty_goods", 0.05)]
        else:
            ranking = [(OUT_OF_SCOPE, 0.96), ("kb_excise_duty_goods", 0.04)]
        items = [{"name": n, "confidence": c} for n, c in ranking]
        return {"text": text, "intent": dict(items[0]), "intent_ranking": items}

    vat = Context(previous_entry="import_vat_rate",
                  previous_question="What is the VAT rate on imports?",
                  related=("excise_duty_goods",))
    result = asyncio.run(UNDERSTANDING("is it going to rain today?", parse, vat))
    assert result["intent"]["name"] == OUT_OF_SCOPE
    assert "follow_up_of" not in result.get("understanding", {})


def test_a_problem_told_before_the_question_the_whole_reads_is_its_story():
    # Alone, "I forgot to declare my laptop" reads as the allowance; the whole message reads as
    # the question's entry (not surely): the problem is the question's story, one answer.
    text = ("I forgot to declare my laptop at the airport. "
            "Is there a penalty for paying duty late?")
    parse = story_parse({
        text: [("kb_late_payment_penalty", 0.79), ("kb_traveller_duty_free_allowance", 0.15)],
        "I forgot to declare my laptop at the airport": [
            ("kb_traveller_duty_free_allowance", 0.96)],
        "Is there a penalty for paying duty late": [("kb_late_payment_penalty", 1.0)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert "compound" not in result
    assert result["intent"]["name"] == "kb_late_payment_penalty"


def test_a_want_before_the_question_the_whole_reads_stays_a_request():
    text = "Good morning. I need a refund of duty I paid twice. What exchange rate do you use?"
    parse = story_parse({
        text: [("kb_exchange_rate_for_customs", 0.77), ("kb_request_customs_refund", 0.2)],
        "Good morning I need a refund of duty I paid twice": [
            ("kb_request_customs_refund", 0.98)],
        "What exchange rate do you use": [("kb_exchange_rate_for_customs", 1.0)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["compound"] == ["kb_request_customs_refund", "kb_exchange_rate_for_customs"]


def test_a_request_joined_by_also_stays_beside_a_problem_and_a_question():
    # The problem makes the unsure-question rule (PAIR_SURE) apply; the want joined by "also"
    # is a request of its own, not an unsure question: all three are answered.
    text = ("My declaration has been stuck in query for a week. I want to register for a TPIN, "
            "also what is the VAT rate?")
    parse = story_parse({
        text: [("kb_declaration_stuck_in_query", 0.5), ("kb_import_vat_rate", 0.3)],
        "My declaration has been stuck in query for a week": [
            ("kb_declaration_stuck_in_query", 0.95)],
        "I want to register for a TPIN": [("kb_how_to_register_tpin", 0.85)],
        "what is the VAT rate": [("kb_import_vat_rate", 1.0)],
    })
    result = asyncio.run(UNDERSTANDING(text, parse, Context()))
    assert result["compound"] == ["kb_declaration_stuck_in_query", "kb_how_to_register_tpin",
                                  "kb_import_vat_rate"]


@pytest.mark.parametrize("text", ["1002003006", "sorry wrong tpin, its 1002003004",
                                  "my tpin is 100 200 3004", "1002-003-004",
                                  "my tpin 1002003004 thanks"])
def test_a_tpin_alone_is_a_declaration_check_outside_a_form(text):
    """The model read a bare number as the contact-centre entry (a phone number)."""
    SEEN.clear()
    result = run(text)
    assert result["intent"]["name"] == "check_declaration_status"
    assert result["understanding"] == {"tpin_only": True} and result["text"] == text
    assert SEEN == []
    inside = run(text, Context(in_form=True))  # a form's question: the form reads it
    assert inside["intent"]["name"] != "check_declaration_status"


@pytest.mark.parametrize("text", ["0977123456", "+260 977 123 456", "call me on 1002003004",
                                  "my number is 9876543210", "+44 20 7946 0958",
                                  "is 1002003004 a valid tpin?", "1002003004 or 1002003005",
                                  "2026 LSK C 10452 1002003004"])
def test_a_phone_number_or_a_question_with_a_tpin_is_no_tpin_alone(text):
    assert "tpin_only" not in run(text).get("understanding", {})
