"""WhatsApp Cloud API channel for Rasa 3.6 (Rasa ships only Twilio's WhatsApp connector).

Webhook: ``/webhooks/whatsapp/webhook`` (GET handshake, POST signed notifications).
Register it in ``credentials.yml`` as ``bot.channels.whatsapp.WhatsAppInput``; every key there
may be
left out and is then read from the environment (``WHATSAPP_VERIFY_TOKEN``,
``WHATSAPP_APP_SECRET``, ``WHATSAPP_ACCESS_TOKEN``, ``WHATSAPP_PHONE_NUMBER_ID``,
``WHATSAPP_API_URL``, ``WHATSAPP_DEDUP_REDIS_URL``).

Design choices worth knowing:
- Meta wants a 200 within seconds and re-delivers otherwise, so a verified POST is answered
  at once and its messages are handled in background tasks.
- Duplicate deliveries (same ``messages[].id``) are answered once: a bounded in-memory TTL
  cache per process, or Redis (``SET NX EX``) when a Redis URL is configured, which is what
  several replicas behind one webhook need.
- ``requests`` is blocking, so Graph API calls run in a worker thread, with a timeout and a
  small retry on connection errors, 429 and 5xx. A read timeout is not retried: the message
  may already have been delivered and a retry would send it twice.
- More than 10 choices are sent as several list messages of at most 10 rows each (stateless:
  no "More…" row that would need per-user paging state).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import requests
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.turns import run_turn, technical_problem_text
from bot.settings.env import env_number

logger = logging.getLogger(__name__)

# A turn longer than this gets the technical-problem apology (same setting as the REST channel).
def _reply_timeout() -> float:
    try:
        return env_number("REPLY_TIMEOUT_SECONDS", 30.0)
    except ValueError as error:  # the REST channel refuses to start with the same message
        logger.error("%s; using 30 seconds", error)
        return 30.0


REPLY_TIMEOUT_SECONDS = _reply_timeout()

DEFAULT_API_URL = "https://graph.facebook.com/v19.0"
# Meta documents webhook payloads of up to 3 MB; anything larger is not from Meta.
DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024
DEFAULT_UNSUPPORTED_TEXT = (
    "Sorry, I can read text messages only. Please type your question in a few words."
)

TEXT_MAX = 4000  # WhatsApp rejects text bodies of 4,096 characters or more
BUTTON_BODY_MAX = 1024
LIST_BODY_MAX = 4096
MAX_REPLY_BUTTONS = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
MAX_LIST_ROWS = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200

SUPPORTED_TYPES = {"text", "interactive", "button"}
# Not worth a reply: reactions, "user changed number" notices, welcome requests.
SILENT_TYPES = {"reaction", "system", "request_welcome", "ephemeral"}

# (env var, credentials key, required)
SETTINGS = (
    ("WHATSAPP_VERIFY_TOKEN", "verify_token", True),
    ("WHATSAPP_APP_SECRET", "app_secret", True),
    ("WHATSAPP_ACCESS_TOKEN", "access_token", True),
    ("WHATSAPP_PHONE_NUMBER_ID", "phone_number_id", True),
    ("WHATSAPP_API_URL", "api_url", False),
    ("WHATSAPP_DEDUP_REDIS_URL", "dedup_redis_url", False),
)


# --------------------------------------------------------------------------- formatting


_CODE = re.compile(r"(```[\s\S]*?```|`[^`\n]+`)")
_URL = re.compile(r"(https?://[^\s<>()\]]+)")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^>\s]+)>")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[*+-][ \t]+", re.MULTILINE)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_BOLD_MARK = "\x01"


def _link_text(match: re.Match[str]) -> str:
    title, url = match.group(1).strip(), match.group(2)
    bare = re.sub(r"^(https?://|mailto:)", "", url).rstrip("/")
    if not title or title in (url, bare):
        return url
    return f"{title}: {url}"


def _split_protected(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Split so that odd items are matches of ``pattern`` (left untouched by conversions)."""
    return pattern.split(text)


