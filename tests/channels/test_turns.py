"""Every channel's turn (`run_turn`): the text the model and stores get, the ids they refuse."""

from __future__ import annotations

import asyncio

from rasa.core.channels.channel import UserMessage

from bot.channels.text import clean_message, holdable
from bot.channels.turns import run_turn


def test_a_message_reaches_the_model_without_lone_surrogates_or_control_characters():
    seen: list[str] = []

    async def handle(message: UserMessage) -> None:
        seen.append(message.text)

    message = UserMessage("what is a tpin \ud800\x00\x1b\nplease\tnow", sender_id="whatsapp:260977")
    assert asyncio.run(run_turn(handle, message, timeout=5)) is False
    assert seen == ["what is a tpin \nplease\tnow"]
    assert seen[0].encode("utf-8")  # the tokenizer and the drivers can take it


def test_a_conversation_id_the_stores_cannot_hold_is_a_failed_turn_never_handled():
    handled: list[str] = []

    async def handle(message: UserMessage) -> None:
        handled.append(message.sender_id)

    for bad in ("telegram:1\x00", "x\ud800"):
        assert asyncio.run(run_turn(handle, UserMessage("hi", sender_id=bad), timeout=5))
    assert handled == []


def test_what_is_kept():
    assert clean_message("café ✓ 🚚 ZMW 1,500\n") == "café ✓ 🚚 ZMW 1,500\n"
    assert holdable("web-0123456789abcdef0123456789abcdef") and holdable("whatsapp:260977")
    assert not holdable("a\x7fb") and not holdable("a\udfffb")


def test_a_message_of_control_characters_only_is_asked_again_not_read_as_yes():
    """The model reads an empty message as "affirm" (0.76): it could say yes to a form."""
    from rasa.core.channels.channel import CollectingOutputChannel

    from bot.content.live import get_knowledge

    handled: list[str] = []

    async def handle(message: UserMessage) -> None:
        handled.append(message.text)

    out = CollectingOutputChannel()
    message = UserMessage("\x07\x1b\ud800", output_channel=out, sender_id="telegram:42")
    assert asyncio.run(run_turn(handle, message, timeout=5)) is False
    assert handled == []
    assert [m["text"] for m in out.messages] == [get_knowledge().message("something_else")]


def _messages(channel: str) -> float:
    from bot.metrics.registry import MESSAGES

    return MESSAGES.labels(channel)._value.get()


def test_a_reused_message_id_is_the_channels_to_refuse_and_no_turn_is_counted():
    """The REST channel answers 409 for it: not a failed turn, not a message answered."""
    import pytest

    from bot.metrics.registry import OUTCOMES, TURN_FAILURES
    from bot.patches.replay import ReusedMessageId

    async def handle(message: UserMessage) -> None:
        raise ReusedMessageId("m-1")

    def counts() -> tuple[float, ...]:
        return (_messages("rest"), *(TURN_FAILURES.labels(r)._value.get()
                                     for r in ("failed_action", "timeout", "error")),
                OUTCOMES.labels("other")._value.get(), OUTCOMES.labels("failed")._value.get())

    before = counts()
    with pytest.raises(ReusedMessageId):
        asyncio.run(run_turn(handle, UserMessage("what is a tpin", sender_id="web-1",
                                                 input_channel="rest"), timeout=5))
    assert counts() == before

    async def answered(message: UserMessage) -> None:
        return None

    asyncio.run(run_turn(answered, UserMessage("hi", sender_id="web-1", input_channel="rest"),
                         timeout=5))
    assert _messages("rest") == before[0] + 1  # a turn that ran is counted
