"""Telegram, guarded: same name (`telegram`) and URL (`/webhooks/telegram/webhook`) as Rasa's
`TelegramInput`, with two differences that matter.

- Rasa's connector accepts any POST as an update from Telegram (it only asks Telegram for the
  bot's own name, on every update). Here the webhook is registered with a `secret_token`, and
  an update without the matching `X-Telegram-Bot-Api-Secret-Token` header gets 403 and is not
  run. The secret is `secret_token` from the credentials (TELEGRAM_SECRET_TOKEN) or derived
  from the bot token with HMAC, so every replica computes the same one without configuration.
- Rasa's connector sets the webhook synchronously while the server builds its channels; when
  Telegram's API is unreachable the whole server exits ("Failed to set channel webhook"),
  taking REST, the widget and WhatsApp down too. Here the server starts, and the webhook is set
  in the background, retried with a growing delay until Telegram accepts it.
- Rasa's connector runs an update as often as Telegram delivers it, and Telegram delivers it
  again when the webhook did not answer in time. Here an `update_id` seen in the last
  `dedup_ttl_seconds` is acknowledged and not run: WhatsApp's duplicate filter
  (bot/channels/dedup.py), in memory, or in Redis shared by the replicas when
  `dedup_redis_url` (TELEGRAM_DEDUP_REDIS_URL) is set.

`api_url` (TELEGRAM_API_URL, default https://api.telegram.org) points the aiogram client at
another Bot API server: a local Bot API server, or a fake one in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.bot.api import TelegramAPIServer
from aiogram.types import Update
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.constants import USER_INTENT_RESTART
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.dedup import SeenMessages
from bot.channels.identity import conversation_id, native_id
from bot.channels.inbound import note_inbound
from bot.channels.turns import run_turn, technical_problem_text
from bot.metrics import registry as metrics
from bot.settings.credentials import telegram_settings
from bot.settings.env import env_number, from_env
from bot.settings.rest import RestLimits

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_RETRY_SECONDS = 1.0
# The longest wait between two attempts to set the webhook (TELEGRAM_WEBHOOK_RETRY_MAX_SECONDS).
MAX_RETRY_SECONDS = 300.0
# How long an update id is remembered (Telegram stops re-delivering well within a day).
DEDUP_TTL_SECONDS = 86400.0


def derived_secret(access_token: str) -> str:
    """The webhook secret for a bot token: HMAC-SHA256, hex (Telegram allows [A-Za-z0-9_-]).

    Derived, so replicas agree without another variable; one-way, so the header never reveals
    the bot token."""
    return hmac.new(access_token.encode(), b"customs-assistant telegram webhook",
                    hashlib.sha256).hexdigest()


class GuardedTelegramOutput(TelegramOutput):
    """Rasa's Telegram output on a configurable Bot API server."""

    def __init__(self, access_token: str, api_url: str = DEFAULT_API_URL) -> None:
        # TelegramOutput.__init__ takes the token only; aiogram's Bot takes the server.
        super(TelegramOutput, self).__init__(access_token,
                                             server=TelegramAPIServer.from_base(api_url))

    # Conversations are `telegram:<chat id>` (bot.channels.identity); Telegram wants the chat id.
    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await super().send_text_message(native_id(str(recipient_id), "telegram"), text, **kwargs)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await super().send_image_url(native_id(str(recipient_id), "telegram"), image, **kwargs)

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        await super().send_text_with_buttons(native_id(str(recipient_id), "telegram"), text,
                                             buttons, **kwargs)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        await super().send_custom_json(native_id(str(recipient_id), "telegram"), json_message,
                                       **kwargs)


