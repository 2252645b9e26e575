"""The customs system's status-change webhook body: its signature and its events.

Contract (docs/declaration-status-api.openapi.yml, `POST /webhooks/customs/status-changes`):
the body is JSON `{"events": [{"event_id", "reference", "status", "changed_at"}, ...]}`,
signed with `X-Customs-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` under the
shared secret CUSTOMS_WEBHOOK_SECRET. Pure: no database, no network, no Rasa.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from actions.declarations.reference import InvalidReference, parse_reference
from bot.content.statuses import STATUSES
from bot.settings.notify import CLOCK_SKEW_ALLOWANCE

SIGNATURE_HEADER = "X-Customs-Signature-256"
EVENT_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


class InvalidEvents(ValueError):
    """The body is not what the contract says; the message names the field (safe to return)."""


@dataclass(frozen=True)
class StatusEvent:
    event_id: str
    reference: str  # canonical
    status: str
    changed_at: datetime


def sign(secret: str, body: bytes) -> str:
    """The header value for `body` (what the customs system computes)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of the signature header against the raw body."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().lower().encode())


def _event(item: Any, where: str, now: datetime) -> StatusEvent:
    if not isinstance(item, dict):
        raise InvalidEvents(f"{where}: expected an object")
    event_id, reference = item.get("event_id"), item.get("reference")
    status, changed = item.get("status"), item.get("changed_at")
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        raise InvalidEvents(f"{where}.event_id: 1 to 128 letters, digits or ._:/+=-")
    if not isinstance(reference, str):
        raise InvalidEvents(f"{where}.reference: expected a string like 2026 LSK C 10452")
    try:
        canonical = parse_reference(reference).canonical
    except InvalidReference as error:
        raise InvalidEvents(f"{where}.reference: {error.reason}") from None
    if status not in STATUSES:
        raise InvalidEvents(f"{where}.status: one of {', '.join(STATUSES)}")
    try:
        when = datetime.fromisoformat(str(changed).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvents(f"{where}.changed_at: an ISO 8601 time with a zone, "
                            "like 2026-12-01T09:30:00Z") from None
    if not isinstance(changed, str) or when.tzinfo is None:
        raise InvalidEvents(f"{where}.changed_at: an ISO 8601 time with a zone")
    try:
        when.astimezone(timezone.utc)  # "0001-01-01T00:00:00+05:00" has no UTC time
    except OverflowError:
        raise InvalidEvents(f"{where}.changed_at: {changed} is out of range") from None
    if when > now + CLOCK_SKEW_ALLOWANCE:
        minutes = int(CLOCK_SKEW_ALLOWANCE.total_seconds() // 60)
        raise InvalidEvents(f"{where}.changed_at: {changed} of event {event_id} is in the "
                            f"future (more than {minutes} minutes after this server's "
                            f"{now.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ})")
    return StatusEvent(event_id, canonical, status, when)


def parse_events(body: bytes, max_events: int = 100,
                 now: datetime | None = None) -> list[StatusEvent]:
    """The events of a body, all or none: one bad event (a time more than
    CLOCK_SKEW_ALLOWANCE after `now` included) refuses the whole body."""
    now = now or datetime.now(timezone.utc)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidEvents("the body is not JSON") from None
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list) or not events:
        raise InvalidEvents("expected an object with a non-empty 'events' list")
    if len(events) > max_events:
        raise InvalidEvents(f"at most {max_events} events per request")
    return [_event(item, f"events[{n}]", now) for n, item in enumerate(events)]
