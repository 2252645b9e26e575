"""bot/patches/parse_thread.py: the model's parse runs off the event loop, one at a time, with
the caller's context, and stays on the loop when it must wait (an HTTP interpreter)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from bot.patches import parse_thread

REQUEST = contextvars.ContextVar("request", default="none")


async def _rasa_like_parse(processor: Any, text: str) -> dict[str, Any]:
    """Rasa's parse_message with the model in the process: no await inside."""
    time.sleep(0.05)  # the graph run: CPU, not the event loop's business
    return {"text": text, "thread": threading.current_thread().name,
            "request": REQUEST.get()}


def test_a_coroutine_that_never_waits_is_finished_on_the_calling_thread():
    assert parse_thread.finish(_rasa_like_parse(None, "vat?"))["text"] == "vat?"


def test_a_coroutine_that_waits_is_refused_not_half_run():
    async def waits() -> int:
        await asyncio.sleep(0)
        return 1

    with pytest.raises(RuntimeError, match="cannot run on the parse thread"):
        parse_thread.finish(waits())


def test_the_parse_runs_on_its_thread_with_the_callers_context(monkeypatch):
    monkeypatch.delenv(parse_thread.SWITCH, raising=False)
    processor = SimpleNamespace(http_interpreter=None)

    async def main() -> dict[str, Any]:
        REQUEST.set("conversation-7")
        return await parse_thread.parse(_rasa_like_parse, processor, "vat?")

    result = asyncio.run(main())
    assert result["thread"].startswith("nlu")
    assert result["request"] == "conversation-7"


def _interleaving(monkeypatch: Any, switch: str | None) -> list[str]:
    """What happened, in order, while one message was parsed and another conversation ran."""
    if switch is None:
        monkeypatch.delenv(parse_thread.SWITCH, raising=False)
    else:
        monkeypatch.setenv(parse_thread.SWITCH, switch)
    processor = SimpleNamespace(http_interpreter=None)
    events: list[str] = []

    async def parsed() -> None:
        await parse_thread.parse(_rasa_like_parse, processor, "a")
        events.append("parsed")

    async def other_conversation() -> None:
        for _ in range(3):
            events.append("tick")
            await asyncio.sleep(0.005)

    async def main() -> None:
        await asyncio.gather(parsed(), other_conversation())

    asyncio.run(main())
    return events


def test_the_event_loop_serves_others_while_a_message_is_parsed(monkeypatch):
    # The other conversation's three steps all run during the 50 ms parse...
    assert _interleaving(monkeypatch, None) == ["tick", "tick", "tick", "parsed"]
    # ...which, on the event loop, holds everything else up (what the thread is for).
    assert _interleaving(monkeypatch, "off") == ["parsed", "tick", "tick", "tick"]


def test_parses_never_run_at_the_same_time(monkeypatch):
    monkeypatch.delenv(parse_thread.SWITCH, raising=False)
    processor = SimpleNamespace(http_interpreter=None)
    running = {"now": 0, "most": 0}
    lock = threading.Lock()

    async def parse(processor: Any, text: str) -> str:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        time.sleep(0.01)
        with lock:
            running["now"] -= 1
        return text

    async def main() -> list[str]:
        return await asyncio.gather(*(parse_thread.parse(parse, processor, str(i))
                                      for i in range(8)))

    assert asyncio.run(main()) == [str(i) for i in range(8)]
    assert running["most"] == 1


def test_switched_off_or_with_an_http_interpreter_the_parse_stays_on_the_loop(monkeypatch):
    async def main(processor: Any) -> str:
        return (await parse_thread.parse(_rasa_like_parse, processor, "x"))["thread"]

    loop_thread = threading.current_thread().name
    monkeypatch.setenv(parse_thread.SWITCH, "off")
    assert asyncio.run(main(SimpleNamespace(http_interpreter=None))) == loop_thread
    monkeypatch.delenv(parse_thread.SWITCH)
    assert asyncio.run(main(SimpleNamespace(http_interpreter=object()))) == loop_thread
