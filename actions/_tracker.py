"""What the actions read from a tracker, one way each: the latest intent, the latest text (as
typed and as read), the intent of a stored user event."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def intent_of(event: dict[str, Any]) -> str:
    """The intent name of a serialized user event ('' when it has none)."""
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""


def latest_intent(tracker: Tracker) -> str:
    """The intent of the latest user message ('' before the first one)."""
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


def latest_text(tracker: Tracker) -> str:
    """The text of the latest user message ('' when it has none)."""
    text = (tracker.latest_message or {}).get("text")
    return text if isinstance(text, str) else ""


def person(tracker: Tracker) -> str:
    """Who the latest message is from, for limits keyed on a person: the identity its channel
    verified (WhatsApp number, Telegram chat, the REST client's hashed address), never a
    value the client chose (bot/channels/identity.py)."""
    from bot.channels.identity import person_of

    return person_of(tracker.sender_id, (tracker.latest_message or {}).get("metadata"))


def latest_reading(tracker: Tracker) -> str:
    """The latest message as the model read it: SMS spelling expanded ("ok thank u" -> "ok
    thank you", bot.understanding), else as typed."""
    notes = (tracker.latest_message or {}).get("understanding") or {}
    normalised = notes.get("normalised") if isinstance(notes, dict) else None
    return normalised if isinstance(normalised, str) and normalised else latest_text(tracker)
