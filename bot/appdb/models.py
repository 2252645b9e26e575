"""Every table of the application database, and `init_db()` that creates them.

One module, so `Base.metadata` is complete as soon as it is imported: no registry of model
modules, no table created lazily before a call.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from bot.appdb.engine import Base, get_engine


class UtcDateTime(sa.types.TypeDecorator):
    """A time stored as UTC on every database: SQLite keeps the wall-clock time and drops the
    offset, so a +02:00 time (Zambia) read back as UTC was two hours in the future, and times
    compared wrongly (a fresh change missed, an older one taken for news). Read back aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(timezone.utc)
        return value  # naive: already UTC (every time the code makes is)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Declaration(Base):
    """A declaration as the status lookup needs it (the customs system holds the rest)."""

    __tablename__ = "declarations"

    id = sa.Column(sa.Integer, primary_key=True)
    reference = sa.Column(sa.String(32), nullable=False, unique=True, index=True)
    declarant_tpin = sa.Column(sa.String(10), nullable=True)
    consignee_tpin = sa.Column(sa.String(10), nullable=True)
    status = sa.Column(sa.String(20), nullable=False)
    lane = sa.Column(sa.String(10), nullable=True)
    last_changed = sa.Column(UtcDateTime(), nullable=False)


class FailedLookup(Base):
    """One failed lookup (unknown reference or wrong TPIN: they are not told apart)."""

    __tablename__ = "declaration_failed_lookups"

    id = sa.Column(sa.Integer, primary_key=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, index=True)
    reference = sa.Column(sa.String(32), nullable=False, index=True)
    created_at = sa.Column(UtcDateTime(), nullable=False, index=True)
    # Who failed (bot.channels.identity.person_of) and a keyed hash of the TPIN tried, never
    # the TPIN itself (bot.privacy.keyed_hash). Empty in rows written before issue 13.
    client = sa.Column(sa.String(255), nullable=True, index=True)
    tpin_hash = sa.Column(sa.String(64), nullable=True, index=True)


class Ticket(Base):
    """One request for a person."""

    __tablename__ = "support_tickets"

    id = sa.Column(sa.Integer, primary_key=True)
    number = sa.Column(sa.String(32), unique=True, index=True)
    created_at = sa.Column(UtcDateTime(), nullable=False, index=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, index=True)
    name = sa.Column(sa.String(120), nullable=False)
    contact = sa.Column(sa.String(255), nullable=False)
    contact_kind = sa.Column(sa.String(16), nullable=False)  # "phone" or "email"
    # Who asked (bot.channels.identity.person_of): a REST client's hashed address, a WhatsApp
    # or Telegram conversation. Empty in tickets made before issue 13.
    client = sa.Column(sa.String(255), nullable=True, index=True)
    question = sa.Column(sa.Text, nullable=False)
    transcript = sa.Column(sa.Text, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default="open")
    webhook_status = sa.Column(sa.String(64), nullable=True)  # None: no webhook configured


