"""bot/understanding/context.py: which entry a follow-up means, from the readings' scores.

Each test gives the model's scores directly: the message alone, the message after each wording
of the previous entry, and those wordings alone."""

from __future__ import annotations

import pytest

from bot.understanding import build
from bot.understanding.context import (
    CONTEXT_TURNS,
    Context,
    confirm,
    leans,
    other_than,
    resolve,
    says_something,
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
    confirmed = confirm(resolution, {}, readings, wordings, CAR)
    assert confirmed.entry is None
    assert confirmed.candidates == resolution.candidates


def test_a_winner_the_message_moved_towards_is_answered():
    wordings = [{"import_motor_vehicle_duty": 0.99, "electric_vehicle_duty": 0.008,
                 "used_vehicle_specific_duty": 0.002}]
    readings = [{"import_motor_vehicle_duty": 0.9, "used_vehicle_specific_duty": 0.09,
                 "electric_vehicle_duty": 0.01}]
    resolution = confirm(resolve({}, readings, CAR), {}, readings, wordings, CAR)
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
    for text in ("thanks", "ok", "what is the vat rate on imports", "andrew banda"):
        assert not leans(text), text


def test_only_a_message_with_words_of_its_own_says_something():
    for text in ("how much is it", "is it free", "where do i get it?"):
        assert says_something(text), text
    for text in ("what about it", "and that one?", "tell me more", "ok and?"):
        assert not says_something(text), text
