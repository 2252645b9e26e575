"""LookupLimits on failed declaration lookups, kept in the database.

Two limits stop TPIN guessing:
- per conversation: a chat that failed too often gets no more lookups for a while;
- per reference across conversations: many fresh chats cannot take turns guessing the TPIN of
  one declaration.
Counts are rows in the application database, so they hold across restarts and replicas. Only
the conversation id and the canonical reference are stored, never a TPIN.

Environment (defaults in brackets):
  DECLARATION_MAX_FAILED_PER_CONVERSATION  [3]    failed lookups per conversation ...
  DECLARATION_CONVERSATION_WINDOW_MINUTES  [1440] ... within this many minutes (24 h)
  DECLARATION_MAX_FAILED_PER_REFERENCE     [5]    failed lookups of one reference, all chats ...
  DECLARATION_REFERENCE_WINDOW_MINUTES     [60]   ... within this many minutes
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from bot.appdb.engine import session_scope
from bot.appdb.models import FailedLookup
from bot.settings.env import env_number


def _env_int(name: str, default: int) -> int:
    return int(env_number(name, default, whole=True, minimum=1))


@dataclass(frozen=True)
class LookupLimits:
    per_conversation: int = 3
    conversation_window: timedelta = timedelta(minutes=1440)
    per_reference: int = 5
    reference_window: timedelta = timedelta(minutes=60)

    @classmethod
    def from_env(cls) -> LookupLimits:
        return cls(
            per_conversation=_env_int("DECLARATION_MAX_FAILED_PER_CONVERSATION", 3),
            conversation_window=timedelta(
                minutes=_env_int("DECLARATION_CONVERSATION_WINDOW_MINUTES", 1440)
            ),
            per_reference=_env_int("DECLARATION_MAX_FAILED_PER_REFERENCE", 5),
            reference_window=timedelta(
                minutes=_env_int("DECLARATION_REFERENCE_WINDOW_MINUTES", 60)
            ),
        )


def _now() -> datetime:
    return datetime.now(timezone.utc)


class AttemptLimiter:
    """Counts failed lookups; `allowed()` before a lookup, `record_failure()` after a miss."""

    def __init__(self, limits: LookupLimits | None = None, clock=_now) -> None:
        self.limits = limits or LookupLimits.from_env()
        self.clock = clock

    def _count(self, session, column, value: str, window: timedelta) -> int:
        since = self.clock() - window
        query = sa.select(sa.func.count(FailedLookup.id)).where(
            column == value, FailedLookup.created_at >= since
        )
        return int(session.execute(query).scalar_one())

    def allowed(self, conversation_id: str, reference: str) -> bool:
        """False once either limit is reached: the user is sent to the contact centre."""
        with session_scope() as session:
            by_conversation = self._count(
                session, FailedLookup.conversation_id, conversation_id,
                self.limits.conversation_window,
            )
            if by_conversation >= self.limits.per_conversation:
                return False
            by_reference = self._count(
                session, FailedLookup.reference, reference, self.limits.reference_window
            )
            return by_reference < self.limits.per_reference

    def record_failure(self, conversation_id: str, reference: str) -> None:
        """Store one failed lookup and drop rows older than both windows."""
        now = self.clock()
        oldest_needed = now - max(self.limits.conversation_window, self.limits.reference_window)
        with session_scope() as session:
            session.add(
                FailedLookup(
                    conversation_id=conversation_id[:255], reference=reference, created_at=now
                )
            )
            session.execute(sa.delete(FailedLookup).where(FailedLookup.created_at < oldest_needed))
