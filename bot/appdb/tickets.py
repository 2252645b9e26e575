"""Hand-over tickets: a conversation the bot passes to a person, kept in the application database.

A ticket holds what staff need to call back (name, contact in clear: that is its purpose), the
question and the conversation transcript with TPINs masked. Its number (`HT-2026-00042`) is what
the user quotes when they follow up. New tickets can be posted to a helpdesk system:

  TICKET_WEBHOOK_URL      unset: no post. Set: each new ticket is POSTed there as JSON.
  TICKET_WEBHOOK_TOKEN    optional; sent as `Authorization: Bearer <token>`.
  TICKET_WEBHOOK_TIMEOUT  seconds [5]. A slow or failing helpdesk never loses the ticket: it is
                          stored first, and the outcome of the post is kept on the ticket.

Tickets cannot be flooded (a script, or a foreign page driving the widget): at most
TICKETS_PER_CONVERSATION_PER_HOUR [3] per conversation, TICKETS_PER_CLIENT_PER_HOUR [10] per
person across conversations (the identity the channel verified: a REST client's address, not
the sender id it makes up), TICKETS_PER_CONTACT_PER_HOUR [3] per phone number or e-mail,
TICKETS_PER_HOUR [100] in all; 0 turns a limit off (`TicketLimits`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
import sqlalchemy as sa

from bot.appdb.engine import session_scope
from bot.appdb.models import Ticket
from bot.privacy import redact_tpins
from bot.settings.env import env_field, from_env

logger = logging.getLogger(__name__)

NUMBER_PREFIX = "HT"
DEFAULT_WEBHOOK_TIMEOUT = 5.0


@dataclass(frozen=True)
class TicketLimits:
    """Tickets per rolling hour; each limit keeps one kind of flood out of the support queue."""

    per_conversation: int = env_field("TICKETS_PER_CONVERSATION_PER_HOUR", 3)
    per_client: int = env_field("TICKETS_PER_CLIENT_PER_HOUR", 10)
    per_contact: int = env_field("TICKETS_PER_CONTACT_PER_HOUR", 3)
    overall: int = env_field("TICKETS_PER_HOUR", 100)


class TicketLimitReached(Exception):
    """No ticket was stored: `limit` ("conversation", "client", "contact" or "overall") is
    used up."""

    def __init__(self, limit: str) -> None:
        super().__init__(f"ticket limit per {limit} reached")
        self.limit = limit


def ticket_limits(env: Mapping[str, str] | None = None) -> TicketLimits:
    return from_env(TicketLimits, os.environ if env is None else env)


def _check_limits(session: Any, limits: TicketLimits, conversation_id: str, contact: str,
                  now: datetime, client: str) -> None:
    since = now - timedelta(hours=1)
    recent = sa.select(sa.func.count(Ticket.id)).where(Ticket.created_at > since)
    for name, limit, where in (
            ("conversation", limits.per_conversation, Ticket.conversation_id == conversation_id),
            ("client", limits.per_client, Ticket.client == client),
            ("contact", limits.per_contact, Ticket.contact == contact),
            ("overall", limits.overall, sa.true())):
        if limit and session.execute(recent.where(where)).scalar_one() >= limit:
            raise TicketLimitReached(name)


@dataclass(frozen=True)
class TicketView:
    """A ticket detached from its session, for actions and the CLI."""

    number: str
    created_at: datetime
    conversation_id: str
    name: str
    contact: str
    contact_kind: str
    question: str
    transcript: str
    status: str
    webhook_status: str | None

    def as_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["created_at"] = self.created_at.isoformat()
        return data


def _view(row: Ticket) -> TicketView:
    created = row.created_at
    if created.tzinfo is None:  # SQLite drops the zone; every time stored is UTC
        created = created.replace(tzinfo=timezone.utc)
    return TicketView(row.number, created, row.conversation_id, row.name, row.contact,
                      row.contact_kind, row.question, row.transcript, row.status,
                      row.webhook_status)



def ticket_number(ticket_id: int, created_at: datetime) -> str:
    """Short, unique, easy to read over the phone: HT-<year>-<id, 5 digits>."""
    return f"{NUMBER_PREFIX}-{created_at.year}-{ticket_id:05d}"


def transcript(events: list[dict[str, Any]]) -> str:
    """The conversation as `time  who: text` lines, TPINs masked (payload clicks shown as such)."""
    lines = []
    for event in events:
        kind = event.get("event")
        if kind not in ("user", "bot"):
            continue
        text = event.get("text") or ""
        if kind == "user" and text.startswith("/"):
            text = f"[clicked {text}]"
        if not text:
            continue
        stamp = event.get("timestamp")
        when = (datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
                if isinstance(stamp, (int, float)) else "")
        who = "User" if kind == "user" else "Bot"
        lines.append(f"{when}  {who}: {text}".strip())
    return redact_tpins("\n".join(lines))


def create_ticket(conversation_id: str, name: str, contact: str, contact_kind: str,
                  question: str, transcript_text: str,
                  now: datetime | None = None,
                  limits: TicketLimits | None = None, client: str | None = None) -> TicketView:
    """Store a ticket and give it its number; the question and transcript are TPIN-masked.

    `client` is who asked (bot.channels.identity.person_of; the conversation when not given).
    Raises TicketLimitReached (nothing stored) when a limit of `limits` (default: from the
    environment) is used up; counted in the same transaction as the insert."""
    created = now or datetime.now(timezone.utc)
    limits = ticket_limits() if limits is None else limits
    client = (client or conversation_id)[:255]
    with session_scope() as session:
        _check_limits(session, limits, conversation_id, contact, created, client)
        row = Ticket(created_at=created, conversation_id=conversation_id, client=client,
                     name=name,
                     contact=contact, contact_kind=contact_kind,
                     question=redact_tpins(question), transcript=redact_tpins(transcript_text),
                     status="open")
        session.add(row)
        session.flush()  # assigns the id the number is made from
        row.number = ticket_number(row.id, created)
        view = _view(row)
    return view


def _set_webhook_status(number: str, status: str) -> None:
    with session_scope() as session:
        session.execute(sa.update(Ticket).where(Ticket.number == number)
                        .values(webhook_status=status[:64]))


def post_webhook(ticket: TicketView, env: dict[str, str] | None = None) -> str | None:
    """POST the ticket to TICKET_WEBHOOK_URL; return the outcome kept on the ticket.

    Never raises: the user already has their ticket number, and staff see failed posts in
    `python -m bot tickets list` (column "helpdesk").
    """
    env = os.environ if env is None else env
    url = (env.get("TICKET_WEBHOOK_URL") or "").strip()
    if not url:
        return None
    headers = {"Content-Type": "application/json"}
    token = (env.get("TICKET_WEBHOOK_TOKEN") or "").strip()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        timeout = float(env.get("TICKET_WEBHOOK_TIMEOUT") or DEFAULT_WEBHOOK_TIMEOUT)
    except ValueError:
        timeout = DEFAULT_WEBHOOK_TIMEOUT
    try:
        response = requests.post(url, json=ticket.as_json(), headers=headers, timeout=timeout)
        status = "sent" if response.ok else f"failed: HTTP {response.status_code}"
    except requests.RequestException as error:
        status = f"failed: {type(error).__name__}"
    if status != "sent":
        logger.warning("ticket %s not posted to the helpdesk webhook (%s)", ticket.number, status)
    try:
        _set_webhook_status(ticket.number, status)
    except Exception:  # the outcome is informative only
        logger.exception("could not record the webhook outcome of ticket %s", ticket.number)
    return status


def list_tickets(status: str | None = None, since: datetime | None = None,
                 limit: int | None = None) -> list[TicketView]:
    """Tickets, newest first."""
    query = sa.select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    if status:
        query = query.where(Ticket.status == status)
    if since:
        query = query.where(Ticket.created_at >= since)
    if limit:
        query = query.limit(limit)
    with session_scope() as session:
        return [_view(row) for row in session.execute(query).scalars()]


def get_ticket(number: str) -> TicketView | None:
    with session_scope() as session:
        row = session.execute(
            sa.select(Ticket).where(Ticket.number == number.strip().upper())
        ).scalar_one_or_none()
        return _view(row) if row else None


def set_status(number: str, status: str) -> bool:
    """Mark a ticket (e.g. `closed`); False when there is no such ticket."""
    with session_scope() as session:
        result = session.execute(sa.update(Ticket).where(Ticket.number == number.strip().upper())
                                 .values(status=status))
        return result.rowcount > 0
