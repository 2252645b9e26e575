"""One user turn, run so that a failure is noticed and the user is told, on every channel.

Rasa 3.6 swallows a failed custom action (it logs it and answers nothing), so without this a
user whose message hit a broken action server or database would get silence. Channels run each
turn through `run_turn`, and send `technical_problem_text()` when it reports a failure.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.channels.text import clean_message, holdable
from bot.metrics import outcomes
from bot.metrics import registry as metrics
from bot.patches.replay import ReusedMessageId

logger = logging.getLogger(__name__)

TECHNICAL_PROBLEM = (
    "Sorry, I can't answer that right now because of a technical problem on our side. "
    "Please try again in a few minutes."
)
# Rasa logs (and swallows) a failed custom action with this text; see `_ActionFailureFilter`.
ACTION_FAILURE_LOG = "Encountered an exception while running action"

_turn_failures: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "turn_failures", default=None)


class _ActionFailureFilter(logging.Filter):
    """Notes, for the turn being answered, that Rasa swallowed a failed custom action.

    Rasa 3.6 logs the failure and carries on without the action's events, so the user would
    get no answer at all; the channel reads the note and says there is a technical problem.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        failures = _turn_failures.get()
        if failures is not None and ACTION_FAILURE_LOG in str(record.msg):
            failures.append(record.getMessage()[:200])
        return True


def install_failure_filter() -> None:
    """Watch Rasa's processor log for swallowed action failures (idempotent)."""
    target = logging.getLogger("rasa.core.processor")
    if not any(isinstance(f, _ActionFailureFilter) for f in target.filters):
        target.addFilter(_ActionFailureFilter())


def technical_problem_text() -> str:
    """The apology, with the contact centre from the knowledge base when it can be read."""
    try:
        from bot.content.live import get_knowledge

        kb = get_knowledge()
        text = kb.message("technical_problem")
        if text:
            return text
        contact = kb.message("handoff")
        return f"{TECHNICAL_PROBLEM} {contact}".strip()
    except Exception:  # the apology must not fail too
        logger.exception("knowledge base unavailable for the technical-problem reply")
        return TECHNICAL_PROBLEM


async def run_turn(on_new_message: Callable[[Any], Awaitable[Any]], message: Any,
                   timeout: float | None) -> bool:
    """Handle one message; True when it failed (an action failed, it raised, or timed out).
    A message id reused for other words raises `ReusedMessageId` (the channel refuses it).

    Every turn is counted here, once, for /metrics: the message by channel, its time, and what
    became of it (bot/metrics/outcomes.py) or why it failed."""
    install_failure_filter()
    typed = getattr(message, "text", None)
    if isinstance(typed, str):
        message.text = clean_message(typed)  # "\ud800" fails the tokenizer
        if typed.strip() and not message.text.strip():
            # nothing a person types is left ("\x07"): the model reads "" as "yes"
            return await _ask_again(message)
    if not holdable(str(getattr(message, "sender_id", ""))):
        # the stores cannot hold its rows (a NUL, a lone surrogate): never read or written
        logger.error("a message to an unholdable conversation id was refused")
        _count(message, 0.0, "error", [])
        return True
    failures: list[str] = []
    token = _turn_failures.set(failures)
    noted, outcome_token = outcomes.begin()
    started = time.perf_counter()
    failure: str | None = None
    refused = False
    try:
        await asyncio.wait_for(on_new_message(message), timeout or None)
        failure = "failed_action" if failures else None
    except ReusedMessageId:
        refused = True
        raise  # the client's mistake, refused by its channel: no turn ran, none is counted
    except asyncio.TimeoutError:
        logger.error("turn of %s took over %ss and was stopped", message.sender_id, timeout)
        failure = "timeout"
    except Exception:
        logger.exception("turn of %s failed", message.sender_id)
        failure = "error"
    finally:
        _turn_failures.reset(token)
        outcomes.end(outcome_token)
        if not refused:
            _count(message, time.perf_counter() - started, failure, noted)
    return failure is not None


async def _ask_again(message: Any) -> bool:
    """Reply to a message with nothing left to read: ask for the question in words."""
    try:
        from bot.content.live import get_knowledge

        text = get_knowledge().message("something_else")
        await message.output_channel.send_text_message(message.sender_id, text)
    except Exception:
        logger.exception("could not ask %s to type the question again", message.sender_id)
        return True
    _count(message, 0.0, None, [])
    return False


def _count(message: Any, seconds: float, failure: str | None, noted: list[str]) -> None:
    try:
        channel = metrics.channel_label(getattr(message, "input_channel", None))
        metrics.MESSAGES.labels(channel).inc()
        metrics.TURN_SECONDS.labels(channel).observe(seconds)
        if failure:
            metrics.TURN_FAILURES.labels(failure).inc()
        outcome = outcomes.FAILED if failure else (noted[-1] if noted else outcomes.OTHER)
        metrics.OUTCOMES.labels(outcome).inc()
    except Exception:  # counting must never cost a user an answer (e.g. a full disk)
        logger.exception("could not count the turn of %s", message.sender_id)
