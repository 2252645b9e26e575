"""Notes what became of each user message, for /metrics (bot/metrics/outcomes.py).

Rasa has no hook after a turn's actions have run, and the channel that counts the turn only
sees the replies. `MessageProcessor._run_prediction_loop` is wrapped: once the actions of the
turn have run, its events (back to the user's message, a handful) are read and the outcome is
noted for the channel's `run_turn`. Nothing is read from the store and nothing is changed.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.metrics import outcomes

logger = logging.getLogger(__name__)


def turn_events(tracker: Any) -> list[dict[str, Any]]:
    """The turn's events, newest first, in rasa-sdk form, back to the user's message."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, UserUttered

    turn: list[dict[str, Any]] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            turn.append({"event": "user", "parse_data": {"intent": event.intent or {}}})
            break
        if isinstance(event, ActionExecuted):
            turn.append({"event": "action", "name": event.action_name})
        elif isinstance(event, ActiveLoop):
            turn.append({"event": "active_loop", "name": event.name})
        elif isinstance(event, BotUttered):
            turn.append({"event": "bot", "data": event.data or {}})
    return turn


async def _run_prediction_loop(self: Any, output_channel: Any, tracker: Any) -> None:
    """Rasa's prediction loop, then the turn's outcome noted for the channel."""
    await _original()(self, output_channel, tracker)
    try:
        outcomes.note(outcomes.classify(turn_events(tracker)))
    except Exception:  # counting must never cost a user an answer
        logger.exception("could not classify the turn of %s", tracker.sender_id)


def install() -> None:
    """Wrap the processor's prediction loop (bot.patches.install() calls this once)."""
    from rasa.core.processor import MessageProcessor

    from bot.patches import replace

    replace(MessageProcessor, "_run_prediction_loop", _run_prediction_loop)


def _original() -> Any:
    from bot.patches import ORIGINALS

    return ORIGINALS["MessageProcessor._run_prediction_loop"]
