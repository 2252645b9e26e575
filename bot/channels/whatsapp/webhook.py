"""The input channel: Meta's webhook (GET handshake, POST signed notifications).

Meta wants a 200 within seconds and re-delivers otherwise, so a verified POST is answered at
once and its messages are handled in background tasks. Every setting may come from the
channel's credentials or, when left out there, from the environment (bot/settings/credentials.py
declares them).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.dedup import SeenMessages
from bot.channels.identity import conversation_id
from bot.channels.inbound import note_inbound
from bot.channels.turns import run_turn, technical_problem_text
from bot.channels.whatsapp.formatting import TEXT_LIMIT
from bot.channels.whatsapp.graph_api import GraphApiClient
from bot.channels.whatsapp.output import WhatsAppOutput
from bot.metrics import registry as metrics
from bot.patches.slow_clients import BodyRefused, read_streamed_body
from bot.settings.credentials import whatsapp_settings
from bot.settings.env import from_env
from bot.settings.rest import RestLimits

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://graph.facebook.com/v19.0"
# Meta documents webhook payloads of up to 3 MB; anything larger is not from Meta.
DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024
# The client of the channel built last in this process: status notifications sent from the
# Rasa server (bot/notify/whatsapp.py) go through it, with the channel's own settings.
_active_client: GraphApiClient | None = None


def active_client() -> GraphApiClient | None:
    """The Graph API client of this process's WhatsApp channel, if one was built."""
    return _active_client


DEFAULT_UNSUPPORTED_TEXT = (
    "Sorry, I can read text messages only. Please type your question in a few words."
)

SUPPORTED_TYPES = {"text", "interactive", "button"}
# Not worth a reply: reactions, "user changed number" notices, welcome requests.
SILENT_TYPES = {"reaction", "system", "request_welcome", "ephemeral"}

# Optional credentials keys, passed on to __init__ as they are.
OPTIONS = (
    "max_body_bytes",
    "dedup_ttl_seconds",
    "unsupported_text",
    "timeout",
    "retries",
    "retry_backoff",
    "list_button_label",
)


