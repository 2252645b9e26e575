"""A message sent twice is answered once: replies are replayed for a message id already stored.

A phone on a bad network, a proxy that retries, or a user who presses "send again" after a
server died mid-request sends the same message twice. Without care the conversation gets it
twice: two user events, two answers, a form slot filled twice. Clients of the REST channel may
give each message a `message_id` (the web widget does, and reuses it when it retries); Rasa
stores it in the user event. When a message arrives whose id the conversation already holds,
the bot does not run the turn again: it sends back the answers stored after that message.

The check runs inside `MessageProcessor.handle_message`, i.e. under the conversation's lock
(the Redis lock store across replicas), so two copies arriving at two servers at once are still
answered once. Only messages marked by the channel (`replay_if_seen`) are checked, so other
channels pay nothing. The conversation read for the check is handed to the turn that follows
(`take_prefetched`, used by bot/stores/tracker_store.py), so a new message is not read twice.

An id the conversation holds for other words is a client's mistake (a counter reset after a
reinstall, two tabs sharing one): answering it with the old message's replies would answer a
question that was not asked, and running it would store two messages under one id. The turn is
refused instead (`ReusedMessageId`; the REST channel answers 409). The stored words are
compared as the store keeps them: TPINs masked (bot/privacy.py).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import redact_tpins

logger = logging.getLogger(__name__)

MARK = "replay_if_seen"

# The conversation just read for the check, for the turn of the same task to use once.
_prefetched: ContextVar[tuple[str, DialogueStateTracker] | None] = ContextVar(
    "idempotency_prefetched", default=None)


def take_prefetched(sender_id: str) -> DialogueStateTracker | None:
    """The tracker read by the repeat check of this turn, once; None otherwise."""
    value = _prefetched.get()
    if value is None or value[0] != sender_id:
        return None
    _prefetched.set(None)
    return value[1]


class ReusedMessageId(Exception):
    """The conversation already holds this message id for a message with other words."""


def _same_words(stored: str | None, text: str | None) -> bool:
    if text is None:
        return True  # nothing to compare (not a typed message)
    return stored in (text, redact_tpins(text))


def earlier_replies(tracker: DialogueStateTracker | None, message_id: str,
                    text: str | None = None) -> list[dict[str, Any]] | None:
    """The bot messages that answered the user message with this id, or None if it was not
    stored or got no answer (then it is better run again than answered with silence). The
    answers are the bot events after it, up to the next user message. Raises
    `ReusedMessageId` when `text` is given and the stored message with the id had other words."""
    if tracker is None:
        return None
    replies: list[dict[str, Any]] | None = None
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if event.message_id == message_id:
                if not _same_words(event.text, text):
                    raise ReusedMessageId(message_id)
                replies = []
        elif replies is not None and isinstance(event, BotUttered):
            replies.append({"text": event.text, **{k: v for k, v in (event.data or {}).items()
                                                   if v is not None}})
    return replies or None


async def _handle_message(self: Any, message: Any) -> list[dict[str, Any]] | None:
    """`MessageProcessor.handle_message`, answering a repeated message from the store."""
    if getattr(message, MARK, False) and message.message_id:
        tracker = await self.tracker_store.retrieve(message.sender_id)
        replies = earlier_replies(tracker, message.message_id, getattr(message, "text", None))
        if replies is not None:
            logger.info("Message %s of %s was already answered: replaying %d replies.",
                        message.message_id, message.sender_id, len(replies))
            for reply in replies:
                await message.output_channel.send_response(message.sender_id, reply)
            return getattr(message.output_channel, "messages", None)
        if tracker is not None:
            token = _prefetched.set((message.sender_id, tracker))
            try:
                return await _original_handle_message()(self, message)
            finally:
                _prefetched.reset(token)
    return await _original_handle_message()(self, message)



def install() -> None:
    """Patch Rasa's processor (bot.patches.install() calls this once)."""
    from rasa.core.processor import MessageProcessor

    from bot.patches import replace

    replace(MessageProcessor, "handle_message", _handle_message)


def _original_handle_message() -> Any:
    from bot.patches import ORIGINALS

    return ORIGINALS["MessageProcessor.handle_message"]
