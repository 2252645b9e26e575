"""Real wording over REST against the trained model: misspellings, follow-ups, two questions at
once, questions inside forms, other languages and domestic-tax near misses (issue: people's
real wording). The sentences here are the tests' own, not eval/realworld.yml."""

from __future__ import annotations

import uuid

import pytest

from bot.content.answers import answer_text
from bot.content.live import get_knowledge

pytestmark = pytest.mark.conversation


def sender() -> str:
    return f"wording-{uuid.uuid4().hex[:12]}"


def texts(replies: list[dict]) -> list[str]:
    """Each reply's first paragraph (Rasa sends the paragraphs of a message without buttons
    as separate messages, those with buttons whole)."""
    return [(r.get("text") or "").strip().split("\n\n")[0].strip() for r in replies]


def payloads(replies: list[dict]) -> list[str]:
    return [b["payload"] for r in replies for b in r.get("buttons", [])]


@pytest.fixture()
def kb(bot_server, monkeypatch):
    monkeypatch.setenv("KNOWLEDGE_DIR", str(bot_server.knowledge_dir))
    from bot.content import live

    monkeypatch.setattr(live, "_store", None)
    return get_knowledge()


def answer(kb, entry: str) -> str:
    """The first message of an entry's answer (Rasa sends each paragraph as a message)."""
    return answer_text(kb, entry).strip().split("\n\n")[0].strip()


@pytest.mark.parametrize(("typed", "entry"), [
    ("hw do i gt a tpin pls", "how_to_register_tpin"),
    ("wat documnts do i nid 4 importing", "documents_required_for_import"),
])
def test_sms_spelling_gets_the_entry_meant(bot_server, kb, typed, entry):
    assert texts(bot_server.send(sender(), typed))[0] == answer(kb, entry)


def test_a_follow_up_is_answered_with_the_previous_topic(bot_server, kb):
    s = sender()
    assert texts(bot_server.send(s, "what is the vat rate on imported goods"))[0] == answer(
        kb, "import_vat_rate")
    assert texts(bot_server.send(s, "and excise duty?"))[0] == answer(kb, "excise_duty_goods")


@pytest.mark.parametrize(("first", "entry", "follow_up", "meant"), [
    # Almost nothing alone: the previous topic says which entry.
    ("what taxes do i pay on an imported car", "import_motor_vehicle_duty",
     "and if its a secondhand one", "used_vehicle_specific_duty"),
    ("how do i pay customs duty", "how_to_pay_customs_duty",
     "and if i miss the deadline", "late_payment_penalty"),
    # A new question after an answer is answered as itself.
    ("how do i register for a tpin", "how_to_register_tpin",
     "what is the vat rate on imports", "import_vat_rate"),
    # One detail changed ("n" read as "no" by the model alone): the same topic again.
    ("is chirundu open 24 hours", "border_post_hours", "n kazungula?", "border_post_hours"),
    ("is there a customs office in livingstone", "customs_offices_list", "n in kitwe?",
     "customs_offices_list"),
    # Read as "stop" alone; after a declaration in query it asks about the declaration.
    ("my declaration is stuck in query", "declaration_stuck_in_query", "can i cancel it",
     "amend_or_cancel_declaration"),
])
def test_a_short_follow_up_gets_the_entry_it_means(bot_server, kb, first, entry, follow_up,
                                                    meant):
    s = sender()
    assert texts(bot_server.send(s, first))[0] == answer(kb, entry)
    assert texts(bot_server.send(s, follow_up))[0] == answer(kb, meant)


def test_an_unclear_follow_up_asks_with_the_related_entries(bot_server, kb):
    s = sender()
    bot_server.send(s, "what is the vat rate on imported goods")
    replies = bot_server.send(s, "and that?")
    assert kb.message("clarify") in texts(replies)
    related = set(kb.entries["import_vat_rate"].related)
    offered = {p.removeprefix("/kb_") for p in payloads(replies) if p.startswith("/kb_")}
    assert offered & related
    assert answer(kb, "import_vat_rate") not in texts(replies)


def test_two_questions_are_both_answered_in_order_and_the_vote_asked_once(bot_server, kb):
    replies = bot_server.send(sender(), "my payment is not reflecting on the system, also "
                                        "what is the penalty for paying late")
    said = texts(replies)
    first = said.index(answer(kb, "payment_not_reflecting"))
    second = said.index(answer(kb, "late_payment_penalty"))
    assert first < second
    assert payloads(replies).count("/feedback_helpful") == 1


