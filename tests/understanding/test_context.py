"""bot/understanding/context.py: which entry a follow-up means, from the readings' scores.

Each test gives the model's scores directly: the message alone, the message after each wording
of the previous entry, and those wordings alone."""

from __future__ import annotations

import math

import pytest

from bot.names import DENY, STOP, THANK
from bot.understanding import build
from bot.understanding.context import (
    CONTEXT_TURNS,
    MIN_MARGIN,
    MIN_OWN_EVIDENCE,
    NAMED_MARGIN,
    TOPIC_WORD_EVIDENCE,
    Context,
    Resolution,
    agreed,
    asks_about_it,
    asks_again,
    confirm,
    in_knowledge,
    joins,
    leans,
    lifts,
    names,
    other_than,
    refers_back,
    refers_to_topic,
    resolve,
    same_words,
    says_something,
    spelled_out,
    topic_words,
    weigh,
)

CAR = Context(previous_entry="import_motor_vehicle_duty",
              previous_question="What taxes do I pay to import a motor vehicle?",
              related=("used_vehicle_specific_duty", "electric_vehicle_duty"))


def test_the_reading_after_the_previous_entry_is_taken_without_it():
    # "and if it is old" after the car taxes: the reading is nearly all the previous entry,
    # but what is left of it points to used vehicles.
    reading = {"import_motor_vehicle_duty": 0.95, "used_vehicle_specific_duty": 0.04,
               "electric_vehicle_duty": 0.01}
    resolution = resolve({}, [reading], CAR)
    assert resolution.entry == "used_vehicle_specific_duty"


def test_the_previous_entry_is_never_the_answer_nor_a_candidate():
    resolution = resolve({"import_motor_vehicle_duty": 0.9},
                         [{"import_motor_vehicle_duty": 1.0}], CAR)
    assert resolution.entry is None
    assert "import_motor_vehicle_duty" not in dict(resolution.candidates)
    assert set(dict(resolution.candidates)) == set(CAR.related)  # the related ones to ask with


def test_one_wordings_quirk_does_not_decide():
    readings = [{"import_motor_vehicle_duty": 0.9, "carbon_emission_surtax": 0.1},
                {"import_motor_vehicle_duty": 0.9, "electric_vehicle_duty": 0.1},
                {"import_motor_vehicle_duty": 0.9, "electric_vehicle_duty": 0.1}]
    assert resolve({}, readings, CAR).entry == "electric_vehicle_duty"


def test_two_close_candidates_are_asked_about():
    reading = {"used_vehicle_specific_duty": 0.5, "electric_vehicle_duty": 0.5}
    resolution = resolve({}, [reading], CAR)
    assert resolution.entry is None
    assert {entry for entry, _ in resolution.candidates[:2]} == {
        "used_vehicle_specific_duty", "electric_vehicle_duty"}


def test_a_winner_barely_ahead_of_an_entry_of_its_family_is_asked_about():
    # "n 4 cars?" after the VAT rate: used-car duty only a little ahead of car taxes.
    reading = {"used_vehicle_specific_duty": 0.65, "electric_vehicle_duty": 0.35}
    assert 0.25 < 0.65 - 0.35 < MIN_MARGIN  # answered by the method before
    assert resolve({}, [reading], CAR).entry is None
    clear = {"used_vehicle_specific_duty": 0.72, "electric_vehicle_duty": 0.28}
    assert resolve({}, [clear], CAR).entry == "used_vehicle_specific_duty"


def test_other_than_scales_the_rest_to_one():
    assert other_than({"a": 0.8, "b": 0.15, "c": 0.05}, "a") == pytest.approx(
        {"b": 0.75, "c": 0.25})
    assert other_than({"a": 1.0}, "a") == {}


def test_a_winner_the_message_did_not_move_towards_is_not_answered():
    # "and that?": the readings after the wordings say what the wordings alone say.
    wordings = [{"import_motor_vehicle_duty": 0.99, "used_vehicle_specific_duty": 0.008,
                 "electric_vehicle_duty": 0.002}]
    readings = [{"import_motor_vehicle_duty": 0.98, "used_vehicle_specific_duty": 0.016,
                 "electric_vehicle_duty": 0.004}]
    resolution = resolve({}, readings, CAR)
    assert resolution.entry == "used_vehicle_specific_duty"  # by the wordings' second choice
    confirmed = confirm(resolution, {}, readings, wordings, CAR, "and a second hand one?")
    assert confirmed.entry is None
    assert confirmed.candidates == resolution.candidates


