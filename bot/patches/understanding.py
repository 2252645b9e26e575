"""Rasa's `MessageProcessor.parse_message` with `bot.understanding` around it.

`parse_message` is where Rasa has both the message and the conversation: the model's parse of
each reading is Rasa's own (the original function); what the conversation adds (the entry
answered last, an open form) is read from the tracker here. `CUSTOMS_UNDERSTANDING=off` serves
the model's parse alone (`make eval` measures both).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.names import ANSWER_ACTION, INTENT_PREFIX

logger = logging.getLogger(__name__)


def recent_turns(tracker: Any) -> list[tuple[str, str | None]]:
    """The session's latest user messages (at most CONTEXT_TURNS), oldest first, each with the
    knowledge entry answered to it (the last of two; None when no entry was answered)."""
    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered

    from bot.understanding.context import CONTEXT_TURNS

    turns: list[tuple[str, str | None]] = []
    if tracker is None:
        return turns
    answered = False
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted) or len(turns) >= CONTEXT_TURNS:
            break
        if isinstance(event, ActionExecuted) and event.action_name == ANSWER_ACTION:
            answered = True
        elif isinstance(event, UserUttered):
            entry = None
            if answered:
                compound = event.parse_data.get("compound") or []
                name = compound[-1] if compound else (event.intent or {}).get("name") or ""
                entry = name[len(INTENT_PREFIX):] if name.startswith(INTENT_PREFIX) else None
            turns.append((event.text or "", entry))
            answered = False
    return turns[::-1]


async def _parse_message(self: Any, message: Any, tracker: Any = None,
                         only_output_properties: bool = True) -> dict[str, Any]:
    from rasa.core.channels.channel import UserMessage

    from bot.patches import ORIGINALS
    from bot.understanding import build, enabled, forms

    original = ORIGINALS["MessageProcessor.parse_message"]
    text = message.text
    if (not isinstance(text, str) or not text.strip() or text.startswith("/")
            or not enabled()):
        return await original(self, message, tracker, only_output_properties)

    async def parse(reading: str) -> dict[str, Any]:
        copy = UserMessage(reading, None, message.sender_id, None, message.input_channel,
                           message.message_id, message.metadata)
        return await original(self, copy, tracker, only_output_properties)

    in_form = bool(tracker is not None and tracker.active_loop_name)
    context = build.context_from(recent_turns(tracker), in_form)
    result = await build.current()(text, parse, context)
    if in_form:
        # "forget it, I'll go to the office": leave the form (bot.understanding.forms).
        reading = (result.get("understanding") or {}).get("normalised") or text
        result = await forms.leaving(result, reading, parse)
    return result


def install() -> None:
    """Patch Rasa's processor (bot.patches.install() calls this once)."""
    from rasa.core.processor import MessageProcessor

    from bot.patches import replace

    if replace(MessageProcessor, "parse_message", _parse_message):
        _prepare()


def _prepare() -> None:
    """Build the speller and the language detector at start-up (about a second), not in the
    first person's turn."""
    from bot.understanding import build

    try:
        build.current()
    except Exception:  # the knowledge base unreadable: the first message will say why
        logger.exception("could not prepare the understanding of messages at start-up")
