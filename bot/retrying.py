"""One retry policy for outgoing HTTP calls (the customs API, WhatsApp's Graph API).

Both callers want the same thing: retry when the request surely did not arrive (connection
refused, DNS failure, connect timeout) or when the server says "try again" (the statuses the
caller lists), and never once the request may have been acted on: after a read timeout, or a
connection dropped while waiting for the answer, a retry could send a WhatsApp message twice
and makes the user wait twice as long. urllib3's `Retry` on a requests adapter does this; the
subclass below only pins three details:

- the wait before retry k is `backoff * 2**(k-1)`, so `backoff` is "seconds before the first
  retry" as the settings say (urllib3 2.x itself waits 0 s before the first retry);
- a `Retry-After` header sets the wait (at most RETRY_AFTER_MAX seconds: a user is waiting)
  but never makes a status retried that the caller did not list;
- every retry is logged as a warning; the caller logs the final outcome.

A leaf module: it imports only requests, urllib3 and the standard library.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

SERVER_ERRORS = frozenset({500, 502, 503, 504})
RETRY_AFTER_MAX = 10  # seconds; a server asking for longer gets this


class BackoffRetry(Retry):
    """`Retry` with the back-off of our settings, a log line per retry and an injectable sleep."""

    # Retry-After decides how long to wait, never whether to retry: only listed statuses are.
    RETRY_AFTER_STATUS_CODES = frozenset()

    def __init__(self, *args: Any, label: str = "HTTP",
                 sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label = label
        self._sleep = sleep

    def new(self, **kw: Any) -> BackoffRetry:
        # urllib3 makes a new Retry after each try; keep our two extras on it.
        return super().new(**{"label": self.label, "sleep": self._sleep, **kw})

    def get_backoff_time(self) -> float:
        if not self.history:
            return 0.0
        return float(min(self.backoff_max, self.backoff_factor * 2 ** (len(self.history) - 1)))

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:  # an unreadable Retry-After is no reason to give up
            return None

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        after = None
        if response is not None and self.respect_retry_after_header:
            after = self.get_retry_after(response)
        wait = after or self.get_backoff_time()
        last = self.history[-1]
        cause = f"HTTP {last.status}" if last.status else type(last.error).__name__
        logger.warning("%s: %s on try %d; retrying in %.2f s", self.label, cause,
                       len(self.history), wait)
        if wait > 0:
            self._sleep(wait)


def retrying_session(retries: int, backoff: float, statuses: Collection[int] = SERVER_ERRORS,
                     *, label: str = "HTTP",
                     sleep: Callable[[float], None] = time.sleep) -> requests.Session:
    """A session that retries POST and GET up to `retries` times (see the module docstring).

    A final answer with a listed status is returned, not raised: the caller decides what it
    means. `label` names the service in the log; `sleep` lets tests record the waits.
    """
    retry = BackoffRetry(
        total=retries,
        connect=retries,
        read=False,
        status=retries,
        status_forcelist=frozenset(statuses),
        allowed_methods=frozenset({"POST", "GET"}),
        backoff_factor=backoff,
        raise_on_status=False,
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX,
        label=label,
        sleep=sleep,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
