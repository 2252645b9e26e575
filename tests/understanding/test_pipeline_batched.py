"""bot/understanding/pipeline.py with a model that reads several texts at once (`parse.many`,
as bot.patches.understanding gives it): the same results as one by one, with the extra
readings of a message asked for together and the knowledge's wordings marked as such."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.understanding.context import Context
from tests.understanding.test_pipeline import UNDERSTANDING, VAT, fake_parse


class Batched:
    """fake_parse, callable for one text and with `many` for several; records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], bool]] = []

    async def __call__(self, text: str) -> dict[str, Any]:
        self.calls.append(("one", [text], False))
        return await fake_parse(text)

    async def many(self, texts: list[str], fixed: bool = False) -> list[dict[str, Any]]:
        self.calls.append(("many", list(texts), fixed))
        return [await fake_parse(text) for text in texts]


WORDINGS = Context(previous_entry="import_vat_rate", previous_question="What is the VAT rate?",
                   previous_wordings=("What is the VAT rate?", "vat rate?", "import vat"),
                   related=("excise_duty_goods",))
MESSAGES = [("and excise?", WORDINGS), ("and excise?", VAT), ("and that one?", VAT),
            ("I paid but its not reflecting, also what is the penalty", Context()),
            ("how do i get a tpin", VAT), ("thanks", VAT)]


@pytest.mark.parametrize(("text", "context"), MESSAGES)
def test_reading_together_changes_nothing(text: str, context: Context):
    alone = asyncio.run(UNDERSTANDING(text, fake_parse, context))
    assert asyncio.run(UNDERSTANDING(text, Batched(), context)) == alone


def test_a_follow_up_is_read_after_all_the_wordings_at_once_and_the_wordings_are_marked():
    parse = Batched()
    result = asyncio.run(UNDERSTANDING("and excise?", parse, WORDINGS))
    assert result["intent"]["name"] == "kb_excise_duty_goods"
    assert parse.calls[0] == ("one", ["and excise?"], False)
    assert parse.calls[1] == ("many", ["What is the VAT rate? and excise?",
                                       "vat rate? and excise?", "import vat and excise?"], False)
    assert parse.calls[2] == ("many", list(WORDINGS.wordings), True)
    assert len(parse.calls) == 3


def test_the_clauses_of_a_message_are_read_together():
    parse = Batched()
    asyncio.run(UNDERSTANDING("I paid but its not reflecting, also what is the penalty",
                              parse, Context()))
    kinds = [(kind, fixed) for kind, _, fixed in parse.calls]
    assert kinds == [("one", False), ("many", False)]
    assert len(parse.calls[1][1]) == 2
