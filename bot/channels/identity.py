"""One identity per channel: a conversation id is namespaced by the channel that verified it.

WhatsApp numbers and Telegram chat ids are verified by their platforms (a signed webhook, a
secret header); a REST client names its own `sender`. So WhatsApp and Telegram conversations
are kept as `whatsapp:<number>` and `telegram:<chat id>`, and the REST channel refuses those
prefixes: whatever `sender` a REST client sends, it can never address (continue, fill in, or
use up the lookup and ticket limits of) a WhatsApp or Telegram user's conversation.
"""

from __future__ import annotations

VERIFIED_CHANNELS = ("whatsapp", "telegram")


def conversation_id(channel: str, native_id: object) -> str:
    """The conversation id for a user the channel `channel` verified."""
    return f"{channel}:{native_id}"


def native_id(conversation: str, channel: str) -> str:
    """The platform's own id (phone number, chat id) behind a conversation id."""
    prefix = f"{channel}:"
    return conversation[len(prefix):] if conversation.startswith(prefix) else conversation


def is_reserved(sender: str) -> bool:
    """Whether a client-chosen sender id claims a verified channel's namespace."""
    return sender.lower().startswith(tuple(f"{c}:" for c in VERIFIED_CHANNELS))
