"""Limits of the REST channel, without Rasa or Sanic: settings, body checks, per-sender limits.

Kept apart from `bot.rest` so the launcher can write the settings into credentials.yml without
importing Rasa, and so the checks are testable as plain functions.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.envnum import env_number

# (credentials key, environment variable, default)
SETTINGS: tuple[tuple[str, str, float], ...] = (
    ("max_message_chars", "MAX_MESSAGE_CHARS", 2000),
    ("max_body_bytes", "MAX_BODY_BYTES", 1_048_576),
    ("rate_limit_per_minute", "RATE_LIMIT_PER_MINUTE", 30),
    ("max_pending_per_sender", "MAX_PENDING_PER_SENDER", 3),
    ("reply_timeout_seconds", "REPLY_TIMEOUT_SECONDS", 30),
)
MAX_SENDER_CHARS = 128


def settings_from_env(env: Mapping[str, str]) -> dict[str, float]:
    """The channel's limits from the environment (defaults filled in), for credentials.yml."""
    values: dict[str, float] = {}
    for key, name, default in SETTINGS:
        value = env_number(name, default, env)
        values[key] = int(value) if value == int(value) else value
    return values


class BadRequest(Exception):
    """The request is refused with `status` and a JSON body `{error, message}`."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": str(self), **self.extra}


@dataclass
class Limits:
    max_message_chars: int = 2000
    max_body_bytes: int = 1_048_576
    rate_limit_per_minute: int = 30
    max_pending_per_sender: int = 3
    reply_timeout_seconds: float = 30.0


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


# A client's own id for a message, reused when it sends the message again (bot/idempotency.py).
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")


def parse_body(body: bytes, limits: Limits) -> dict[str, Any]:
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
    message = data.get("message")
    if message is None:
        raise BadRequest(400, "missing_message", "'message' is required.")
    if not isinstance(message, str):
        raise BadRequest(400, "invalid_message", "'message' must be a string.")
    message = message.replace("\x00", "")
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