def _format_prose(text: str) -> str:
    text = _HEADING.sub(lambda m: f"{_BOLD_MARK}{m.group(1).replace('**', '')}{_BOLD_MARK}", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    return text.replace(_BOLD_MARK, "*")


def markdown_to_whatsapp(text: str) -> str:
    """Turn the Markdown used in answers into WhatsApp's own formatting.

    ``**bold**`` → ``*bold*``, ``*italic*`` → ``_italic_``, ``~~x~~`` → ``~x~``, headings →
    bold lines, ``[title](url)`` → ``title: url``, bullets → ``•``. Code spans and URLs are
    left alone so that underscores or asterisks in them survive.
    """
    pieces = _split_protected(text, _CODE)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(piece)
            continue
        piece = _AUTOLINK.sub(r"\1", _LINK.sub(_link_text, piece))
        for sub_index, part in enumerate(_split_protected(piece, _URL)):
            out.append(part if sub_index % 2 else _format_prose(part))
    return "".join(out)


def strip_markdown(text: str) -> str:
    """Plain text for places that show no formatting (button and row titles)."""
    text = _LINK.sub(lambda m: m.group(1) or m.group(2), text)
    return re.sub(r"[*_~`#]+", "", text).strip()


def split_text(text: str, limit: int = TEXT_MAX) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters.

    Cuts at the last paragraph break, else line break, else sentence end, else space in the
    window, so that a part never ends mid-word when it can be avoided.
    """
    remaining = text.strip()
    parts: list[str] = []
    while len(remaining) > limit:
        window = remaining[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", ". ", "! ", "? ", "; ", " "):
            index = window.rfind(separator, 0, limit)
            if index >= limit // 4:
                cut = index + (1 if separator[0] in ".!?;" else 0)
                break
        if cut <= 0:
            cut = limit
        part = remaining[:cut].rstrip()
        if part:
            parts.append(part)
        remaining = remaining[cut:].lstrip()
    if remaining:
        parts.append(remaining)
    return parts


def shorten(text: str, limit: int) -> str:
    """Fit a title into ``limit`` characters, cutting at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def _choices(buttons: Iterable[Mapping[str, Any]], id_max: int) -> list[tuple[str, str]]:
    """(id, plain title) pairs; the id carries the Rasa payload back when it fits."""
    seen: set[str] = set()
    result = []
    for button in buttons:
        title = strip_markdown(str(button.get("title") or button.get("payload") or ""))
        payload = str(button.get("payload") or "")
        choice_id = payload if 0 < len(payload) <= id_max else title[:id_max]
        if not title or choice_id in seen:
            continue
        seen.add(choice_id)
        result.append((choice_id, title))
    return result


# --------------------------------------------------------------------------- Graph API


class GraphApiClient:
    """Posts messages to ``{api_url}/{phone_number_id}/messages`` with a bearer token."""

    def __init__(
        self,
        api_url: str,
        phone_number_id: str,
        access_token: str,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        self.url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._session = requests.Session()

    def post(self, payload: dict[str, Any]) -> bool:
        """Blocking send with retry on connection errors, 429 and 5xx; never raises."""
        for attempt in range(self.retries + 1):
            retry = False
            try:
                reply = self._session.post(
                    self.url, json=payload, headers=self._headers, timeout=self.timeout
                )
            except requests.ReadTimeout:
                logger.error("WhatsApp send timed out reading the reply; not retried")
                return False
            except requests.RequestException as error:
                logger.warning("WhatsApp send failed (%s)", type(error).__name__)
                retry = True
            else:
                if reply.status_code < 300:
                    return True
                retry = reply.status_code == 429 or reply.status_code >= 500
                logger.warning(
                    "WhatsApp send rejected: HTTP %s %s",
                    reply.status_code,
                    _graph_error(reply),
                )
            if not retry or attempt == self.retries:
                break
            time.sleep(self.backoff * (2**attempt))
        logger.error("WhatsApp message to the Graph API not delivered")
        return False

    async def send(self, payload: dict[str, Any]) -> bool:
        """Send off the event loop."""
        try:
            return await asyncio.to_thread(self.post, payload)
        except Exception:  # never let a send failure break the conversation
            logger.exception("WhatsApp send crashed")
            return False


def _graph_error(reply: requests.Response) -> str:
    try:
        error = reply.json().get("error", {})
        return f"code={error.get('code')} {str(error.get('message', ''))[:200]}"
    except (ValueError, AttributeError):
        return reply.text[:200]


# --------------------------------------------------------------------------- output


class WhatsAppOutput(OutputChannel):
    """Sends Rasa's responses as WhatsApp text, reply-button and list messages."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def __init__(self, client: GraphApiClient, list_button_label: str = "Choose") -> None:
        self.client = client
        self.list_button_label = shorten(list_button_label, BUTTON_TITLE_MAX)

    async def _post(self, recipient_id: str, kind: str, body: dict[str, Any]) -> bool:
        return await self.client.send(
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": recipient_id,
                "type": kind,
                kind: body,
            }
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(markdown_to_whatsapp(text)):
            await self._post(recipient_id, "text", {"preview_url": "http" in part, "body": part})

    async def _lead_in(self, recipient_id: str, text: str, body_max: int) -> str:
        """Send all but the last part of ``text`` as plain messages; return a body that fits."""
        parts = split_text(markdown_to_whatsapp(text or ""))
        if parts and len(parts[-1]) <= body_max:
            body = parts.pop()
        else:
            body = "Please choose:"
        for part in parts:
            await self._post(recipient_id, "text", {"preview_url": "http" in part, "body": part})
        return body

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        if len(_choices(buttons, BUTTON_ID_MAX)) <= MAX_REPLY_BUTTONS:
            await self._send_reply_buttons(recipient_id, text, buttons)
        else:
            await self._send_lists(recipient_id, text, buttons)

    async def _send_reply_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]]
    ) -> None:
        choices = _choices(buttons, BUTTON_ID_MAX)
        if not choices:
            await self.send_text_message(recipient_id, text)
            return
        body = await self._lead_in(recipient_id, text, BUTTON_BODY_MAX)
        await self._post(
            recipient_id,
            "interactive",
            {
                "type": "button",
                "body": {"text": body},
                "action": {
                    "buttons": [
                        {
                            "type": "reply",
                            "reply": {"id": cid, "title": shorten(t, BUTTON_TITLE_MAX)},
                        }
                        for cid, t in choices
                    ]
                },
            },
        )

    async def _send_lists(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]]
    ) -> None:
        choices = _choices(buttons, ROW_ID_MAX)
        pages = [choices[i : i + MAX_LIST_ROWS] for i in range(0, len(choices), MAX_LIST_ROWS)]
        body = await self._lead_in(recipient_id, text, LIST_BODY_MAX)
        for number, page in enumerate(pages, start=1):
            if number > 1:
                body = f"More choices ({number}/{len(pages)})"
            rows = []
            for cid, title in page:
                row = {"id": cid, "title": shorten(title, ROW_TITLE_MAX)}
                if row["title"] != title:  # keep the full wording visible
                    row["description"] = shorten(title, ROW_DESCRIPTION_MAX)
                rows.append(row)
            await self._post(
                recipient_id,
                "interactive",
                {
                    "type": "list",
                    "body": {"text": body},
                    "action": {
                        "button": self.list_button_label,
                        "sections": [{"title": shorten("Choices", 24), "rows": rows}],
                    },
                },
            )

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._post(recipient_id, "image", {"link": image})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """``custom: {whatsapp: {type: ..., ...}}`` is sent as is (e.g. templates)."""
        message = json_message.get("whatsapp") if isinstance(json_message, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            logger.debug("custom payload without a 'whatsapp' message ignored")
            return
        await self.client.send({"messaging_product": "whatsapp", "to": recipient_id, **message})


# --------------------------------------------------------------------------- dedup


class SeenMessages:
    """Remembers message ids for ``ttl`` seconds so a re-delivery is answered once.

    In memory and per process by default; with a Redis URL the record is shared, which is
    what several replicas behind one webhook need. A Redis outage falls back to memory
    (better to answer twice than never).
    """

    def __init__(self, ttl: float = 86400, max_size: int = 10000, redis_url: str = "") -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._redis: Any = None
        if redis_url:
            import redis.asyncio as redis_asyncio

            self._redis = redis_asyncio.from_url(redis_url)

    def _first_time_in_memory(self, message_id: str) -> bool:
        now = time.monotonic()
        while self._seen:
            oldest_id, expires = next(iter(self._seen.items()))
            if expires > now and len(self._seen) < self.max_size:
                break
            del self._seen[oldest_id]
        if message_id in self._seen:
            return False
        self._seen[message_id] = now + self.ttl
        return True

    async def first_time(self, message_id: str) -> bool:
        """True the first time ``message_id`` is seen within the TTL."""
        if self._redis is not None:
            try:
                stored = await self._redis.set(
                    f"whatsapp:seen:{message_id}", "1", nx=True, ex=max(1, int(self.ttl))
                )
                return bool(stored)
            except Exception as error:  # noqa: BLE001 - any Redis failure
                logger.warning("Redis dedup unavailable (%s); using memory", error)
        return self._first_time_in_memory(message_id)


# --------------------------------------------------------------------------- input


def _setting(credentials: Mapping[str, Any], key: str, env_name: str) -> str:
    value = credentials.get(key)
    if value in (None, ""):
        value = os.environ.get(env_name, "")
    return str(value).strip()


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
        values = {key: _setting(credentials, key, env) for env, key, _ in SETTINGS}
        missing = [env for env, key, required in SETTINGS if required and not values[key]]
        if missing:
            raise RasaException(
                "The WhatsApp channel needs these settings (credentials.yml or environment): "
                + ", ".join(missing)
            )
        options = {
            key: credentials[key]
            for key in (
                "max_body_bytes",
                "dedup_ttl_seconds",
                "unsupported_text",
                "timeout",
                "retries",
                "retry_backoff",
                "list_button_label",
            )
            if credentials.get(key) not in (None, "")
        }
        return cls(
            verify_token=values["verify_token"],
            app_secret=values["app_secret"],
            access_token=values["access_token"],
            phone_number_id=values["phone_number_id"],
            api_url=values["api_url"] or DEFAULT_API_URL,
            dedup_redis_url=values["dedup_redis_url"],
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
        self.list_button_label = list_button_label
        self.seen = SeenMessages(ttl=float(dedup_ttl_seconds), redis_url=dedup_redis_url)
        self._tasks: set[asyncio.Task] = set()

    def get_output_channel(self) -> WhatsAppOutput:
        return WhatsAppOutput(self.client, self.list_button_label)

    async def _read_body(self, request: Request) -> bytes | None:
        """Raw body, or None when it is larger than allowed (read no further than that)."""
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks, size = [], 0
        async for chunk in request.stream:
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

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
                return response.text("forbidden", status=403)
            if not challenge or len(challenge) > 256:
                return response.text("missing hub.challenge", status=400)
            return response.text(challenge)

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            body = await self._read_body(request)
            if body is None:
                return response.text("payload too large", status=413)
            signature = request.headers.get("x-hub-signature-256")
            if not verify_signature(self.app_secret, body, signature):
                logger.warning("WhatsApp webhook with missing or wrong signature refused")
                return response.text("forbidden", status=403)
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return response.text("invalid JSON", status=400)
            if not isinstance(payload, dict):
                return response.text("expected a JSON object", status=400)
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
                text[:4096],
                output,
                sender,
                input_channel=self.name(),
                message_id=message_id,
                metadata=metadata,
            ))
        task = asyncio.get_running_loop().create_task(_logged(job, message_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _answer(on_new_message: Callable[[UserMessage], Awaitable[Any]],
                  output: OutputChannel, message: UserMessage) -> None:
    """Run the turn; if an action failed or it hung, apologise rather than stay silent."""
    if await run_turn(on_new_message, message, REPLY_TIMEOUT_SECONDS):
        await output.send_text_message(message.sender_id, technical_problem_text())


async def _logged(job: Awaitable[Any], message_id: str) -> None:
    try:
        await job
    except Exception:
        logger.exception("Handling WhatsApp message %s failed", message_id)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
