"""The REST channel with limits at the door (`/webhooks/rest/webhook`, used by the web widget).

Rasa's own `RestInput` trusts its input: a body that is not JSON, not UTF-8 or not an object
ends in a 500 or an HTML error page, a 100,000-character message goes through the whole NLU
pipeline, nothing limits how fast one sender may post, and when an action server is down or
hangs the user gets an empty answer (after up to five minutes). `GuardedRestInput` keeps the
channel name `rest` (same URL, same replies) and adds:

- 400 with a JSON error for a body that is not UTF-8 JSON, not an object, lacks `sender` or
  `message`, has a non-string message or an empty one;
- 415 unless the body is sent as `Content-Type: application/json` (a cross-site form post or
  a `text/plain` fetch from a foreign page never reaches the bot);
- 400 for a body nested deeper than the JSON parser goes, or metadata deeper than
  `max_metadata_depth`; 413 for metadata over `max_metadata_bytes` (it is stored with every
  event of the turn);
- 413 for a body over `max_body_bytes` or a message over `max_message_chars`;
- 429 with `Retry-After` above `rate_limit_per_minute` messages per sender (sliding minute),
  above `rate_limit_per_client_per_minute` per client address (whatever sender ids it uses;
  the proxy's `X-Forwarded-For` only from `TRUSTED_PROXIES`), or when a sender already has
  `max_pending_per_sender` messages being answered;
- the client's identity (a keyed hash of its address) in the message's metadata
  (`customs_client`, set here, never taken from the body): the lookup and ticket limits of
  the actions count people by it;
- an optional `message_id`: a message sent again with the same id is answered from the store
  instead of being run twice (bot/patches/replay.py); 409 when the conversation holds the id
  for a message with other words;
- a clear "technical problem" reply (HTTP 200, like any answer) when a custom action failed
  during the turn, the turn raised, or it took longer than `reply_timeout_seconds`.

Sanic's own timeouts and size limit for the whole server are set when it starts
(bot/patches/slow_clients.py): a half-sent or trickled request gets a 408 and is closed, a body
far over the limit is refused from its Content-Length without being read.

Every limit is set in the channel's credentials (the launcher writes them from MAX_MESSAGE_CHARS,
MAX_BODY_BYTES, MAX_METADATA_BYTES, MAX_METADATA_DEPTH,
RATE_LIMIT_PER_MINUTE, MAX_PENDING_PER_SENDER, REPLY_TIMEOUT_SECONDS); 0 turns a
limit off. Rate limits are per Rasa process: with replicas behind a proxy, also limit per client
address at the proxy (deploy/nginx.conf).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import patches
from bot.channels.identity import CLIENT_KEY, client_address, client_identity, person_address
from bot.channels.notifications import widget_notifications
from bot.channels.rest_limits import BadRequest, SenderLimiter, check_content_type, parse_body
from bot.channels.server_routes import ServerRoutesBlueprint
from bot.channels.turns import install_failure_filter, run_turn, technical_problem_text
from bot.metrics import registry as metrics
from bot.patches import replay, slow_clients
from bot.settings.env import env_fields, from_env
from bot.settings.rest import RestLimits, trusted_proxies

logger = logging.getLogger(__name__)


class GuardedRestInput(RestInput):
    """Rasa's REST channel (same name and URL) with input checks, rate limits and a timeout."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GuardedRestInput:
        given = {k: v for k, v in (credentials or {}).items() if v is not None}
        known = {key for key, _, _ in env_fields(RestLimits)}
        unknown = set(given) - known
        if unknown:
            raise ValueError(f"unknown REST channel settings: {', '.join(sorted(unknown))}")
        defaults = from_env(RestLimits, os.environ)
        return cls(RestLimits(**{k: type(getattr(defaults, k))(given.get(k, getattr(defaults, k)))
                                 for k in known}))

    def __init__(self, limits: RestLimits | None = None) -> None:
        self.limits = limits or RestLimits()
        self.limiter = SenderLimiter(self.limits.rate_limit_per_minute,
                                     self.limits.max_pending_per_sender)
        # Per client address, whatever sender ids it makes up (bot/channels/identity.py).
        self.client_limiter = SenderLimiter(self.limits.rate_limit_per_client_per_minute, 0)
        self.trusted_proxies = trusted_proxies()
        install_failure_filter()
        # The Rasa server builds this channel at start-up: the measured fixes and the replay
        # of repeated messages (bot/patches/) are installed here, not at import.
        patches.install()

    def client_of(self, request: Request) -> str:
        """The client's address (an IPv6 one's /64): the socket peer, or what a trusted proxy
        forwarded."""
        forwarded = ",".join(request.headers.getall("x-forwarded-for", []))
        return person_address(client_address(request.ip, forwarded, self.trusted_proxies))

    async def _answer(self, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      fields: dict[str, Any], client: str) -> list[dict[str, Any]]:
        collector = CollectingOutputChannel()
        # Limits keyed on a person (lookups, tickets) count the client, never a value from
        # the body: a client's own `customs_client` is replaced.
        metadata = {**(fields["metadata"] or {}), CLIENT_KEY: client_identity(client)}
        message = UserMessage(fields["message"], collector, fields["sender"],
                              input_channel=fields["input_channel"] or self.name(),
                              metadata=metadata, message_id=fields.get("message_id"))
        # A client's message id: a repeat of a message already answered is answered from the
        # store, not run again (bot/patches/replay.py).
        setattr(message, replay.MARK, bool(fields.get("message_id")))
        if await run_turn(on_new_message, message, self.limits.reply_timeout_seconds):
            collector.messages.append({"recipient_id": fields["sender"],
                                       "text": technical_problem_text()})
        return collector.messages

    def largest_body(self) -> int:
        """The largest body a channel of this server reads (0: no limit), for Sanic's own."""
        if not self.limits.max_body_bytes:
            return 0
        from bot.channels.whatsapp.webhook import DEFAULT_MAX_BODY_BYTES

        return max(self.limits.max_body_bytes, DEFAULT_MAX_BODY_BYTES)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        # Also adds the server's own /metrics and /ready when Rasa registers it.
        webhook = ServerRoutesBlueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.listener("before_server_start")
        async def server_limits(app: Any, _loop: Any) -> None:
            # Timeouts and the size limit of the whole Rasa server (bot/patches/slow_clients.py)
            slow_clients.configure(app, self.largest_body())

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/notifications", methods=["GET"])
        async def notifications(request: Request) -> HTTPResponse:
            # The web widget's status notifications (bot/channels/notifications.py).
            return await widget_notifications(request)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                check_content_type(request.headers.get("content-type"))
                fields = parse_body(request.body or b"", self.limits)
                client = self.client_of(request)
                self.client_limiter.admit(client)
                self.limiter.admit(fields["sender"])
            except BadRequest as refused:
                metrics.REFUSED.labels(self.name(), refused.code).inc()
                headers = {}
                if "retry_after" in refused.extra:
                    headers["Retry-After"] = str(refused.extra["retry_after"])
                return response.json(refused.body(), status=refused.status, headers=headers)
            self.limiter.started(fields["sender"])
            try:
                return response.json(await self._answer(on_new_message, fields, client))
            except replay.ReusedMessageId:
                refused = BadRequest(409, "message_id_reused",
                                     "This 'message_id' was already used for another message in "
                                     "this conversation: send each new message with a new id.")
                metrics.REFUSED.labels(self.name(), refused.code).inc()
                return response.json(refused.body(), status=refused.status)
            finally:
                self.limiter.finished(fields["sender"])

        return webhook