def test_a_want_before_a_question_is_offered_as_a_button_and_tapping_it_answers_it(bot_server,
                                                                                    kb):
    # No "also": the want may only set the scene, so it is not answered; it reads clearly as
    # another entry, so the reply offers it as a button after the answer, the vote once after.
    s = sender()
    replies = bot_server.send(s, "I want to register my business for a TPIN. Where are the "
                                 "customs offices in Lusaka?")
    said = texts(replies)
    assert said[0] == answer(kb, "customs_offices_list")
    assert answer(kb, "how_to_register_tpin") not in said
    offer = said.index(kb.message("offer_also_asked"))
    assert [b["payload"] for b in replies[offer]["buttons"]] == ["/kb_how_to_register_tpin"]
    assert payloads(replies).count("/feedback_helpful") == 1
    assert said.index(kb.message("feedback_ask")) > offer
    assert texts(bot_server.send(s, "/kb_how_to_register_tpin"))[0] == answer(
        kb, "how_to_register_tpin")


@pytest.mark.parametrize(("story", "entry"), [
    ("Good afternoon madam. I paid the duty at the bank this morning. I want to know how long "
     "clearance takes now.", "how_long_clearance_takes"),
    ("Hello. I imported a used car from Japan last year. I want to know how to get a temporary "
     "permit for my friend's Botswana car.", "visitor_vehicle_temporary_permit"),
    # a problem told beside the question is its story, not a second question
    ("I forgot to declare my laptop at the airport. Is there a penalty for paying duty late?",
     "late_payment_penalty"),
    ("I lost my job in the UK and I am coming back home for good. Can I bring my things "
     "without duty?", "returning_resident_relief"),
])
def test_a_question_inside_a_story_gets_one_answer_not_one_for_the_story_too(bot_server, kb,
                                                                             story, entry):
    said = texts(bot_server.send(sender(), story))
    assert said[0] == answer(kb, entry)
    others = {answer(kb, other) for other in kb.entries if other != entry}
    assert not set(said) & others


def test_two_questions_after_a_short_greeting_are_both_answered(bot_server, kb):
    said = texts(bot_server.send(sender(), "Hello. How do I get a PRN? And what is the penalty "
                                           "if I pay late?"))
    assert said.index(answer(kb, "generate_payment_reference_number")) < said.index(
        answer(kb, "late_payment_penalty"))


def test_a_question_inside_the_handover_form_is_answered_and_the_form_asks_again(bot_server,
                                                                                 kb):
    s = sender()
    assert kb.message("handoff_ask_name") in texts(bot_server.send(s, "/request_human"))
    said = texts(bot_server.send(s, "what is the vat rate on imports"))
    assert answer(kb, "import_vat_rate") in said
    assert said[-1] == kb.message("handoff_ask_name")
    # Thanks (however spelled), a greeting, a TPIN or keyboard mashing are never the name.
    for not_a_name in ("thanks", "hello", "1002003004", "ok thank u", "hjkhjkhjk", "qwe rty"):
        said = texts(bot_server.send(s, not_a_name))
        assert said[-1] == kb.message("handoff_ask_name"), not_a_name
    said = texts(bot_server.send(s, "Mary Banda"))
    assert said[-1] == kb.message("handoff_ask_question")
    said = texts(bot_server.send(s, "never mind"))
    assert kb.message("handoff_cancelled") in said


def test_a_question_inside_the_declaration_form_is_answered_and_the_form_asks_again(
        bot_server, kb):
    s = sender()
    asked = texts(bot_server.send(s, "/check_declaration_status"))[-1]
    said = texts(bot_server.send(s, "how do i pay customs duty"))
    assert answer(kb, "how_to_pay_customs_duty") in said
    assert said[-1] == asked
    # Finding the reference is not a question about references.
    said = texts(bot_server.send(s, "hold on, let me find the reference number"))
    assert answer(kb, "declaration_reference_format") not in said
    assert said[-1] == asked
    said = texts(bot_server.send(s, "cancel"))
    assert asked not in said