class Vote(Base):
    """One user's verdict on one knowledge answer."""

    __tablename__ = "answer_votes"
    __table_args__ = (sa.UniqueConstraint("conversation_id", "answered_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    created_at = sa.Column(UtcDateTime(), nullable=False, index=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, index=True)
    entry_id = sa.Column(sa.String(64), nullable=False, index=True)
    # Timestamp of the answer voted on: identifies it within the conversation.
    answered_at = sa.Column(sa.Float, nullable=False)
    helpful = sa.Column(sa.Boolean, nullable=False)


# The exactly-once key of the outbox (replaced the unique (subscription_id, status) of the
# first version, which never told a status seen a second time).
NOTIFY_CHANGE_INDEX = "uq_notify_notifications_change"


class NotifySubscription(Base):
    """One person's opt-in to hear when one declaration's status changes (issue 14).

    The recipient is the conversation id (`whatsapp:<number>`, `telegram:<chat id>`, or the
    web widget's sender id); no TPIN is kept, in clear or otherwise: the person proved it at
    the lookup, and later statuses come from the customs system by reference.
    """

    __tablename__ = "notify_subscriptions"

    id = sa.Column(sa.Integer, primary_key=True)
    created_at = sa.Column(UtcDateTime(), nullable=False, index=True)
    channel = sa.Column(sa.String(16), nullable=False)  # whatsapp, telegram, web
    recipient = sa.Column(sa.String(255), nullable=False, index=True)
    reference = sa.Column(sa.String(32), nullable=False, index=True)
    last_status = sa.Column(sa.String(20), nullable=False)  # the last status the person was told
    last_changed = sa.Column(UtcDateTime(), nullable=True)
    consent_at = sa.Column(UtcDateTime(), nullable=False)
    consent_text = sa.Column(sa.Text, nullable=False)  # the offer as the person read it
    last_inbound_at = sa.Column(UtcDateTime(), nullable=False)
    expires_at = sa.Column(UtcDateTime(), nullable=False, index=True)
    ended_at = sa.Column(UtcDateTime(), nullable=True, index=True)
    end_reason = sa.Column(sa.String(16), nullable=True)  # stopped, final, expired
    last_polled_at = sa.Column(UtcDateTime(), nullable=True)


class StatusNotification(Base):
    """One status change to tell one subscriber: recorded before it is sent (the outbox).

    Unique per (subscription, change): `change_key` names the change (the new status and when
    it changed, see bot.appdb.notifications.change_key), so a retried webhook, a second poller
    or a second replica cannot tell the same change twice, while a status seen again later
    (assessed -> query -> assessed) is a new change and is told again. `state`: pending ->
    sending -> sent; a failed send goes back to pending with a later `next_attempt_at`, up to
    the attempt limit (failed); a send interrupted after it may have reached the platform is
    `uncertain` and is not repeated; `cancelled` after "stop notifications".
    """

    __tablename__ = "notify_notifications"
    __table_args__ = (sa.Index(NOTIFY_CHANGE_INDEX, "subscription_id", "change_key",
                               unique=True),)

    id = sa.Column(sa.Integer, primary_key=True)
    subscription_id = sa.Column(sa.Integer, sa.ForeignKey("notify_subscriptions.id"),
                                nullable=False, index=True)
    channel = sa.Column(sa.String(16), nullable=False)
    recipient = sa.Column(sa.String(255), nullable=False, index=True)
    reference = sa.Column(sa.String(32), nullable=False)
    status = sa.Column(sa.String(20), nullable=False)
    changed_at = sa.Column(UtcDateTime(), nullable=True)
    # Which change this tells (always set; nullable only so `db init` can add it to an older
    # table, whose rows get `legacy:<status>`).
    change_key = sa.Column(sa.String(160), nullable=True)
    source = sa.Column(sa.String(16), nullable=False)  # webhook or poll
    created_at = sa.Column(UtcDateTime(), nullable=False, index=True)
    state = sa.Column(sa.String(16), nullable=False, index=True)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    next_attempt_at = sa.Column(UtcDateTime(), nullable=False, index=True)
    claim = sa.Column(sa.String(32), nullable=True)
    lease_until = sa.Column(UtcDateTime(), nullable=True)
    sent_at = sa.Column(UtcDateTime(), nullable=True)
    via = sa.Column(sa.String(16), nullable=True)  # text or template (WhatsApp), inbox (web)
    text = sa.Column(sa.Text, nullable=True)  # what was sent (the web widget reads it)
    last_error = sa.Column(sa.String(200), nullable=True)


class CustomsStatusEvent(Base):
    """A status change pushed by the customs system, kept by event id (idempotency)."""

    __tablename__ = "customs_status_events"

    id = sa.Column(sa.Integer, primary_key=True)
    event_id = sa.Column(sa.String(128), nullable=False, unique=True)
    reference = sa.Column(sa.String(32), nullable=False)
    status = sa.Column(sa.String(20), nullable=False)
    changed_at = sa.Column(UtcDateTime(), nullable=False)
    received_at = sa.Column(UtcDateTime(), nullable=False, index=True)


def _add_missing_columns(conn: sa.engine.Connection, schema: str | None) -> list[str]:
    """Columns declared here but missing in an existing table (added by a later version):
    added, nullable, so a database made by an older version keeps working."""
    inspector = sa.inspect(conn)
    added = []
    for table in Base.metadata.sorted_tables:
        if not inspector.has_table(table.name, schema=schema):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name, schema=schema)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise RuntimeError(f"{table.name}.{column.name} is missing and not nullable")
            kind = column.type.compile(dialect=conn.dialect)
            name = f'"{schema}"."{table.name}"' if schema else f'"{table.name}"'
            conn.execute(sa.text(f'ALTER TABLE {name} ADD COLUMN "{column.name}" {kind}'))
            added.append(f"{table.name}.{column.name}")
    return added


def _rebuild_sqlite_table(conn: sa.engine.Connection, table: sa.Table) -> None:
    """SQLite cannot drop a table's UNIQUE constraint: copy the rows into the table as
    declared now, then put its indexes back."""
    ddl = str(sa.schema.CreateTable(table).compile(dialect=conn.dialect))
    temp = f"{table.name}__rebuild"
    conn.execute(sa.text(f'DROP TABLE IF EXISTS "{temp}"'))  # left by an interrupted run
    conn.exec_driver_sql(re.sub(rf"CREATE TABLE \"?{table.name}\"?", f'CREATE TABLE "{temp}"',
                                ddl, count=1))
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    conn.execute(sa.text(f'INSERT INTO "{temp}" ({columns}) SELECT {columns} '
                         f'FROM "{table.name}"'))
    conn.execute(sa.text(f'DROP TABLE "{table.name}"'))
    conn.execute(sa.text(f'ALTER TABLE "{temp}" RENAME TO "{table.name}"'))
    for index in table.indexes:
        index.create(conn)


def _upgrade_notify_key(conn: sa.engine.Connection, schema: str | None) -> list[str]:
    """An outbox made by the first version: give its rows a change key, replace its unique
    (subscription_id, status) by the unique (subscription_id, change_key) index."""
    table = StatusNotification.__table__
    inspector = sa.inspect(conn)
    if not inspector.has_table(table.name, schema=schema):
        return []
    name = f'"{schema}"."{table.name}"' if schema else f'"{table.name}"'
    conn.execute(sa.text(f"UPDATE {name} SET change_key = 'legacy:' || status "
                         "WHERE change_key IS NULL"))
    old = [u for u in inspector.get_unique_constraints(table.name, schema=schema)
           if sorted(u["column_names"]) == ["status", "subscription_id"]]
    done = []
    if old and conn.dialect.name == "sqlite":
        _rebuild_sqlite_table(conn, table)
        done.append(f"{table.name}: rebuilt without unique (subscription_id, status)")
    else:
        for constraint in old:
            conn.execute(sa.text(f'ALTER TABLE {name} DROP CONSTRAINT "{constraint["name"]}"'))
            done.append(f"{table.name}: dropped unique (subscription_id, status)")
    indexes = {i["name"] for i in sa.inspect(conn).get_indexes(table.name, schema=schema)}
    if NOTIFY_CHANGE_INDEX not in indexes:
        next(i for i in table.indexes if i.name == NOTIFY_CHANGE_INDEX).create(conn)
        done.append(f"{table.name}: index {NOTIFY_CHANGE_INDEX}")
    return done


def init_db() -> list[str]:
    """Create every table that does not exist yet, add the columns a table made by an older
    version lacks and upgrade its keys; the names of the columns and keys added."""
    from bot.appdb.engine import database_schema

    engine = get_engine()
    with engine.begin() as conn:
        schema = database_schema()
        added = _add_missing_columns(conn, schema)
        added += _upgrade_notify_key(conn, schema)
    Base.metadata.create_all(engine)
    return added
