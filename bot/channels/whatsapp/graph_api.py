"""The Graph API client: one POST per outgoing WhatsApp message.

``requests`` is blocking, so sends run in a worker thread, with a timeout and a small retry on
connection errors, 429 and 5xx (bot/retrying.py). A read timeout is not retried: the message
may already have been delivered and a retry would send it twice. A send never raises: a lost
reply is logged, and the conversation goes on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import requests

from bot.retrying import retrying_session

logger = logging.getLogger(__name__)

# Graph answers 429 when the business sends too fast; worth waiting and trying again.
RETRY_STATUS = frozenset({429, *range(500, 600)})
SENT, FAILED, UNCERTAIN = "sent", "failed", "uncertain"


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
        session: requests.Session | None = None,
    ) -> None:
        self.url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._session = session or retrying_session(
            retries, backoff, statuses=RETRY_STATUS, label="WhatsApp send"
        )

    def post(self, payload: dict[str, Any]) -> bool:
        """Blocking send with retry on connection errors, 429 and 5xx; never raises."""
        return self.deliver(payload)[0] == SENT

    def deliver(self, payload: dict[str, Any]) -> tuple[str, str]:
        """Blocking send; (`sent` | `failed` | `uncertain`, reason). `failed`: it surely did
        not go out (refused, 4xx, 5xx after the retries); `uncertain`: the reply was not read
        in time, so it may have (status notifications are then not sent again)."""
        try:
            reply = self._session.post(
                self.url, json=payload, headers=self._headers, timeout=self.timeout
            )
        except requests.ReadTimeout:
            logger.error("WhatsApp send timed out reading the reply; not retried")
            return UNCERTAIN, "read timeout"
        except requests.RequestException as error:
            logger.warning("WhatsApp send failed (%s)", type(error).__name__)
            reason = type(error).__name__
        else:
            if reply.status_code < 300:
                return SENT, ""
            reason = f"HTTP {reply.status_code} {_graph_error(reply)}"
            logger.warning("WhatsApp send rejected: %s", reason)
        logger.error("WhatsApp message to the Graph API not delivered")
        return FAILED, reason

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