def test_a_winner_the_message_moved_towards_is_answered():
    wordings = [{"import_motor_vehicle_duty": 0.99, "electric_vehicle_duty": 0.008,
                 "used_vehicle_specific_duty": 0.002}]
    readings = [{"import_motor_vehicle_duty": 0.9, "used_vehicle_specific_duty": 0.09,
                 "electric_vehicle_duty": 0.01}]
    resolution = confirm(resolve({}, readings, CAR), {}, readings, wordings, CAR,
                         "and if it is old")
    assert resolution.entry == "used_vehicle_specific_duty"


def test_the_context_is_the_entry_answered_last_within_the_latest_turns():
    kb_entry = "how_to_pay_customs_duty"
    context = build.context_from([("how do i pay duty", kb_entry), ("thanks", None)])
    assert context.previous_entry == kb_entry
    entry = build.get_knowledge().entries[kb_entry]
    assert context.wordings[0] == entry.question
    assert set(context.wordings[1:]) <= set(entry.examples) and len(context.wordings) > 1
    assert context.related == tuple(entry.related)
    old = [("how do i pay duty", kb_entry)] + [("hello", None)] * CONTEXT_TURNS
    assert build.context_from(old).previous_entry is None
    assert build.context_from([]).previous_entry is None


def test_a_message_leans_on_the_previous_answer_in_sms_and_after_thanks():
    for text in ("ok thanks, and excise?", "n if i lose it", "& for cars", "plus excise?",
                 "what about an electric one", "excise too?"):
        assert leans(text), text
    for text in ("thanks", "ok", "what is the vat rate on imports", "andrew banda",
                 "who won the football match?"):
        assert not leans(text), text


def test_a_word_that_refers_back_anywhere_may_refer_to_the_previous_answer():
    for text in ("mine is 12 years old", "how much do they charge", "i lost it",
                 "my wife also lived abroad with me", "its a 2015 model"):
        assert refers_back(text), text
    for text in ("who won the football match?", "what is the vat rate on imports"):
        assert not refers_back(text), text


def test_it_refers_to_the_topic_when_read_after_it_the_message_stays_in_the_knowledge():
    # "mine is 12 years old" after car taxes: the entries keep all of the probability;
    # "do you know a good hotel in that town" after how to pay: much goes outside customs.
    kept = [{"import_motor_vehicle_duty": 0.6, "used_vehicle_specific_duty": 0.39}]
    left = [{"how_to_pay_customs_duty": 0.4, "customs_offices_list": 0.2}]
    assert in_knowledge(kept) == pytest.approx(0.99)
    assert refers_to_topic("mine is 12 years old", kept)
    assert not refers_to_topic("do you know a good hotel in that town", left)
    assert not refers_to_topic("a 12 year old toyota", kept)  # refers to nothing


def test_only_a_message_with_words_of_its_own_says_something():
    for text in ("how much is it", "is it free", "where do i get it?"):
        assert says_something(text), text
    for text in ("what about it", "and that one?", "tell me more", "ok and?", "hmm ok"):
        assert not says_something(text), text


def test_a_message_with_no_words_of_its_own_is_not_answered_with_another_entry():
    # "what about it": the readings move towards used vehicles, the message says nothing.
    wordings = [{"import_motor_vehicle_duty": 0.99, "used_vehicle_specific_duty": 0.005,
                 "electric_vehicle_duty": 0.005}]
    readings = [{"import_motor_vehicle_duty": 0.5, "used_vehicle_specific_duty": 0.5}]
    resolution = resolve({}, readings, CAR)
    assert resolution.entry == "used_vehicle_specific_duty"
    assert confirm(resolution, {}, readings, wordings, CAR, "what about it").entry is None
    assert confirm(resolution, {}, readings, wordings, CAR, "and used?").entry is not None


def test_the_lift_is_how_much_the_message_raised_an_entry_after_the_wording():
    wordings = [{"import_motor_vehicle_duty": 0.99, "used_vehicle_specific_duty": 0.001,
                 "carbon_emission_surtax": 0.009}]
    readings = [{"import_motor_vehicle_duty": 0.9, "used_vehicle_specific_duty": 0.1}]
    lifted = lifts(readings, wordings, ["import_motor_vehicle_duty",
                                        "used_vehicle_specific_duty", "carbon_emission_surtax",
                                        "electric_vehicle_duty"])
    assert lifted["used_vehicle_specific_duty"] == pytest.approx(math.log(100))
    assert lifted["import_motor_vehicle_duty"] == pytest.approx(math.log(0.9 / 0.99))
    # not ranked after the message: the reading says nothing of it
    assert lifted["carbon_emission_surtax"] == 0.0 == lifted["electric_vehicle_duty"]


