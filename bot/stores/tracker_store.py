"""A SQL tracker store that never writes a TPIN in clear text.

Rasa keeps every event of a conversation: the user's own words, the parsed entities, slot
values and bot messages. Any of these can hold a TPIN, so each event is redacted just before it
is written (and before it is streamed to an event broker). Rasa's own `events` table and its
reading code are kept unchanged.

Consequence for dialogue design: Rasa reloads the tracker from this store at every message, so a
TPIN given in one turn comes back masked in the next; the declaration form therefore looks the
declaration up in the same turn the TPIN arrives.

A long session is read back as its latest turns plus the state before them
(bot/stores/tracker_window.py, `TRACKER_WINDOW_TURNS`), so a turn costs the same at message 500
as at message 20; what is stored is unchanged.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any

import sqlalchemy
import sqlalchemy.orm
import sqlalchemy.pool
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs, ensure_schema_exists
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.utils.cli import print_error_and_exit

from bot import patches
from bot.patches import replay
from bot.privacy import install_log_redaction, redact_value
from bot.settings.env import env_number
from bot.stores.tracker_window import TrackerWindows, WindowReader, stored_count

logger = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Write-ahead log without an fsync per turn: commits were 31% of the server's time under
    load (py-spy, `make bench`). Safe against a crash of the process, not of the machine; the
    production store is PostgreSQL (TRACKER_DB_URL)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def redact_event(data: dict[str, Any]) -> dict[str, Any]:
    """A serialized event with every TPIN masked (text, parse data, entities, slots, metadata)."""
    return redact_value(data)


class RedactingSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose rows (and broker messages) carry masked TPINs only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The Rasa server imports this store at start-up: mask TPINs in its logs as well, and
        # apply the measured fix of bot/patches/speedups.py whatever the channel.
        install_log_redaction()
        patches.install()
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (
                None, "", ":memory:"):
            # SQLAlchemy 1.4 opens a new SQLite connection for every session (NullPool): a
            # connect, the pragmas and a close on each of the two store calls of every turn
            # were 9 % of the server's time under load (py-spy). Keep connections in a pool,
            # as SQLAlchemy 2.0 does by default for file databases.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sqlalchemy.create_engine(
                url, poolclass=sqlalchemy.pool.QueuePool, pool_size=4,
                max_overflow=4, pool_pre_ping=False,
                connect_args={"check_same_thread": False})
            self.sessionmaker = sqlalchemy.orm.session.sessionmaker(bind=self.engine)
        if self.engine.dialect.name == "sqlite":
            sqlalchemy.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.engine.dispose()  # connections opened so far lack the pragmas
        else:
            # A database restart or failover severs the pooled connections, and Rasa's engine
            # hands a dead one to the next turn of every server process (the technical-problem
            # apology). A ping at checkout replaces it (a round trip, about 0.1 ms on loopback).
            url = self.engine.url
            self.engine.dispose()
            self.engine = sqlalchemy.create_engine(url, pool_pre_ping=True,
                                                   **create_engine_kwargs(url))
            self.sessionmaker = sqlalchemy.orm.session.sessionmaker(bind=self.engine)
        # 0 reads every session whole, as Rasa does.
        self.windows = TrackerWindows(int(env_number("TRACKER_WINDOW_TURNS", 20, whole=True)))


    def _session_events_sql(self, columns: str, all_sessions: bool) -> sqlalchemy.sql.TextClause:
        """Rasa's `_event_query` as plain SQL: the same rows in the same order.

        SQLAlchemy rebuilt the cache key of Rasa's ORM query (a subquery inside an OR) at every
        call: 8 % of the server's time per message under load (py-spy, `make bench`).
        """
        table = self.SQLEvent.__tablename__
        where = "sender_id = :sender_id"
        if not all_sessions:
            latest = (f"(SELECT max(timestamp) FROM {table} "
                      "WHERE sender_id = :sender_id AND type_name = :started)")
            where += f" AND (timestamp >= {latest} OR {latest} IS NULL)"
        return sqlalchemy.text(f"SELECT {columns} FROM {table} WHERE {where}"
                               + (" ORDER BY id" if columns != "count(*)" else ""))

    @contextlib.contextmanager
    def session_scope(self) -> Iterator[sqlalchemy.orm.Session]:
        """Rasa's, but only a missing schema exits the server: Rasa's turns any `ValueError`
        inside the block into exiting it, and a driver raises one for text it cannot hold
        (PostgreSQL and a NUL, UTF-8 and a lone surrogate), so one request took it down."""
        session = self.sessionmaker()
        try:
            try:
                ensure_schema_exists(session)
            except ValueError as error:
                print_error_and_exit(
                    f"Requested PostgreSQL schema '{error}' was not found in the database. "
                    f"Create it ('CREATE SCHEMA {error};') or unset POSTGRESQL_SCHEMA.")
            yield session
        finally:
            session.close()

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session, or the tracker the repeat check of this turn has just read
        (bot/patches/replay.py), so that a message with an id costs one read, not two."""
        prefetched = replay.take_prefetched(sender_id)
        if prefetched is not None:
            return prefetched
        return await super().retrieve(sender_id)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        """Same as `SQLTrackerStore._retrieve`, with the query in plain SQL; the latest session
        of a long conversation windowed (bot/stores/tracker_window.py)."""
        if not fetch_events_from_all_sessions and self.windows.enabled and self.domain:
            return self.windows.tracker(sender_id, WindowReader(self), self.domain.slots)
        with self.session_scope() as session:
            rows = session.execute(
                self._session_events_sql("data", fetch_events_from_all_sessions),
                {"sender_id": sender_id, "started": SessionStarted.type_name}).all()
        events = [json.loads(data) for (data,) in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """Events of the tracker that are not stored yet (Rasa's rule, one COUNT in SQL; for a
        windowed tracker, those after the window)."""
        windowed = stored_count(tracker)
        if windowed is not None:
            return itertools.islice(tracker.events, windowed, len(tracker.events))
        stored = session.execute(
            self._session_events_sql("count(*)", all_sessions=False),
            {"sender_id": tracker.sender_id, "started": SessionStarted.type_name}).scalar()
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Same as `SQLTrackerStore.save`, with each event redacted before it is written.

        The new rows go in with one multi-row INSERT rather than through the ORM's unit of work.
        """
        await self.stream_events(tracker)

        with self.session_scope() as session:
            rows = []
            for event in self._additional_events(session, tracker):
                data = redact_event(event.as_dict())
                intent = (data.get("parse_data") or {}).get("intent", {}) or {}
                rows.append({
                    # Not redacted: rows are found by it (WhatsApp ids are phone numbers).
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": intent.get(INTENT_NAME_KEY),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                })
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        logger.debug("Tracker stored with TPINs redacted.")

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Rasa's, except that a windowed tracker says itself which events are new (Rasa reads
        the conversation again to count them)."""
        windowed = stored_count(tracker)
        if self.event_broker is None or windowed is None:
            return await super().stream_events(tracker)
        new_events = list(itertools.islice(tracker.events, windowed, len(tracker.events)))
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    async def _stream_new_events(self, event_broker: Any, new_events: list, sender_id: str) -> None:
        """Publish events to the broker redacted, like the rows."""
        for event in new_events:
            body = {"sender_id": sender_id}
            body.update(redact_event(event.as_dict()))
            event_broker.publish(body)
