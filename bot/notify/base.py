"""What every notification sender does, whichever channel it speaks (the interface only)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from bot.appdb.notifications import FAILED, SENT, UNCERTAIN

__all__ = ["FAILED", "SENT", "UNCERTAIN", "Delivery", "Notice", "Sender"]


@dataclass(frozen=True)
class Notice:
    """One notification as words: the full text, and its parts for a WhatsApp template."""

    text: str
    fields: dict[str, str]  # reference, status, next, action, date (bot.settings.notify)


@dataclass(frozen=True)
class Delivery:
    """The outcome of one send: `sent`, `failed` (surely not delivered: retried later) or
    `uncertain` (may have been delivered: never repeated); how (`text`, `template`)."""

    outcome: str
    via: str | None = None
    error: str = ""


class Sender(ABC):
    """Sends one notice to one recipient of its channel. Never raises: a failure is a
    `Delivery` with outcome `failed`, so the outbox can retry it."""

    channel: str = "abstract"

    @abstractmethod
    def send(self, recipient: str, notice: Notice, last_inbound_at: datetime) -> Delivery:
        """Deliver `notice` to `recipient` (a conversation id of this channel).

        `last_inbound_at` is when the person last wrote to us (WhatsApp only allows free text
        within 24 hours of it)."""
