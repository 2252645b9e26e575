"""Telegram notifications: one Bot API `sendMessage` to the chat (TELEGRAM_API_URL, token)."""

from __future__ import annotations

import logging
import os
from datetime import datetime

import requests

from bot.channels.identity import native_id
from bot.notify.base import FAILED, SENT, UNCERTAIN, Delivery, Notice, Sender
from bot.retrying import retrying_session
from bot.settings.credentials import telegram_settings

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org"
RETRY_STATUS = frozenset({429, *range(500, 600)})


class TelegramSender(Sender):
    channel = "telegram"

    def __init__(self, access_token: str, api_url: str = DEFAULT_API_URL,
                 timeout: float = 10.0, retries: int = 2, backoff: float = 0.5) -> None:
        self._url = f"{api_url.rstrip('/')}/bot{access_token}/sendMessage"
        self.timeout = timeout
        self._session = retrying_session(retries, backoff, statuses=RETRY_STATUS,
                                         label="Telegram send")

    @classmethod
    def from_env(cls) -> TelegramSender | None:
        """None without TELEGRAM_ACCESS_TOKEN (settings declared in bot/settings/credentials)."""
        values = telegram_settings({}, os.environ)
        if not values["access_token"]:
            return None
        return cls(values["access_token"], values["api_url"] or DEFAULT_API_URL)

    def send(self, recipient: str, notice: Notice, last_inbound_at: datetime) -> Delivery:
        body = {"chat_id": native_id(recipient, "telegram"), "text": notice.text}
        try:
            reply = self._session.post(self._url, json=body, timeout=self.timeout)
        except requests.ReadTimeout:
            return Delivery(UNCERTAIN, "text", "read timeout")
        except requests.RequestException as error:
            # The type only: the URL carries the bot token.
            return Delivery(FAILED, "text", type(error).__name__)
        if reply.status_code < 300:
            return Delivery(SENT, "text")
        return Delivery(FAILED, "text", f"HTTP {reply.status_code}")