def test_an_entry_the_wording_does_not_rank_is_below_what_its_ranking_shows_or_leaves():
    readings = [{"import_motor_vehicle_duty": 0.6, "electric_vehicle_duty": 0.4}]
    short = lifts(readings, [{"import_motor_vehicle_duty": 0.9}], ["electric_vehicle_duty"])
    assert short["electric_vehicle_duty"] == pytest.approx(math.log(0.4 / 0.1))  # 0.1 left
    ranked = lifts(readings, [{"import_motor_vehicle_duty": 0.5, "find_hs_code": 0.01}],
                   ["electric_vehicle_duty"])
    assert ranked["electric_vehicle_duty"] == pytest.approx(math.log(0.4 / 0.01))  # smallest
    full = lifts(readings, [{"import_motor_vehicle_duty": 1.0}], ["electric_vehicle_duty"])
    assert full["electric_vehicle_duty"] > math.log(1000)  # nothing left: far below


def test_the_second_reading_keeps_the_topic_unless_the_message_lifts_another_entry_far():
    wordings = [{"import_motor_vehicle_duty": 0.99, "used_vehicle_specific_duty": 0.005,
                 "electric_vehicle_duty": 0.005}]
    # "how much is it for mine": nothing lifted, the same topic
    same = [{"import_motor_vehicle_duty": 0.98, "used_vehicle_specific_duty": 0.01,
             "electric_vehicle_duty": 0.01}]
    assert weigh({}, same, wordings, CAR, "how much for mine").entry == CAR.previous_entry
    # "mine is 12 years old": used vehicles lifted 60 times
    used = [{"import_motor_vehicle_duty": 0.69, "used_vehicle_specific_duty": 0.3,
             "electric_vehicle_duty": 0.01}]
    weighed = weigh({}, used, wordings, CAR, "mine is 12 years old")
    assert weighed.entry == "used_vehicle_specific_duty"
    assert weighed.candidates[0][0] == weighed.entry and 0.5 < weighed.candidates[0][1] <= 1.0
    # lifted less: neither the topic nor the other entry is sure
    less = [{"import_motor_vehicle_duty": 0.93, "used_vehicle_specific_duty": 0.06,
             "electric_vehicle_duty": 0.01}]
    assert weigh({}, less, wordings, CAR, "and an old one").entry is None
    # no words of its own: never sure
    assert weigh({}, same, wordings, CAR, "what about it").entry is None


def test_a_related_entry_needs_less_lift_than_another_one():
    wordings = [{"import_motor_vehicle_duty": 0.99, "used_vehicle_specific_duty": 0.005,
                 "find_hs_code": 0.005}]
    readings = [{"import_motor_vehicle_duty": 0.9, "used_vehicle_specific_duty": 0.05,
                 "find_hs_code": 0.05}]
    weighed = weigh({}, readings, wordings, CAR, "and the code")
    # lifted as much, the entry related to car taxes comes first after the topic itself
    assert [entry for entry, _ in weighed.candidates] == [
        "import_motor_vehicle_duty", "used_vehicle_specific_duty", "find_hs_code"]


def test_a_bare_reply_opening_with_and_continues_the_previous_answer():
    # "n copper?": the model reads the "n" as "no".
    for text in ("n copper?", "& by rail?", "and if i dont?", "what if i dont"):
        assert joins(text, DENY), text
    for text in ("no thanks", "n", "nope", "stop it", "but no", "and yes please", "so no thanks"):
        assert not joins(text, DENY), text
    assert not joins("and thanks", THANK)  # only bare replies are overridden
    assert spelled_out("n copper?") == "and copper?"
    assert spelled_out("& by rail?") == "and by rail?"
    assert spelled_out("no thanks") == "no thanks"


def test_a_question_about_it_is_no_stop_but_stop_it_is():
    assert asks_about_it("can i cancel it", STOP)
    assert asks_about_it("can i just withdraw it", STOP)
    for text in ("stop it", "cancel that", "i want to stop", "forget it"):
        assert not asks_about_it(text, STOP), text


def test_an_entrys_rare_words_are_the_words_few_entries_are_asked_with():
    found = topic_words({
        "offices": ["is there a customs office in kitwe", "how do i find the office"],
        "hours": ["what time does the office open", "is chirundu open at night"],
        "pay": ["how do i pay", "pay with airtel money at the office"],
    })
    assert "kitwe" in found["offices"] and "chirundu" in found["hours"]
    assert "office" not in found["offices"]  # all three entries are asked with it
    assert "how" not in found["pay"]


OFFICES = Context(previous_entry="customs_offices_list", related=("border_post_hours",),
                  previous_words=frozenset({"kitwe", "ndola"}),
                  rare_words=frozenset({"kitwe", "ndola", "chirundu", "cigarettes"}))


