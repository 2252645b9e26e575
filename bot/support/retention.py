"""Deleting old conversations from the conversation store.

Retention deletes what is older than N days (`CONVERSATION_RETENTION_DAYS`, default 180): whole
conversations whose last event is older, and the old part of longer ones, cut at a session start
so that no conversation is left beginning in the middle of a session. Finding the store and its
events table is `bot.support.events`' job.

    python -m bot retention [--days N] [--dry-run]     # run it daily, e.g. from cron
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.names import SESSION_START_ACTION
from bot.settings.env import env_number
from bot.support.events import events_table, tracker_engine

DEFAULT_RETENTION_DAYS = 180


def retention_days(env: Mapping[str, str] | None = None) -> int:
    """Days to keep, from `CONVERSATION_RETENTION_DAYS`; a bad value raises a clear ValueError."""
    env = os.environ if env is None else env
    return int(env_number("CONVERSATION_RETENTION_DAYS", DEFAULT_RETENTION_DAYS, env,
                          whole=True, minimum=1))


@dataclass(frozen=True)
class RetentionResult:
    conversations_deleted: int  # conversations with nothing left
    events_deleted: int
    cutoff: float  # unix time: events before it are gone


def apply_retention(engine: Engine, days: int, now: float | None = None,
                    dry_run: bool = False) -> RetentionResult:
    """Delete events older than `days` days; return what was (or would be) deleted."""
    if days < 1:
        raise ValueError("days must be at least 1")
    cutoff = (now if now is not None else time.time()) - days * 86400
    table = events_table(engine)
    if table is None:
        return RetentionResult(0, 0, cutoff)
    t = table.c
    with engine.begin() as conn:
        senders = conn.execute(
            sa.select(t.sender_id, sa.func.max(t.timestamp))
            .where(t.sender_id.in_(sa.select(t.sender_id).where(t.timestamp < cutoff)))
            .group_by(t.sender_id)
        ).all()
        whole = [sender for sender, last in senders if last < cutoff]
        partial = [sender for sender, last in senders if last >= cutoff]
        events = 0
        for chunk in _chunks(whole, 500):
            query = sa.delete(table).where(t.sender_id.in_(chunk))
            if dry_run:
                query = sa.select(sa.func.count()).select_from(table).where(
                    t.sender_id.in_(chunk))
                events += conn.execute(query).scalar_one()
            else:
                events += conn.execute(query).rowcount
        for sender in partial:
            # Keep the session that holds the first event after the cutoff whole: cut where it
            # began (its `action_session_start`), or at the cutoff if there are no sessions.
            first_kept = conn.execute(
                sa.select(sa.func.min(t.timestamp)).where(t.sender_id == sender,
                                                          t.timestamp >= cutoff)
            ).scalar_one()
            start = conn.execute(
                sa.select(sa.func.max(t.timestamp)).where(
                    t.sender_id == sender, t.timestamp <= first_kept,
                    sa.or_(t.type_name == "session_started",
                           sa.and_(t.type_name == "action",
                                   t.action_name == SESSION_START_ACTION)))
            ).scalar_one_or_none()
            if start is not None:
                # A session begins with the `action_session_start` just before its event.
                opener = conn.execute(
                    sa.select(sa.func.max(t.timestamp)).where(
                        t.sender_id == sender, t.type_name == "action",
                        t.action_name == SESSION_START_ACTION, t.timestamp <= start)
                ).scalar_one_or_none()
                start = min(start, opener if opener is not None else start)
            start = min(start if start is not None else cutoff, cutoff)
            where = sa.and_(t.sender_id == sender, t.timestamp < start)
            if dry_run:
                events += conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(where)).scalar_one()
            else:
                events += conn.execute(sa.delete(table).where(where)).rowcount
    return RetentionResult(len(whole), events, cutoff)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def main(days: int | None = None, dry_run: bool = False) -> int:
    """CLI entry: prints what was deleted; non-zero exit on a configuration error."""
    try:
        days = days or retention_days()
    except ValueError as error:
        print(error)
        return 1
    engine = tracker_engine()
    try:
        result = apply_retention(engine, days, dry_run=dry_run)
    except sa.exc.SQLAlchemyError as error:
        print(f"Cannot reach the conversation store ({engine.url.render_as_string()}): "
              f"{type(error).__name__}")
        return 1
    finally:
        engine.dispose()
    verb = "Would delete" if dry_run else "Deleted"
    print(f"{verb} {result.events_deleted} event(s) older than {days} days; "
          f"{result.conversations_deleted} conversation(s) removed entirely.")
    return 0
