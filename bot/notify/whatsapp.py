"""WhatsApp notifications through the same Graph API client as the channel's replies.

Meta lets a business send free text only within 24 hours of the person's last message; after
that only an approved template (name, language and the order of its parameters from
WHATSAPP_NOTIFY_TEMPLATE, _LANGUAGE, _PARAMS; the text to submit is in docs/whatsapp.md).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.channels.identity import native_id
from bot.notify.base import Delivery, Notice, Sender
from bot.settings.credentials import whatsapp_settings
from bot.settings.notify import TemplateSettings, template_settings


class WhatsAppSender(Sender):
    channel = "whatsapp"

    def __init__(self, client: Any, template: TemplateSettings | None = None,
                 window: timedelta = timedelta(hours=24)) -> None:
        """`client`: a bot.channels.whatsapp.GraphApiClient (anything with `deliver`)."""
        self.client = client
        self.template = template or TemplateSettings()
        self.window = window

    @classmethod
    def from_env(cls, window_hours: float = 24.0) -> WhatsAppSender | None:
        """Inside the Rasa server, the WhatsApp channel's own client (its credentials.yml
        settings, else the environment); elsewhere (the poller) one from the same settings,
        `whatsapp_settings`. None when WhatsApp is not configured."""
        from bot.channels.whatsapp.webhook import DEFAULT_API_URL, active_client

        client = active_client()
        if client is None:
            values, missing = whatsapp_settings({}, os.environ)
            if missing:
                return None
            from bot.channels.whatsapp.graph_api import GraphApiClient

            client = GraphApiClient(values["api_url"] or DEFAULT_API_URL,
                                    values["phone_number_id"], values["access_token"])
        return cls(client, template_settings(), timedelta(hours=window_hours))

    def payload(self, recipient: str, notice: Notice, last_inbound_at: datetime,
                now: datetime | None = None) -> dict[str, Any]:
        """A text message inside the 24-hour window, the template outside it."""
        now = now or datetime.now(timezone.utc)
        base = {"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": native_id(recipient, "whatsapp")}
        if now - last_inbound_at < self.window:
            return {**base, "type": "text", "text": {"preview_url": False, "body": notice.text}}
        parameters = [{"type": "text", "text": notice.fields[name]}
                      for name in self.template.params]
        return {**base, "type": "template", "template": {
            "name": self.template.name, "language": {"code": self.template.language},
            "components": [{"type": "body", "parameters": parameters}]}}

    def send(self, recipient: str, notice: Notice, last_inbound_at: datetime) -> Delivery:
        payload = self.payload(recipient, notice, last_inbound_at)
        outcome, reason = self.client.deliver(payload)
        return Delivery(outcome, payload["type"], reason)
