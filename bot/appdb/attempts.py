"""Limits on failed declaration lookups, kept in the database.

A reference is sequential (`2026 LSK C 10452`) and a TPIN is printed on every invoice, so
neither is secret on its own: only the pair is. The limits must stop two attacks without
becoming one themselves (docs/security.md, "Declaration lookups", has the reasoning):

- walking references with one known TPIN (or TPINs for one reference), from fresh
  conversations: counted per conversation, per person across conversations (the identity
  the channel verified: a REST client's address, a WhatsApp number, a Telegram chat), and per
  TPIN across everyone (a keyed hash, never the TPIN);
- locking the rightful owner out: the limits shared with strangers (per reference, per TPIN)
  never refuse a person's first try; once reached, they only take away the retries of those
  who have already failed on that reference or TPIN. So no number of other people's failures
  stops a person who types the right pair.

Counts are rows in the application database, so they hold across restarts and replicas.

Environment (defaults in brackets):
  DECLARATION_MAX_FAILED_PER_CONVERSATION  [3]    failed lookups per conversation ...
  DECLARATION_CONVERSATION_WINDOW_MINUTES  [1440] ... within this many minutes (24 h)
  DECLARATION_MAX_FAILED_PER_CLIENT        [10]   failed lookups per person, all chats ...
  DECLARATION_CLIENT_WINDOW_MINUTES        [1440] ... within this many minutes
  DECLARATION_MAX_FAILED_PER_REFERENCE     [5]    failures on one reference (everyone) ...
  DECLARATION_REFERENCE_WINDOW_MINUTES     [60]   ... after which a person who failed on it
                                                  gets no retry
  DECLARATION_MAX_FAILED_PER_TPIN          [5]    failures with one TPIN (everyone) ...
  DECLARATION_TPIN_WINDOW_MINUTES          [1440] ... after which a person who failed with it
                                                  gets no retry
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.appdb.engine import session_scope
from bot.appdb.models import FailedLookup
from bot.privacy import keyed_hash
from bot.settings.env import env_number

logger = logging.getLogger(__name__)


def _env_int(name: str, default: int) -> int:
    return int(env_number(name, default, whole=True, minimum=1))


def _minutes(name: str, default: int) -> timedelta:
    return timedelta(minutes=_env_int(name, default))


@dataclass(frozen=True)
class LookupLimits:
    per_conversation: int = 3
    conversation_window: timedelta = timedelta(minutes=1440)
    per_reference: int = 5
    reference_window: timedelta = timedelta(minutes=60)
    per_client: int = 10
    client_window: timedelta = timedelta(minutes=1440)
    per_tpin: int = 5
    tpin_window: timedelta = timedelta(minutes=1440)

    @classmethod
    def from_env(cls) -> LookupLimits:
        return cls(
            per_conversation=_env_int("DECLARATION_MAX_FAILED_PER_CONVERSATION", 3),
            conversation_window=_minutes("DECLARATION_CONVERSATION_WINDOW_MINUTES", 1440),
            per_reference=_env_int("DECLARATION_MAX_FAILED_PER_REFERENCE", 5),
            reference_window=_minutes("DECLARATION_REFERENCE_WINDOW_MINUTES", 60),
            per_client=_env_int("DECLARATION_MAX_FAILED_PER_CLIENT", 10),
            client_window=_minutes("DECLARATION_CLIENT_WINDOW_MINUTES", 1440),
            per_tpin=_env_int("DECLARATION_MAX_FAILED_PER_TPIN", 5),
            tpin_window=_minutes("DECLARATION_TPIN_WINDOW_MINUTES", 1440),
        )

    @property
    def longest_window(self) -> timedelta:
        return max(self.conversation_window, self.reference_window, self.client_window,
                   self.tpin_window)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def tpin_hash(tpin: str) -> str:
    """What a failure is counted by for its TPIN: a keyed hash of its ten digits."""
    return keyed_hash("tpin", "".join(ch for ch in str(tpin) if ch.isdigit()))


class AttemptLimiter:
    """Counts failed lookups: `reserve()` before a lookup (it checks the limits and counts the
    lookup as a failure in one transaction), `release()` when it found the declaration or
    could not be made; `allowed()` reads the limits only, `record_failure()` adds a miss.

    `client` is the person (bot.channels.identity.person_of; the conversation when not
    given), `tpin` the TPIN tried (hashed here, never stored)."""

    def __init__(self, limits: LookupLimits | None = None, clock=_now) -> None:
        self.limits = limits or LookupLimits.from_env()
        self.clock = clock

    def _count(self, session, window: timedelta, *conditions) -> int:
        query = sa.select(sa.func.count(FailedLookup.id)).where(
            FailedLookup.created_at >= self.clock() - window, *conditions)
        return int(session.execute(query).scalar_one())

    def _shared_limit_reached(self, session, column, value: str, limit: int,
                              window: timedelta, client: str) -> bool:
        """A limit shared with strangers refuses only a person who failed on `value` too."""
        if self._count(session, window, column == value) < limit:
            return False
        return self._count(session, window, column == value, FailedLookup.client == client) > 0

    def allowed(self, conversation_id: str, reference: str, client: str | None = None,
                tpin: str | None = None, session: Session | None = None) -> bool:
        """False once a limit is reached: the user is sent to the contact centre."""
        if session is None:
            with session_scope() as session:
                return self.allowed(conversation_id, reference, client, tpin, session)
        client = client or conversation_id
        limits = self.limits
        if self.locked_out(conversation_id, client, session):
            return False
        if self._shared_limit_reached(session, FailedLookup.reference, reference,
                                      limits.per_reference, limits.reference_window,
                                      client):
            return False
        return tpin is None or not self._shared_limit_reached(
            session, FailedLookup.tpin_hash, tpin_hash(tpin), limits.per_tpin,
            limits.tpin_window, client)

    def locked_out(self, conversation_id: str, client: str | None = None,
                   session: Session | None = None) -> bool:
        """The person's own limits are reached (this conversation's, this client's): no
        reference would be looked up, so none is asked for."""
        if session is None:
            with session_scope() as session:
                return self.locked_out(conversation_id, client, session)
        limits = self.limits
        return (self._count(session, limits.conversation_window,
                            FailedLookup.conversation_id == conversation_id)
                >= limits.per_conversation
                or self._count(session, limits.client_window,
                               FailedLookup.client == (client or conversation_id))
                >= limits.per_client)

    def _row(self, conversation_id: str, reference: str, client: str | None,
             tpin: str | None) -> FailedLookup:
        return FailedLookup(conversation_id=conversation_id[:255], reference=reference,
                            created_at=self.clock(), client=(client or conversation_id)[:255],
                            tpin_hash=tpin_hash(tpin) if tpin else None)

    def _add(self, session, row: FailedLookup) -> None:
        session.add(row)
        session.execute(sa.delete(FailedLookup).where(
            FailedLookup.created_at < row.created_at - self.limits.longest_window))
        session.flush()

    def record_failure(self, conversation_id: str, reference: str, client: str | None = None,
                       tpin: str | None = None) -> None:
        """Store one failed lookup and drop rows older than every window."""
        with session_scope() as session:
            self._add(session, self._row(conversation_id, reference, client, tpin))

    def reserve(self, conversation_id: str, reference: str, client: str | None = None,
                tpin: str | None = None) -> int | None:
        """None when a limit is reached; else the id of a failure recorded for this lookup
        before it is made, to `release()` if it finds the declaration.

        Checking with `allowed()` and recording after the answer let N parallel lookups all
        pass before the first miss was written. Here the check and the record are one
        transaction that holds, for its few milliseconds, the locks of the conversation, the
        person, the reference and the TPIN (PostgreSQL advisory locks, always taken in one
        order; on SQLite the database's write lock, `BEGIN IMMEDIATE`): a lookup in flight
        counts as a failure until it is released, so at most the limit get through. A lookup
        whose process dies in between stays counted, on the safe side."""
        row = self._row(conversation_id, reference, client, tpin)
        with session_scope() as session:
            _serialize(session, [f"conversation:{row.conversation_id}",
                                 f"client:{row.client}", f"reference:{reference}",
                                 f"tpin:{row.tpin_hash}"])
            if not self.allowed(conversation_id, reference, client, tpin, session=session):
                return None
            self._add(session, row)
            return int(row.id)

    def release(self, reservation: int) -> None:
        """The reserved lookup found the declaration (or was not made): it is no failure."""
        with session_scope() as session:
            session.execute(sa.delete(FailedLookup).where(FailedLookup.id == reservation))


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for `name` (the same in every process)."""
    import hashlib

    digest = hashlib.blake2b(f"customs-lookups\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _serialize(session, names: list[str]) -> None:
    """Make this transaction the only one checking these counts until it ends."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        for key in sorted({_lock_key(name) for name in names}):  # one order: no deadlock
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif dialect == "sqlite":
        # pysqlite begins a transaction only at the first write: take the write lock before
        # counting (other writers wait up to the connection's 15 s busy timeout).
        session.execute(sa.text("BEGIN IMMEDIATE"))
