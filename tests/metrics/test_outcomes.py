"""What became of a message, read from the turn's events as the Rasa server has them."""

from __future__ import annotations

import asyncio

import pytest

from bot.metrics import outcomes


def user(intent: str) -> dict:
    return {"event": "user", "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}


def action(name: str) -> dict:
    return {"event": "action", "name": name}


def bot(buttons: list | None = None) -> dict:
    return {"event": "bot", "text": "...", "data": {"buttons": buttons}}


BUTTONS = [{"title": "Import VAT", "payload": "/kb_vat"}, {"title": "Something else",
                                                           "payload": "/something_else"}]


@pytest.mark.parametrize(("turn", "expected"), [
    ([user("kb_vat_rate"), action("action_answer_knowledge"), bot(), action("action_listen")],
     "answered"),
    ([user("affirm"), action("declaration_form"), action("action_check_declaration"), bot()],
     "answered"),
    ([user("nlu_fallback"), action("action_clarify"), bot(BUTTONS)], "clarified"),
    ([user("nlu_fallback"), action("action_clarify"), bot()], "declined"),
    ([user("out_of_scope"), action("action_reply"), bot()], "declined"),
    ([user("other_language"), action("action_reply"), bot()], "declined"),
    ([user("domestic_tax"), action("action_reply"), bot()], "declined"),
    ([user("request_human"), action("action_start_handover"), bot(),
      action("handover_form"), {"event": "active_loop", "name": "handover_form"}],
     "handed_over"),
    # A second message the bot cannot place: the hand-over form starts from action_reply.
    ([user("out_of_scope"), action("action_reply"), bot(), bot(), action("handover_form"),
      {"event": "active_loop", "name": "handover_form"}], "handed_over"),
    ([user("greet"), action("action_reply"), bot()], "other"),
    ([user("feedback_helpful"), action("action_feedback"), bot()], "other"),
    # An answer to the form's question: the form goes on, nothing activated. The model may
    # well call a name out of scope; the form takes it all the same.
    ([user("nlu_fallback"), action("handover_form"), bot()], "other"),
    ([user("out_of_scope"), action("handover_form"), action("validate_handover_form"), bot()],
     "other"),
    ([], "other"),
])
def test_each_turn_gets_one_outcome(turn: list[dict], expected: str) -> None:
    assert outcomes.classify(turn) == expected


def test_a_note_reaches_only_the_turn_that_opened_it() -> None:
    outcomes.note("answered")  # outside any turn: dropped, no error

    async def turn(outcome: str) -> list[str]:
        noted, token = outcomes.begin()
        try:
            await asyncio.sleep(0)
            # Rasa runs the turn in a task of its own (asyncio.wait_for): the note still
            # reaches the channel's list.
            await asyncio.wait_for(_note_later(outcome), 1)
            return noted
        finally:
            outcomes.end(token)

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(turn("answered"), turn("declined")))

    assert asyncio.run(both()) == [["answered"], ["declined"]]


async def _note_later(outcome: str) -> None:
    await asyncio.sleep(0.01)
    outcomes.note(outcome)