class GuardedTelegramInput(TelegramInput):
    """Telegram updates only with the webhook's secret; starts whether or not Telegram answers."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GuardedTelegramInput:
        if not credentials:
            cls.raise_missing_credentials_exception()
        settings = telegram_settings(credentials, os.environ)  # each declared once there
        return cls(credentials.get("access_token"), credentials.get("verify"),
                   credentials.get("webhook_url"),
                   api_url=settings["api_url"] or DEFAULT_API_URL,
                   secret_token=settings["secret_token"] or None,
                   retry_max_seconds=env_number("TELEGRAM_WEBHOOK_RETRY_MAX_SECONDS",
                                                MAX_RETRY_SECONDS, minimum=FIRST_RETRY_SECONDS),
                   dedup_redis_url=settings["dedup_redis_url"],
                   # below a second the filter would forget a repeat before it arrives
                   dedup_ttl_seconds=max(1.0, float(credentials.get("dedup_ttl_seconds")
                                                    or DEDUP_TTL_SECONDS)))

    def __init__(self, access_token: str | None, verify: str | None, webhook_url: str | None,
                 debug_mode: bool = False, api_url: str = DEFAULT_API_URL,
                 secret_token: str | None = None,
                 retry_max_seconds: float = MAX_RETRY_SECONDS, dedup_redis_url: str = "",
                 dedup_ttl_seconds: float = DEDUP_TTL_SECONDS) -> None:
        if not access_token:
            # The derived secret would be a constant anyone can compute.
            raise ValueError("the Telegram channel needs its access token (TELEGRAM_ACCESS_TOKEN)")
        super().__init__(access_token, verify, webhook_url, debug_mode=debug_mode)
        self.api_url = api_url.rstrip("/")
        self.secret_token = secret_token or derived_secret(access_token)
        self.retry_max_seconds = retry_max_seconds
        self.reply_timeout = from_env(RestLimits, os.environ).reply_timeout_seconds or None
        self._task: asyncio.Task | None = None
        # Update ids count per bot: the bot's id (the token's public part) keeps two bots
        # sharing one Redis apart.
        self.seen = SeenMessages(ttl=dedup_ttl_seconds, redis_url=dedup_redis_url,
                                 namespace=f"telegram:{access_token.split(':', 1)[0]}")

    def get_output_channel(self) -> GuardedTelegramOutput:
        """The output channel, without touching the network (the webhook is set later)."""
        return GuardedTelegramOutput(self.access_token, self.api_url)

    async def set_webhook(self, out_channel: GuardedTelegramOutput) -> None:
        """Register the webhook with its secret; retry (1 s, 2 s, ... up to
        `retry_max_seconds`) until Telegram accepts it."""
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                ok = await out_channel.request("setWebhook", {
                    "url": self.webhook_url, "secret_token": self.secret_token})
                if ok:
                    logger.info("Telegram webhook set to %s", self.webhook_url)
                    return
                reason = "Telegram answered false"
            except asyncio.CancelledError:
                raise
            except Exception as error:  # unreachable, refused, 5xx: keep serving, try again
                # The type only: aiogram's messages carry the URL, and the URL the bot token.
                reason = type(error).__name__
            logger.warning("could not set the Telegram webhook (%s); retrying in %.0f s",
                           reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max_seconds)

    def _text_and_chat(self, update: Update) -> tuple[str | None, Any]:
        if self._is_button(update):
            return update.callback_query.data, update.callback_query.message
        if self._is_edited_message(update):
            return update.edited_message.text, update.edited_message
        msg = update.message
        if msg is None:
            return None, None
        if self._is_user_message(msg):
            return msg.text.replace("/bot", ""), msg
        if self._is_location(msg):
            return json.dumps({"lng": msg.location.longitude, "lat": msg.location.latitude}), msg
        return None, msg

    @staticmethod
    async def _apologise(out_channel: GuardedTelegramOutput, chat_id: Any) -> None:
        """The technical-problem reply; when Telegram cannot be reached either, only a log
        line (a 5xx would make Telegram deliver the update again and run the turn twice)."""
        try:
            await out_channel.send_text_message(chat_id, technical_problem_text())
        except Exception as error:
            # The type only: aiogram's messages carry the URL, and the URL the bot token.
            logger.error("could not send the technical-problem reply to Telegram (%s)",
                         type(error).__name__)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        telegram_webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        out_channel = self.get_output_channel()

        @telegram_webhook.listener("after_server_start")
        async def start_setting_webhook(app: Any, loop: Any) -> None:
            self._task = loop.create_task(self.set_webhook(out_channel))

        @telegram_webhook.listener("before_server_stop")
        async def stop_setting_webhook(app: Any, loop: Any) -> None:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            presented = (request.headers.get(SECRET_HEADER) or "").encode("utf-8", "replace")
            if not hmac.compare_digest(presented, self.secret_token.encode()):
                logger.warning("refused a Telegram update without the webhook's secret")
                metrics.REFUSED.labels(self.name(), "bad_secret").inc()
                return response.json({"error": "forbidden"}, status=403)
            try:
                update = Update(**(request.json or {}))
                text, msg = self._text_and_chat(update)
                chat_id = msg.chat.id if msg is not None and msg.chat is not None else None
            except Exception:  # not an update Telegram would send
                metrics.REFUSED.labels(self.name(), "invalid_update").inc()
                return response.json({"error": "invalid_update"}, status=400)
            if text is None or chat_id is None:
                return response.text("success")  # stickers, photos, ...: nothing to answer
            if update.update_id is not None and not await self.seen.first_time(
                    str(update.update_id)):
                logger.info("Duplicate Telegram update %s ignored", update.update_id)
                return response.text("success")
            metadata = self.get_metadata(request)
            note_inbound(conversation_id("telegram", chat_id))
            texts = ([text, "/start"] if text == INTENT_MESSAGE_PREFIX + USER_INTENT_RESTART
                     else [text])
            for one in texts:
                # The same guard as every channel: a failed action or a turn over the reply
                # timeout gets the apology instead of silence.
                message = UserMessage(one, out_channel, conversation_id("telegram", chat_id),
                                      input_channel=self.name(), metadata=metadata)
                if await run_turn(on_new_message, message, self.reply_timeout):
                    await self._apologise(out_channel, chat_id)
            return response.text("success")

        return telegram_webhook
