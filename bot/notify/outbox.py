"""Sends what `bot.appdb.notifications` recorded, each notification once.

Used by the webhook channel (right after an event is recorded, and every
NOTIFY_RETRY_SECONDS for retries) and by the poller. Any number of these may run at once,
in several replicas and pollers: a row is sent only by the process whose claim took it, and
claimed only by a process with a sender for its channel.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from bot.appdb import notifications as store
from bot.appdb.notifications import FAILED, Outgoing
from bot.notify.base import Delivery, Sender
from bot.notify.text import notice
from bot.notify.web import WebSender
from bot.settings.notify import NotifySettings

logger = logging.getLogger(__name__)


class Notifier:
    """Claims, sends and records notifications through one sender per channel."""

    def __init__(self, senders: Iterable[Sender], config: NotifySettings | None = None) -> None:
        self.senders = {s.channel: s for s in senders}
        self.config = config or store.settings()

    @classmethod
    def from_env(cls) -> Notifier:
        """Senders for the channels configured in the environment (the web one always)."""
        from bot.notify.telegram import TelegramSender
        from bot.notify.whatsapp import WhatsAppSender

        config = store.settings()
        senders: list[Sender] = [WebSender()]
        for sender in (WhatsAppSender.from_env(config.whatsapp_window_hours),
                       TelegramSender.from_env()):
            if sender is not None:
                senders.append(sender)
        return cls(senders, config)

    def deliver(self, ids: Iterable[int]) -> Counter:
        """Send these notifications (those another process took are skipped); counts by
        resulting state."""
        done: Counter = Counter()
        for notification_id in ids:
            state = self._one(notification_id)
            if state is not None:
                done[state] += 1
        return done

    def deliver_due(self, now: datetime | None = None) -> Counter:
        """Mark interrupted sends and expired subscriptions, then send everything due."""
        store.sweep(now)
        return self.deliver(store.due(now, channels=self.senders))

    def _send(self, item: Outgoing) -> tuple[Delivery, str | None]:
        sender = self.senders.get(item.channel)
        if sender is None:
            return Delivery(FAILED, None, f"the {item.channel} channel is not configured"), None
        try:
            words = notice(item.reference, item.status, item.changed_at or store.now_utc())
        except Exception as error:  # knowledge unreadable: keep it for a later try
            logger.exception("notification text unavailable")
            return Delivery(FAILED, None, f"wording unavailable: {type(error).__name__}"), None
        try:
            return sender.send(item.recipient, words, item.last_inbound_at), words.text
        except Exception as error:  # a sender must not raise; if one does, it did not send
            logger.exception("%s sender crashed", item.channel)
            return Delivery(FAILED, None, type(error).__name__), None

    def _one(self, notification_id: int) -> str | None:
        # Only rows this process has a sender for: a poller without WhatsApp settings leaves
        # WhatsApp rows pending for the replicas that have them, without using up attempts.
        item = store.claim(notification_id, self.config, channels=self.senders)
        if item is None:
            return None
        delivery, text = self._send(item)
        state = store.finish(item, delivery.outcome, via=delivery.via, text=text,
                             error=delivery.error, config=self.config)
        if state == store.SENT:
            logger.info("notification %s sent to %s (%s)", item.id, item.channel, delivery.via)
        return state
