"""`make eval`'s real-wording scoring: two questions are right when both are answered in order,
or the first is answered and the second offered as a button; an offered button is never wrong;
an entry answered beside the one asked is."""

from __future__ import annotations

import asyncio

from bot.training.realworld import (
    Tally,
    Texts,
    format_offers,
    outcome_of_parse,
    right_by,
    score_follow_ups,
    score_single,
)

PAIR = ["how_to_pay_customs_duty", "late_payment_penalty"]


def parse(intent: str, compound: list[str] | None = None, offer: list[str] | None = None
          ) -> dict:
    result: dict = {"intent": {"name": intent, "confidence": 0.9}}
    if compound:
        result["compound"] = compound
    if offer:
        result["offer"] = offer
    return result


def test_both_answered_in_order_is_right_by_answers():
    result = parse("kb_how_to_pay_customs_duty",
                   ["kb_how_to_pay_customs_duty", "kb_late_payment_penalty"])
    assert outcome_of_parse(result, PAIR) == "right"
    assert right_by(result, PAIR) == "answered"


def test_the_first_answered_and_the_second_offered_is_right_by_an_offer_not_the_other_way():
    first = parse("kb_how_to_pay_customs_duty", offer=["kb_late_payment_penalty"])
    second = parse("kb_late_payment_penalty", offer=["kb_how_to_pay_customs_duty"])
    assert outcome_of_parse(first, PAIR) == "right"
    assert right_by(first, PAIR) == "offered"
    assert outcome_of_parse(second, PAIR) == "declined"
    assert right_by(second, PAIR) is None


def test_an_entry_answered_beside_the_one_asked_is_wrong():
    extra = parse("kb_find_my_tpin", ["kb_find_my_tpin", "kb_late_payment_penalty"])
    assert outcome_of_parse(extra, "find_my_tpin") == "wrong"


def test_an_offer_never_makes_an_item_wrong():
    # The answer is one of the two, the button another entry: declined, as without the button.
    result = parse("kb_late_payment_penalty", offer=["kb_find_my_tpin"])
    assert outcome_of_parse(result, PAIR) == "declined"
    assert right_by(result, PAIR) is None
    # A single question answered right stays right with a stray button.
    assert outcome_of_parse(parse("kb_find_my_tpin", offer=["kb_what_is_tpin"]),
                            "find_my_tpin") == "right"
    # Nothing answered, the expected entry only offered: declined, not right.
    assert outcome_of_parse(parse("nlu_fallback", offer=["kb_late_payment_penalty"]),
                            PAIR) == "declined"


def test_a_wrong_answer_stays_wrong_whatever_is_offered():
    result = parse("kb_find_my_tpin", offer=["kb_late_payment_penalty"])
    assert outcome_of_parse(result, PAIR) == "wrong"


def test_an_offer_of_the_entry_answered_counts_for_nothing():
    result = parse("kb_late_payment_penalty", offer=["kb_late_payment_penalty"])
    assert outcome_of_parse(result, PAIR) == "declined"


def test_the_table_note_tells_answers_from_offers():
    readings = {
        "both": parse("kb_how_to_pay_customs_duty",
                      ["kb_how_to_pay_customs_duty", "kb_late_payment_penalty"]),
        "offered": parse("kb_late_payment_penalty", offer=["kb_how_to_pay_customs_duty"]),
        "in order": parse("kb_how_to_pay_customs_duty", offer=["kb_late_payment_penalty"]),
        "missed": parse("kb_late_payment_penalty"),
    }

    async def bot(text: str) -> dict:
        return readings[text]

    async def model(text: str) -> dict:
        return parse("kb_late_payment_penalty")

    items = {"compound": [(text, PAIR) for text in readings],
             "wrapped": [("in order", "how_to_pay_customs_duty")]}
    after = asyncio.run(score_single(items, bot))
    before = asyncio.run(score_single(items, model))
    compound = after["compound"]
    assert (compound.right, compound.wrong, compound.declined) == (2, 0, 2)
    assert compound.ways == {"answered": 1, "offered": 1, "reversed": 1}
    assert compound.offered == 2
    assert after["wrapped"].offered == 1 and after["wrapped"].right == 1
    note = format_offers({kind: (before[kind], after[kind]) for kind in items})
    assert ("compound: right 2 of 4 = 1 both answered (before: 0) + 1 the first answered and "
            "the second offered as a button; not counted: 1 with the second answered and the "
            "first offered") in note
    assert "compound 2/4, wrapped 1/1" in note


def test_no_offers_say_so():
    tally = Tally(right=1)
    assert format_offers({"wrapped": (None, tally)}).endswith("after: none")


def test_a_declined_follow_up_asked_with_the_entry_meant_is_counted_beside_the_table():
    """Asked "which did you mean?" with the entry meant among the buttons: still declined, and
    counted as asked with it; with other buttons only, or answered wrongly, not."""
    texts = Texts({"Pay with a PRN.": "how_to_pay_customs_duty",
                   "Penalties are charged.": "late_payment_penalty"}, {}, ())
    replies = {
        "and if late?": [{"text": "Which did you mean?", "buttons": [
            {"title": "Late payment", "payload": "/kb_late_payment_penalty"}]}],
        "and refunds?": [{"text": "Which did you mean?", "buttons": [
            {"title": "Pay", "payload": "/kb_how_to_pay_customs_duty"}]}],
        "and the rate?": [{"text": "Penalties are charged."}],
    }

    def send(_sender: str, text: str) -> list[dict]:
        return replies.get(text, [{"text": "Pay with a PRN."}])

    items = [{"turns": ["how do i pay", follow], "expect": expected} for follow, expected in (
        ("and if late?", "late_payment_penalty"), ("and refunds?", "request_customs_refund"),
        ("and the rate?", "import_vat_rate"))]
    tally = score_follow_ups(items, send, texts)
    assert (tally.right, tally.wrong, tally.declined) == (0, 1, 2)
    assert tally.asked_with_it == 1
    assert "of the 2 declined, 1 asked with the entry meant" in format_offers(
        {"follow_ups": (None, tally)})
