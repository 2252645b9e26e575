"""Timeouts against slow clients, declared once for the Rasa server and the web page server.

A client that opens connections and sends a request slowly (or never finishes it) holds a
connection, a buffer and, on the web page server, a thread, for as long as the server waits.
Per-read idle timeouts are not enough: one byte every few seconds resets them. So each limit
is a total time from the first byte.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings.env import env_field, from_env


@dataclass(frozen=True)
class ServerTimeouts:
    # The request line and headers, in all (Rasa server and web page server).
    header_seconds: float = env_field("REQUEST_HEADER_TIMEOUT_SECONDS", 10.0, minimum=0.1)
    # The body, in all, once the headers are in (Rasa server; the web page server takes none).
    body_seconds: float = env_field("REQUEST_BODY_TIMEOUT_SECONDS", 20.0, minimum=0.1)
    # An idle kept-alive connection (Rasa sets 120 s on its own).
    keep_alive_seconds: float = env_field("KEEP_ALIVE_TIMEOUT_SECONDS", 15.0, minimum=0.1)


def server_timeouts(env: Mapping[str, str] | None = None) -> ServerTimeouts:
    return from_env(ServerTimeouts, os.environ if env is None else env)