def test_asking_for_a_person_again_is_never_the_question_for_staff(bot_server, kb):
    s = sender()
    bot_server.send(s, "talk to a person")
    assert texts(bot_server.send(s, "Mary Banda"))[-1] == kb.message("handoff_ask_question")
    said = texts(bot_server.send(s, "i want to talk to a real person"))
    assert said == [kb.message("handoff_in_progress"), kb.message("handoff_ask_question")]
    # the button of an earlier answer, and a phone keyboard's apostrophe: the name is kept
    for again in ("/request_human", "Hi, I\u2019d like to speak to someone"):
        said = texts(bot_server.send(s, again))
        assert said == [kb.message("handoff_in_progress"), kb.message("handoff_ask_question")]
    said = texts(bot_server.send(s, "my goods have been held at nakonde for a week"))
    assert said[-1] == kb.message("handoff_ask_contact")


def test_a_contact_typed_wrongly_or_spelled_out_is_the_contact_not_a_question(bot_server, kb):
    """"john@gmail" and "john at gmail dot com" got the contact centre's answer."""
    s = sender()
    for text in ("talk to a person", "Mary Banda", "my refund has not come after two months"):
        bot_server.send(s, text)
    said = texts(bot_server.send(s, "john@gmail"))
    assert said == [kb.message("handoff_invalid_contact"), kb.message("handoff_ask_contact")]
    said = texts(bot_server.send(s, "john at gmail dot com"))
    assert kb.message("handoff_ticket").split("{")[0].format(name="Mary Banda") in said[0]
    assert "Mary Banda" in said[0]


def test_a_name_the_model_reads_as_a_greeting_is_still_the_name(bot_server, kb):
    s = sender()
    bot_server.send(s, "/request_human")
    said = texts(bot_server.send(s, "Namakau Inonge"))
    assert said[-1] == kb.message("handoff_ask_question")


@pytest.mark.parametrize(("start", "leave", "cancelled", "asked"), [
    ("/request_human", "forget it, i'll just phone the office tomorrow",
     "handoff_cancelled", "handoff_ask_name"),
    ("/check_declaration_status", "never mind, i will ask my clearing agent",
     "declaration_cancelled", None),
])
def test_never_mind_with_a_reason_leaves_the_form(bot_server, kb, start, leave, cancelled,
                                                  asked):
    s = sender()
    question = texts(bot_server.send(s, start))[-1]
    said = texts(bot_server.send(s, leave))
    assert kb.message(cancelled) in said
    assert question not in said
    if asked:
        assert question == kb.message(asked)


@pytest.mark.parametrize("start", ["/request_human", "/check_declaration_status"])
def test_stop_notifications_inside_a_form_ends_them_and_the_form_asks_again(bot_server, kb,
                                                                            start):
    s = sender()
    question = texts(bot_server.send(s, start))[-1]
    said = texts(bot_server.send(s, "stop notifications"))
    assert said == [kb.message("notify_none_to_stop"), question]


def test_another_language_is_told_the_bot_answers_in_english_and_never_starts_a_form(
        bot_server, kb):
    s = sender()
    for message in ("Ndikufuna kulembetsa TPIN yanga chonde",
                    "Habari, nataka kujua kuhusu ushuru wa forodha"):
        said = texts(bot_server.send(s, message))
        assert said == [kb.message("other_language")]
    assert kb.message("handoff_ask_name") not in said


@pytest.mark.parametrize("typed", [
    "how do i file my annual income tax return",
    "i sell hardware in chipata, do i charge my customers vat",
    "output vat and input vat, how do i work out what i owe",
])
def test_domestic_tax_is_pointed_to_the_authority_not_answered_with_a_customs_entry(
        bot_server, kb, typed):
    said = texts(bot_server.send(sender(), typed))
    assert said == [kb.message("domestic_tax")]


@pytest.mark.parametrize("typed", [
    "road tax for my car",
    "how much is road tax for a 10 tonne truck",
    "Hello sir, my daughter has no passport yet and she travels in June. How long will it take?",
])
def test_another_agencys_business_is_declined_not_answered(bot_server, kb, typed):
    said = texts(bot_server.send(sender(), typed))
    assert said[0] in (kb.message("out_of_scope"), kb.message("clarify"))
    assert not set(said) & {answer(kb, entry) for entry in kb.entries}
