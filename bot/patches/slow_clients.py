"""Slow clients cannot hold the Rasa server's connections (Sanic 21.12, as Rasa 3.6 runs it).

Sanic's REQUEST_TIMEOUT and RESPONSE_TIMEOUT count from the last byte received, so a client
that trickles its headers or body one byte every few seconds is never cut off (Rasa also sets
a one-hour response timeout with the HTTP API on). And REQUEST_MAX_SIZE is 100 MB: a 90 MB body
was read whole before the channel's own 413. Here:

- `install()` puts a total deadline on reading the headers (`REQUEST_HEADER_TIMEOUT_SECONDS`,
  checked with Sanic's own periodic check, so to within a few seconds) and on reading a body
  (`REQUEST_BODY_TIMEOUT_SECONDS`): past it the client gets a 408 and the connection is
  closed, nothing of the request is run;
- `read_streamed_body(request, max_bytes)` is how a `stream=True` route reads its body
  (WhatsApp's webhook, the customs status webhook): Sanic lifts its size limit for such
  routes and never calls `receive_body`, so the deadline and REQUEST_MAX_SIZE above do not
  hold there. It reads within the same REQUEST_BODY_TIMEOUT_SECONDS in all and at most
  `max_bytes` (from the Content-Length when there is one), and past either the connection
  is closed after the route's 408 or 413, the rest of the body unread;
- `configure(app, max_body_bytes)` sets Sanic's REQUEST_TIMEOUT (an idle half-sent request),
  KEEP_ALIVE_TIMEOUT and REQUEST_MAX_SIZE (near the largest body a channel accepts, so a body
  far over it is refused from its Content-Length, unread). The REST channel calls it before
  the server starts (bot/channels/rest.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from bot.patches import ORIGINALS, replace
from bot.settings.http import ServerTimeouts, server_timeouts

logger = logging.getLogger(__name__)

# Where a connection's stage was first seen, in Sanic's per-connection `state`.
_MARK, _SINCE = "customs_stage", "customs_stage_since"
# Above the largest body a channel reads: headroom for the request line and the framing.
SIZE_HEADROOM = 16 * 1024


@functools.lru_cache(maxsize=1)
def _timeouts() -> ServerTimeouts:
    return server_timeouts()


def _timed_out(stream: Any, what: str) -> Exception:
    from sanic.exceptions import RequestTimeout

    if stream is not None:
        stream.keep_alive = False   # close the connection after the 408
        stream.request_body = None  # and do not read what is left of the body
    return RequestTimeout(f"The request {what} was not received in time.")


async def receive_body(self: Any) -> None:
    """Sanic's `Request.receive_body` within REQUEST_BODY_TIMEOUT_SECONDS in all."""
    seconds = _timeouts().body_seconds
    try:
        await asyncio.wait_for(ORIGINALS["Request.receive_body"](self), seconds)
    except asyncio.TimeoutError:
        raise _timed_out(self.stream, "body") from None


class BodyRefused(Exception):
    """A streamed body was not read whole: too large (413) or too slow (408)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _stop_reading(stream: Any) -> None:
    if stream is not None:
        stream.keep_alive = False   # close the connection after the answer
        stream.request_body = None  # and never read (drain) the rest, however it trickles


async def read_streamed_body(request: Any, max_bytes: int) -> bytes:
    """The whole body of a `stream=True` route, at most `max_bytes`, within
    REQUEST_BODY_TIMEOUT_SECONDS in all; BodyRefused (413 `too_large`, 408 `timeout`)
    otherwise, with the connection marked to close after the route's answer."""
    stream = request.stream
    if stream is None:  # read already (or a server that is not Sanic's HTTP/1.1)
        body = request.body or b""
        if len(body) > max_bytes:
            raise BodyRefused(413, "too_large")
        return body
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        _stop_reading(stream)
        raise BodyRefused(413, "too_large")
    chunks: list[bytes] = []

    async def read() -> bool:
        size = 0
        async for chunk in stream:
            size += len(chunk)
            if size > max_bytes:
                return False
            chunks.append(chunk)
        return True

    try:
        whole = await asyncio.wait_for(read(), _timeouts().body_seconds)
    except asyncio.TimeoutError:
        _stop_reading(stream)
        raise BodyRefused(408, "timeout") from None
    if not whole:
        _stop_reading(stream)
        raise BodyRefused(413, "too_large")
    return b"".join(chunks)


def check_timeouts(self: Any) -> None:
    """Sanic's periodic timeout check on a connection, plus a total deadline on the headers.

    (Sanic recompiles its header-reading method from source at start-up, so that one cannot
    be wrapped; its protocol's own check runs every few seconds on every connection.)"""
    from sanic.http import Stage

    try:
        http, task = self._http, self._task
        if task is not None and http is not None:
            now = asyncio.get_event_loop().time()
            mark = (http.stage, self.state.get("requests_count"))
            if self.state.get(_MARK) != mark:
                self.state[_MARK], self.state[_SINCE] = mark, now
            elif (http.stage is Stage.REQUEST
                  and now - self.state[_SINCE] > _timeouts().header_seconds):
                http.exception = _timed_out(http, "header")
                task.cancel()
                return
    except Exception:  # the check must never take the connection down by itself
        logger.exception("slow-client check failed")
    ORIGINALS["HttpProtocol.check_timeouts"](self)


def install() -> None:
    from sanic.request import Request
    from sanic.server.protocols.http_protocol import HttpProtocol

    replace(Request, "receive_body", receive_body)
    replace(HttpProtocol, "check_timeouts", check_timeouts)


def configure(app: Any, max_body_bytes: int) -> None:
    """Sanic's own limits for `app`: read when each connection is made, so set them before
    the server starts."""
    _timeouts.cache_clear()
    timeouts = _timeouts()
    app.config.REQUEST_TIMEOUT = timeouts.header_seconds
    app.config.KEEP_ALIVE_TIMEOUT = timeouts.keep_alive_seconds
    if max_body_bytes:
        app.config.REQUEST_MAX_SIZE = max_body_bytes + SIZE_HEADROOM
