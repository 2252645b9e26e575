"""Declaration statuses from the customs system's REST API.

The contract the customs IT team implements is docs/declaration-status-api.openapi.yml.

The TPIN travels only in the JSON body of a POST, never in a URL, so it cannot end up in proxy
or access logs. Connection errors and 5xx answers are retried with exponential back-off
(bot/retrying.py, shared with the WhatsApp channel); a slow answer (read timeout) is not
retried, so the user waits at most about one timeout for it.

Environment (defaults in brackets):
  CUSTOMS_API_URL      base URL, e.g. https://customs.example/api   (required for http)
  CUSTOMS_API_TOKEN    bearer token sent in the Authorization header  [none]
  CUSTOMS_API_TIMEOUT  seconds to connect and to wait for an answer   [5]
  CUSTOMS_API_RETRIES  extra tries after a connection error or 5xx   [2]
  CUSTOMS_API_BACKOFF  seconds before the first retry, doubled each time [0.5]
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from actions.declarations.backends.base import (
    DeclarationStatus,
    StatusBackend,
    StatusServiceUnavailable,
)
from bot.retrying import SERVER_ERRORS, retrying_session
from bot.settings.env import env_number

logger = logging.getLogger(__name__)

LOOKUP_PATH = "/v1/declarations/status-lookup"
# The bot's own question for status notifications: no TPIN (bot/notify/poller.py).
CURRENT_PATH = "/v1/declarations/status-current"
RETRY_STATUS = SERVER_ERRORS  # 500, 502, 503, 504: as the contract documents


def _env_float(name: str, default: float) -> float:
    return env_number(name, default)


class HttpStatusBackend(StatusBackend):
    """Calls `POST {base_url}/v1/declarations/status-lookup` with `{reference, tpin}`."""

    name = "http"

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.5,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`session` replaces the retrying one (and its policy); `sleep` is for tests."""
        if not base_url:
            raise ValueError("CUSTOMS_API_URL is required when DECLARATION_BACKEND=http")
        self.url = base_url.rstrip("/") + LOOKUP_PATH
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = session or retrying_session(
            retries, backoff, statuses=RETRY_STATUS, label="customs API", sleep=sleep
        )

    @classmethod
    def from_env(cls) -> HttpStatusBackend:
        return cls(
            base_url=os.environ.get("CUSTOMS_API_URL", "").strip(),
            token=os.environ.get("CUSTOMS_API_TOKEN", "").strip() or None,
            timeout=_env_float("CUSTOMS_API_TIMEOUT", 5.0),
            retries=int(_env_float("CUSTOMS_API_RETRIES", 2)),
            backoff=_env_float("CUSTOMS_API_BACKOFF", 0.5),
        )

    def _post(self, reference: str, tpin: str | None) -> requests.Response:
        """The answer, retried by the session; a failure the user cannot fix is raised."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {"reference": reference, "tpin": tpin}
        url = self.url
        if tpin is None:
            body, url = {"reference": reference}, self.url[: -len(LOOKUP_PATH)] + CURRENT_PATH
        try:
            response = self.session.post(url, json=body, headers=headers, timeout=self.timeout)
        except requests.exceptions.ReadTimeout as error:
            logger.error("customs API too slow (> %ss)", self.timeout)
            raise StatusServiceUnavailable("customs API timed out") from error
        except requests.exceptions.RequestException as error:
            # Connection refused, DNS failure, connect timeout: retried, in vain. A connection
            # dropped while waiting for the answer: not retried, like a read timeout.
            logger.warning("customs API unreachable: %s", type(error).__name__)
            raise StatusServiceUnavailable("customs API unreachable") from error
        if response.status_code in RETRY_STATUS:  # what is left after the retries
            logger.warning("customs API answered %d after %d tries", response.status_code,
                           self.retries + 1)
            raise StatusServiceUnavailable(f"customs API error {response.status_code}")
        return response

    def lookup(self, reference: str, tpin: str) -> DeclarationStatus | None:
        return self._answer(self._post(reference, tpin), reference)

    def current_status(self, reference: str) -> DeclarationStatus | None:
        return self._answer(self._post(reference, None), reference)

    @staticmethod
    def _answer(response: requests.Response, reference: str) -> DeclarationStatus | None:
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            # 400 (contract mismatch), 401/403 (token), 429 (their rate limit): not the user's
            # fault and nothing the user can fix by retyping.
            logger.error("customs API answered %d to a status lookup", response.status_code)
            raise StatusServiceUnavailable(f"customs API answered {response.status_code}")
        return _parse_status(response, reference)


def _parse_status(response: requests.Response, reference: str) -> DeclarationStatus:
    """Only the documented fields are read; anything else in the answer is ignored."""
    try:
        data: Any = response.json()
        if not isinstance(data, dict):
            raise ValueError("the answer is not a JSON object")
        if data.get("reference") != reference:
            raise ValueError("the answer is about another reference")
        changed = datetime.fromisoformat(str(data["last_changed"]).replace("Z", "+00:00"))
        if changed.tzinfo is None:
            raise ValueError("last_changed has no time zone")
        lane = data.get("lane")
        return DeclarationStatus(reference, str(data["status"]), lane, changed)
    except (ValueError, KeyError, TypeError) as error:
        logger.error("customs API answer unusable: %s", error)
        raise StatusServiceUnavailable("customs API answer unusable") from error
