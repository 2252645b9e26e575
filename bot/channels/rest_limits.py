"""Limits of the REST channel, without Rasa or Sanic: settings, body checks, per-sender limits.

Kept apart from `bot.channels.rest` so the checks are testable as plain functions; the settings
themselves are declared in `bot.settings.rest`.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from bot.channels.identity import is_reserved
from bot.channels.text import clean_message, holdable
from bot.settings.rest import RestLimits

MAX_SENDER_CHARS = 128


class BadRequest(Exception):
    """The request is refused with `status` and a JSON body `{error, message}`."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": str(self), **self.extra}


class SenderLimiter:
    """Per-sender sliding-minute rate limit and in-flight cap, in bounded memory."""

    def __init__(self, per_minute: int, max_pending: int, max_senders: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.max_pending, self.max_senders = per_minute, max_pending, max_senders
        self.clock = clock
        self.recent: dict[str, deque[float]] = {}
        self.pending: dict[str, int] = {}

    def _prune(self, now: float) -> None:
        stale = [s for s, times in self.recent.items() if not times or now - times[-1] >= 60]
        for sender in stale:
            del self.recent[sender]
        while len(self.recent) >= self.max_senders:  # a flood of fresh ids: forget the oldest
            self.recent.pop(next(iter(self.recent)))

    def admit(self, sender: str) -> None:
        """Count one message from `sender`, or raise BadRequest(429)."""
        now = self.clock()
        if self.max_pending and self.pending.get(sender, 0) >= self.max_pending:
            raise BadRequest(429, "too_many_pending",
                             "Please wait for the answer to your previous message.",
                             retry_after=1)
        if not self.per_minute:
            return
        times = self.recent.get(sender)
        if times is None:
            if len(self.recent) >= self.max_senders:
                self._prune(now)
            times = self.recent[sender] = deque(maxlen=self.per_minute)
        while times and now - times[0] >= 60:
            times.popleft()
        if len(times) >= self.per_minute:
            wait = max(1, math.ceil(60 - (now - times[0])))
            raise BadRequest(429, "rate_limited",
                             f"Too many messages. Please wait {wait} seconds and try again.",
                             retry_after=wait)
        times.append(now)

    def started(self, sender: str) -> None:
        self.pending[sender] = self.pending.get(sender, 0) + 1

    def finished(self, sender: str) -> None:
        left = self.pending.get(sender, 1) - 1
        if left > 0:
            self.pending[sender] = left
        else:
            self.pending.pop(sender, None)


def check_content_type(header: str | None) -> None:
    """Only `application/json` is read: a cross-site HTML form or a `text/plain` fetch from a
    foreign page can send neither that type nor a CORS preflight-free request with it."""
    media_type = (header or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise BadRequest(415, "unsupported_media_type",
                         "The request body must be JSON sent with "
                         "'Content-Type: application/json'.")


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_metadata(metadata: dict[str, Any], limits: RestLimits) -> None:
    """Depth first (so measuring the size never meets a structure too deep), then size."""
    if limits.max_metadata_depth and json_depth(metadata) > limits.max_metadata_depth:
        raise BadRequest(400, "metadata_too_deep",
                         f"'metadata' may nest at most {limits.max_metadata_depth} levels.")
    if limits.max_metadata_bytes:
        size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
        if size > limits.max_metadata_bytes:
            raise BadRequest(413, "metadata_too_large",
                             f"'metadata' is larger than {limits.max_metadata_bytes} bytes.")


# A client's own id for a message, reused when it sends the message again (bot/patches/replay.py).
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")


def parse_body(body: bytes, limits: RestLimits) -> dict[str, Any]:  # noqa: C901 - one check per HTTP error code
    """The request's JSON object, checked; raise BadRequest with what is wrong."""
    if limits.max_body_bytes and len(body) > limits.max_body_bytes:
        raise BadRequest(413, "body_too_large",
                         f"The request body is larger than {limits.max_body_bytes} bytes.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(400, "invalid_utf8", "The request body must be UTF-8 JSON.") from error
    try:
        data = json.loads(text)
    except RecursionError as error:  # nested deeper than the parser goes: the client's fault
        raise BadRequest(400, "too_deep", "The request body is nested too deeply.") from error
    except ValueError as error:
        raise BadRequest(400, "invalid_json", "The request body must be a JSON object: "
                         '{"sender": "...", "message": "..."}.') from error
    if not isinstance(data, dict):
        raise BadRequest(400, "invalid_json", "The request body must be a JSON object: "
                         '{"sender": "...", "message": "..."}.')
    sender = data.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest(400, "missing_sender", "'sender' must be a non-empty string.")
    if len(sender) > MAX_SENDER_CHARS:
        raise BadRequest(400, "invalid_sender",
                         f"'sender' must be at most {MAX_SENDER_CHARS} characters.")
    if not holdable(sender):
        raise BadRequest(400, "invalid_sender",
                         "'sender' must not contain control characters or lone surrogates.")
    if is_reserved(sender):
        # A REST client must never address a WhatsApp or Telegram user's conversation.
        raise BadRequest(400, "reserved_sender",
                         "'sender' must not start with 'whatsapp:' or 'telegram:'.")
    message = data.get("message")
    if message is None:
        raise BadRequest(400, "missing_message", "'message' is required.")
    if not isinstance(message, str):
        raise BadRequest(400, "invalid_message", "'message' must be a string.")
    message = clean_message(message)
    if not message.strip():
        raise BadRequest(400, "empty_message", "The message is empty: please type a question.")
    if limits.max_message_chars and len(message) > limits.max_message_chars:
        raise BadRequest(413, "message_too_long",
                         f"The message is too long: please keep it under "
                         f"{limits.max_message_chars} characters.",
                         max_chars=limits.max_message_chars)
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest(400, "invalid_metadata", "'metadata' must be a JSON object.")
    if metadata is not None:
        check_metadata(metadata, limits)
    channel = data.get("input_channel")
    if channel is not None and not isinstance(channel, str):
        raise BadRequest(400, "invalid_input_channel", "'input_channel' must be a string.")
    message_id = data.get("message_id")
    if message_id is not None and (not isinstance(message_id, str)
                                   or not _MESSAGE_ID.fullmatch(message_id)):
        raise BadRequest(400, "invalid_message_id",
                         "'message_id' must be 1 to 100 letters, digits, '-', '_', '.' or ':'.")
    return {"sender": sender, "message": message, "metadata": metadata,
            "input_channel": channel, "message_id": message_id}