def test_the_same_topic_is_asked_again_when_the_wordings_keep_it_or_by_its_rare_words():
    assert asks_again("n kitwe?", 0.5, OFFICES)          # its own rare word
    assert asks_again("and in lusaka?", 0.99, OFFICES)   # the previous entry keeps its share
    assert not asks_again("n chirundu?", 0.5, OFFICES)   # another entry's rare word
    assert not asks_again("and that?", 1.0, OFFICES)     # nothing of its own
    # A question a related entry may be meant by, that moves the wordings off the previous
    # entry: asked, not answered again ("how do i get one" after "do i need an agent").
    assert not asks_again("how do i get one", 0.95, Context(previous_entry="do_i_need_agent"))


def test_another_entry_needs_more_evidence_when_the_rare_words_are_the_previous_entrys():
    assert same_words("n kitwe", OFFICES) and not same_words("n chirundu", OFFICES)
    won = Resolution("border_post_hours", [("border_post_hours", 1.0)])
    evidence = (MIN_OWN_EVIDENCE + TOPIC_WORD_EVIDENCE) / 2
    alone = {"border_post_hours": evidence}
    assert confirm(won, alone, [{}], [{}], OFFICES, "n chirundu?").entry == "border_post_hours"
    assert confirm(won, alone, [{}], [{}], OFFICES, "n kitwe?").entry is None


def test_the_context_carries_the_previous_entrys_rare_words():
    context = build.context_for("customs_offices_list")
    assert context.previous_words and context.previous_words <= context.rare_words
    assert "kitwe" in context.previous_words


TPIN = Context(previous_entry="how_to_register_tpin", related=("what_is_tpin", "find_my_tpin"),
               previous_words=frozenset({"register"}),
               rare_words=frozenset({"register", "forgot", "aeo", "kitwe"}),
               entry_words={"how_to_register_tpin": frozenset({"register"}),
                            "find_my_tpin": frozenset({"forgot"}),
                            "authorised_economic_operator": frozenset({"aeo"})})


def test_a_follow_up_names_an_entry_by_a_rare_word_of_that_entry_not_of_the_previous_one():
    assert names("find_my_tpin", "and if i already have one but forgot it", TPIN)
    assert not names("what_is_tpin", "and if i already have one but forgot it", TPIN)
    assert not names("how_to_register_tpin", "and to register?", TPIN)  # the previous entry's
    assert not names("find_my_tpin", "and for my company?", TPIN)     # no rare word


def test_an_entry_the_follow_up_names_wins_by_a_smaller_margin_and_needs_no_more_evidence():
    assert NAMED_MARGIN < MIN_MARGIN
    gap = (NAMED_MARGIN + MIN_MARGIN) / 2
    # neither related entry gets a bonus over the other: the readings alone decide
    reading = {"find_my_tpin": 0.5 + gap / 2, "what_is_tpin": 0.5 - gap / 2}
    named = "and if i already have one but forgot it"
    resolution = resolve({}, [reading], TPIN, named)
    assert resolution.entry == "find_my_tpin"
    assert resolve({}, [reading], TPIN, "and for my company?").entry is None
    # The wordings read alone already lean the same way: the message moved nothing, but its
    # word names the entry.
    assert confirm(resolution, {}, [reading], [reading], TPIN, named).entry == "find_my_tpin"


def test_the_second_reading_answers_another_entry_only_when_the_first_ranks_it_best():
    """Sure of another entry than the first reading's best, the two readings disagree
    ("wat if i put wrong prn" after how to pay: the PRN, or the payment not reflecting?): the
    second reading is not sure (the first decides). Agreeing, or sure of the entry just
    answered (which the first reading never ranks), it answers."""
    sure = Resolution("generate_payment_reference_number",
                      [("generate_payment_reference_number", 0.8), ("payment_not_reflecting", 0.1)])
    disagreeing = Resolution(None, [("payment_not_reflecting", 0.9),
                                    ("generate_payment_reference_number", 0.7)])
    asked = agreed(sure, disagreeing, "how_to_pay_customs_duty")
    assert asked.entry is None and asked.candidates == sure.candidates
    agreeing = Resolution(None, [("generate_payment_reference_number", 0.9),
                                 ("payment_not_reflecting", 0.7)])
    assert agreed(sure, agreeing, "how_to_pay_customs_duty") is sure
    again = Resolution("how_to_pay_customs_duty", [("how_to_pay_customs_duty", 0.9)])
    assert agreed(again, disagreeing, "how_to_pay_customs_duty") is again
    assert agreed(sure, Resolution(None), "how_to_pay_customs_duty") is sure
