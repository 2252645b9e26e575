"""The Rasa input channel `customs`: the customs system pushes status changes to
`POST /webhooks/customs/status-changes` (contract: docs/declaration-status-api.openapi.yml).

Enabled in the generated credentials when CUSTOMS_WEBHOOK_SECRET is set. Every POST is
checked before it is read: at most CUSTOMS_WEBHOOK_MAX_BODY_BYTES (413), all of it within
REQUEST_BODY_TIMEOUT_SECONDS (408; bot/patches/slow_clients.py), an HMAC-SHA256 of
the raw body under the secret, compared in constant time (403, nothing recorded), then the
events (400 with a JSON error naming the field: the events are checked all or none, so one
bad event, a `changed_at` in the future included, refuses the whole body and records
nothing). Each event is then recorded, with the notifications it causes, in its own
transaction *before* the answer: a database failure midway (503) may leave the first events
recorded, which is safe, because recording is idempotent by event id and the customs system
retries the whole body. They are sent right
after in the background; unsent ones are retried every NOTIFY_RETRY_SECONDS by every replica
(a claim in the database decides who sends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.appdb import notifications as store
from bot.notify.events import SIGNATURE_HEADER, InvalidEvents, parse_events, verify
from bot.notify.outbox import Notifier
from bot.patches.slow_clients import BodyRefused, read_streamed_body
from bot.settings.notify import NotifySettings, webhook_secret

logger = logging.getLogger(__name__)

RETRY_LOOP_MAX_SECONDS = 60.0


def _outcome(recorded: store.Recorded) -> str:
    if recorded.duplicate:
        return "duplicate"
    if recorded.notifications:
        return "recorded"
    return "no_change" if recorded.subscribers else "no_subscribers"


class CustomsStatusInput(InputChannel):
    """Receives signed status changes; never starts a conversation turn."""

    @classmethod
    def name(cls) -> str:
        return "customs"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> CustomsStatusInput:
        secret = str((credentials or {}).get("secret") or "").strip() or webhook_secret()
        if not secret:
            raise RasaException("The customs status webhook needs CUSTOMS_WEBHOOK_SECRET "
                                "(or `secret` in credentials.yml)")
        return cls(secret)

    def __init__(self, secret: str, config: NotifySettings | None = None,
                 notifier: Notifier | None = None) -> None:
        self.secret = secret
        self.config = config or store.settings()
        self._notifier = notifier
        self._tasks: set[asyncio.Task] = set()
        self._loop_task: asyncio.Task | None = None

    @property
    def notifier(self) -> Notifier:
        if self._notifier is None:
            self._notifier = Notifier.from_env()
        return self._notifier

    def _record(self, body: bytes) -> list[tuple[str, store.Recorded]]:
        return [(event.event_id, store.record_change(event.reference, event.status,
                                                     event.changed_at, "webhook",
                                                     event.event_id))
                for event in parse_events(body, self.config.webhook_max_events)]

    def _send_soon(self, ids: list[int]) -> None:
        async def send() -> None:
            try:
                await asyncio.to_thread(self.notifier.deliver, ids)
            except Exception:  # the retry loop picks up what is left
                logger.exception("sending status notifications failed")

        task = asyncio.get_running_loop().create_task(send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _retry_forever(self) -> None:
        period = max(1.0, min(RETRY_LOOP_MAX_SECONDS, self.config.retry_seconds))
        while True:
            await asyncio.sleep(period)
            try:
                await asyncio.to_thread(self.notifier.deliver_due)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # database down: try again next round
                logger.warning("notification retry round failed (%s)", type(error).__name__)

    async def receive(self, request: Request) -> HTTPResponse:
        try:  # within the Rasa server's body deadline, before the signature is checked
            body = await read_streamed_body(request, self.config.webhook_max_body_bytes)
        except BodyRefused as refused:
            if refused.status == 413:
                return response.json({"error": "too_large", "max_bytes":
                                      self.config.webhook_max_body_bytes}, status=413)
            return response.json({"error": "timeout", "detail": "the body was not received "
                                  "in time"}, status=refused.status)
        if not verify(self.secret, body, request.headers.get(SIGNATURE_HEADER)):
            logger.warning("customs status webhook with a missing or wrong signature refused")
            return response.json({"error": "forbidden"}, status=403)
        try:
            results = await asyncio.to_thread(self._record, body)
        except InvalidEvents as error:
            return response.json({"error": "invalid_event", "detail": str(error)}, status=400)
        except sa.exc.SQLAlchemyError as error:
            logger.error("status change not recorded: database unavailable (%s)",
                         type(error).__name__)
            return response.json({"error": "unavailable", "detail": "try again later"},
                                 status=503)
        ids = [i for _, recorded in results for i in recorded.notifications]
        if ids:
            self._send_soon(ids)
        return response.json({
            "received": len(results),
            "notifications": len(ids),
            "events": [{"event_id": event_id, "outcome": _outcome(recorded)}
                       for event_id, recorded in results],
        })

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("customs_webhook", __name__)

        @webhook.listener("after_server_start")
        async def start_retries(app: Any, loop: Any) -> None:
            self._loop_task = loop.create_task(self._retry_forever())

        @webhook.listener("before_server_stop")
        async def stop_retries(app: Any, loop: Any) -> None:
            for task in [self._loop_task, *self._tasks]:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/status-changes", methods=["POST"], stream=True)
        async def status_changes(request: Request) -> HTTPResponse:
            return await self.receive(request)

        return webhook