def verify_signature(app_secret: str, body: bytes, header: str | None) -> bool:
    """Check ``X-Hub-Signature-256`` (``sha256=`` + hex HMAC of the raw body), constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first_string(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value
    return None


def incoming_text(message: Mapping[str, Any]) -> str | None:
    """The text Rasa should see for a supported message, else None."""
    kind = message.get("type")
    if kind == "text":
        return _first_string(_obj(message.get("text")).get("body"))
    if kind == "interactive":  # button_reply or list_reply: the id carries our payload
        interactive = _obj(message.get("interactive"))
        reply = _obj(interactive.get(str(interactive.get("type"))))
        return _first_string(reply.get("id"), reply.get("title"))
    if kind == "button":  # quick-reply button of a template message
        button = _obj(message.get("button"))
        return _first_string(button.get("payload"), button.get("text"))
    return None


class WhatsAppInput(InputChannel):
    """Receives WhatsApp Cloud API webhooks and hands text to Rasa."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WhatsAppInput:
        credentials = credentials or {}
        values, missing = whatsapp_settings(credentials, os.environ)
        if missing:
            raise RasaException(
                "The WhatsApp channel needs these settings (credentials.yml or environment): "
                + ", ".join(missing)
            )
        options = {key: credentials[key] for key in OPTIONS
                   if credentials.get(key) not in (None, "")}
        # The same setting as the REST channel's, read here (not at import) so that a bad
        # value stops the server with a sentence naming the variable, as it does for REST.
        reply_timeout = from_env(RestLimits, os.environ).reply_timeout_seconds
        return cls(
            verify_token=values["verify_token"],
            app_secret=values["app_secret"],
            access_token=values["access_token"],
            phone_number_id=values["phone_number_id"],
            api_url=values["api_url"] or DEFAULT_API_URL,
            dedup_redis_url=values["dedup_redis_url"],
            reply_timeout_seconds=reply_timeout,
            **options,
        )

    def __init__(
        self,
        verify_token: str,
        app_secret: str,
        access_token: str,
        phone_number_id: str,
        api_url: str = DEFAULT_API_URL,
        dedup_redis_url: str = "",
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        dedup_ttl_seconds: float = 86400,
        unsupported_text: str = DEFAULT_UNSUPPORTED_TEXT,
        timeout: float = 10.0,
        retries: int = 2,
        retry_backoff: float = 0.5,
        list_button_label: str = "Choose",
        reply_timeout_seconds: float = RestLimits.reply_timeout_seconds,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", phone_number_id):
            raise RasaException("WHATSAPP_PHONE_NUMBER_ID must be the numeric phone number id")
        if not re.match(r"https?://", api_url):
            raise RasaException("WHATSAPP_API_URL must be an http(s) URL")
        self.verify_token = verify_token
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.max_body_bytes = int(max_body_bytes)
        self.unsupported_text = unsupported_text
        self.client = GraphApiClient(
            api_url,
            phone_number_id,
            access_token,
            float(timeout),
            int(retries),
            float(retry_backoff),
        )
        global _active_client
        _active_client = self.client
        self.list_button_label = list_button_label
        # A turn longer than this gets the technical-problem apology.
        self.reply_timeout_seconds = float(reply_timeout_seconds)
        self.seen = SeenMessages(ttl=float(dedup_ttl_seconds), redis_url=dedup_redis_url)
        self._tasks: set[asyncio.Task] = set()

    def get_output_channel(self) -> WhatsAppOutput:
        return WhatsAppOutput(self.client, self.list_button_label)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("whatsapp_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            challenge = request.args.get("hub.challenge") or ""
            if request.args.get("hub.mode") != "subscribe" or not hmac.compare_digest(
                token.encode(), self.verify_token.encode()
            ):
                logger.warning("WhatsApp webhook verification refused: wrong token or mode")
                return _refused("forbidden", 403, "wrong_verify_token")
            if not challenge or len(challenge) > 256:
                return _refused("missing hub.challenge", 400, "missing_challenge")
            return response.text(challenge)

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:  # within the server's body deadline, before the signature is checked
                body = await read_streamed_body(request, self.max_body_bytes)
            except BodyRefused as refused:
                if refused.status == 413:
                    return _refused("payload too large", 413, "body_too_large")
                return _refused("request body not received in time", refused.status,
                                "body_timeout")
            signature = request.headers.get("x-hub-signature-256")
            if not verify_signature(self.app_secret, body, signature):
                logger.warning("WhatsApp webhook with missing or wrong signature refused")
                return _refused("forbidden", 403, "bad_signature")
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return _refused("invalid JSON", 400, "invalid_json")
            if not isinstance(payload, dict):
                return _refused("expected a JSON object", 400, "invalid_json")
            try:
                await self._dispatch(payload, on_new_message)
            except Exception:  # a malformed notification must never become a 5xx
                logger.exception("WhatsApp notification could not be read; ignored")
            return response.text("ok")

        return webhook

    async def _dispatch(
        self, payload: dict[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Start one background task per new message; statuses and oddities are ignored."""
        if payload.get("object") != "whatsapp_business_account":
            logger.info("WhatsApp webhook for object %r ignored", payload.get("object"))
            return
        for entry in _dicts(payload.get("entry")):
            for change in _dicts(entry.get("changes")):
                value = change.get("value")
                if change.get("field") != "messages" or not isinstance(value, dict):
                    continue
                number_id = str(_obj(value.get("metadata")).get("phone_number_id", ""))
                if number_id and number_id != self.phone_number_id:
                    logger.warning("WhatsApp message for another phone number id ignored")
                    continue
                for error in _dicts(value.get("errors")):
                    logger.warning("WhatsApp reported error %s", error.get("code"))
                for message in _dicts(value.get("messages")):
                    try:
                        await self._accept(message, on_new_message)
                    except Exception:
                        logger.exception("WhatsApp message could not be read; ignored")

    async def _accept(
        self, message: dict[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        sender, message_id = message.get("from"), message.get("id")
        kind = message.get("type")
        if not isinstance(sender, str) or not sender or not isinstance(message_id, str):
            logger.info("WhatsApp message without sender or id ignored")
            return
        if kind in SILENT_TYPES:
            return
        if not await self.seen.first_time(message_id):
            logger.info("Duplicate WhatsApp delivery %s ignored", message_id)
            return
        note_inbound(conversation_id("whatsapp", sender))  # the 24-hour window restarts
        output = self.get_output_channel()
        text = incoming_text(message) if kind in SUPPORTED_TYPES else None
        if text is None:
            job = output.send_text_message(sender, self.unsupported_text)
        else:
            metadata = {
                "whatsapp": {
                    "message_id": message_id,
                    "type": kind,
                    "timestamp": message.get("timestamp"),
                    "phone_number_id": self.phone_number_id,
                }
            }
            job = _answer(on_new_message, output, UserMessage(
                text[:TEXT_LIMIT],
                output,
                conversation_id("whatsapp", sender),
                input_channel=self.name(),
                message_id=message_id,
                metadata=metadata,
            ), self.reply_timeout_seconds)
        task = asyncio.get_running_loop().create_task(_logged(job, message_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _answer(on_new_message: Callable[[UserMessage], Awaitable[Any]],
                  output: OutputChannel, message: UserMessage, timeout: float) -> None:
    """Run the turn; if an action failed or it hung, apologise rather than stay silent."""
    if await run_turn(on_new_message, message, timeout):
        await output.send_text_message(message.sender_id, technical_problem_text())


async def _logged(job: Awaitable[Any], message_id: str) -> None:
    try:
        await job
    except Exception:
        logger.exception("Handling WhatsApp message %s failed", message_id)


def _refused(text: str, status: int, reason: str) -> HTTPResponse:
    """A refused webhook request, counted for /metrics."""
    metrics.REFUSED.labels(WhatsAppInput.name(), reason).inc()
    return response.text(text, status=status)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
