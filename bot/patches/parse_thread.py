"""The model's parse of a message runs on one thread of its own, not on the server's event loop.

Rasa runs the NLU graph inside the event loop: while one message is featurized and classified
(about 5 ms, half of it the sentence encoder, which releases the GIL), no other conversation's
reply is sent, no tracker is read and no action server answer is taken in. Run on a thread of
its own, the parse overlaps with that work on the second core. One thread per server process:
parses never run at the same time as each other (the encoder and the featurizers are used as
Rasa uses them, one at a time), and the policies, which share no graph node with the NLU
(config.yml has only RulePolicy), keep running on the event loop.

`NLU_THREAD=off` parses on the event loop, as stock Rasa does (`make bench` can compare).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
SWITCH = "NLU_THREAD"
_executor: dict[str, ThreadPoolExecutor] = {}


def enabled() -> bool:
    """False with NLU_THREAD=off (read at each call, so a test can switch it)."""
    return (os.environ.get(SWITCH) or "").strip().lower() not in ("off", "0", "false", "no")


def _pool() -> ThreadPoolExecutor:
    pool = _executor.get("nlu")
    if pool is None:
        pool = _executor.setdefault("nlu", ThreadPoolExecutor(1, thread_name_prefix="nlu"))
    return pool


async def run(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` on the parse thread, with the caller's context variables."""
    if not enabled():
        return function(*args)
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        _pool(), lambda: context.run(function, *args))


def finish(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never waits (Rasa's `parse_message` with the model in
    the process: its only work is the graph run), driven to its end on this thread."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("parse_message waited for something: it cannot run on the parse thread")


async def parse(original: Callable[..., Coroutine[Any, Any, T]], processor: Any,
                *args: Any) -> T:
    """Rasa's `parse_message(processor, *args)` on the parse thread when the model is in this
    process; on the event loop when an HTTP interpreter parses (that one waits on the network)."""
    if processor.http_interpreter is not None or not enabled():
        return await original(processor, *args)
    return await run(lambda: finish(original(processor, *args)))
