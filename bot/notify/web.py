"""The web widget's notifications: kept in the outbox row itself, which the widget reads
(`GET /webhooks/rest/notifications`, bot/channels/rest.py) when it opens and while it is open.
"Sent" means "ready to be shown"; nothing leaves the server until the widget asks."""

from __future__ import annotations

from datetime import datetime

from bot.notify.base import SENT, Delivery, Notice, Sender


class WebSender(Sender):
    channel = "web"

    def send(self, recipient: str, notice: Notice, last_inbound_at: datetime) -> Delivery:
        return Delivery(SENT, "inbox")
