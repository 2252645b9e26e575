"""Every table of the application database, and `init_db()` that creates them.

One module, so `Base.metadata` is complete as soon as it is imported: no registry of model
modules, no table created lazily before a call.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.appdb.engine import Base, get_engine


class Declaration(Base):
    """A declaration as the status lookup needs it (the customs system holds the rest)."""

    __tablename__ = "declarations"

    id = sa.Column(sa.Integer, primary_key=True)
    reference = sa.Column(sa.String(32), nullable=False, unique=True, index=True)
    declarant_tpin = sa.Column(sa.String(10), nullable=True)
    consignee_tpin = sa.Column(sa.String(10), nullable=True)
    status = sa.Column(sa.String(20), nullable=False)
    lane = sa.Column(sa.String(10), nullable=True)
    last_changed = sa.Column(sa.DateTime(timezone=True), nullable=False)


class FailedLookup(Base):
    """One failed lookup (unknown reference or wrong TPIN: they are not told apart)."""

    __tablename__ = "declaration_failed_lookups"

    id = sa.Column(sa.Integer, primary_key=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, index=True)
    reference = sa.Column(sa.String(32), nullable=False, index=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    # Who failed (bot.channels.identity.person_of) and a keyed hash of the TPIN tried, never
    # the TPIN itself (bot.privacy.keyed_hash). Empty in rows written before issue 13.
    client = sa.Column(sa.String(255), nullable=True, index=True)
    tpin_hash = sa.Column(sa.String(64), nullable=True, index=True)


class Ticket(Base):
    """One request for a person."""

    __tablename__ = "support_tickets"

    id = sa.Column(sa.Integer, primary_key=True)
    number = sa.Column(sa.String(32), unique=True, index=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
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
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, index=True)
    entry_id = sa.Column(sa.String(64), nullable=False, index=True)
    # Timestamp of the answer voted on: identifies it within the conversation.
    answered_at = sa.Column(sa.Float, nullable=False)
    helpful = sa.Column(sa.Boolean, nullable=False)


class NotifySubscription(Base):
    """One person's opt-in to hear when one declaration's status changes (issue 14).

    The recipient is the conversation id (`whatsapp:<number>`, `telegram:<chat id>`, or the
    web widget's sender id); no TPIN is kept, in clear or otherwise: the person proved it at
    the lookup, and later statuses come from the customs system by reference.
    """

    __tablename__ = "notify_subscriptions"

    id = sa.Column(sa.Integer, primary_key=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    channel = sa.Column(sa.String(16), nullable=False)  # whatsapp, telegram, web
    recipient = sa.Column(sa.String(255), nullable=False, index=True)
    reference = sa.Column(sa.String(32), nullable=False, index=True)
    last_status = sa.Column(sa.String(20), nullable=False)  # the last status the person was told
    last_changed = sa.Column(sa.DateTime(timezone=True), nullable=True)
    consent_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    consent_text = sa.Column(sa.Text, nullable=False)  # the offer as the person read it
    last_inbound_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    expires_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    ended_at = sa.Column(sa.DateTime(timezone=True), nullable=True, index=True)
    end_reason = sa.Column(sa.String(16), nullable=True)  # stopped, final, expired
    last_polled_at = sa.Column(sa.DateTime(timezone=True), nullable=True)


class StatusNotification(Base):
    """One status change to tell one subscriber: recorded before it is sent (the outbox).

    Unique per (subscription, status), so a retried webhook, a second poller or a second
    replica cannot tell the same change twice. `state`: pending -> sending -> sent; a failed
    send goes back to pending with a later `next_attempt_at`, up to the attempt limit
    (failed); a send interrupted after it may have reached the platform is `uncertain` and is
    not repeated; `cancelled` after "stop notifications".
    """

    __tablename__ = "notify_notifications"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "status"),)

    id = sa.Column(sa.Integer, primary_key=True)
    subscription_id = sa.Column(sa.Integer, sa.ForeignKey("notify_subscriptions.id"),
                                nullable=False, index=True)
    channel = sa.Column(sa.String(16), nullable=False)
    recipient = sa.Column(sa.String(255), nullable=False, index=True)
    reference = sa.Column(sa.String(32), nullable=False)
    status = sa.Column(sa.String(20), nullable=False)
    changed_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
    source = sa.Column(sa.String(16), nullable=False)  # webhook or poll
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    state = sa.Column(sa.String(16), nullable=False, index=True)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    next_attempt_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    claim = sa.Column(sa.String(32), nullable=True)
    lease_until = sa.Column(sa.DateTime(timezone=True), nullable=True)
    sent_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
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
    changed_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    received_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)


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


def init_db() -> list[str]:
    """Create every table that does not exist yet and add the columns a table made by an older
    version lacks; the names of the columns added."""
    from bot.appdb.engine import database_schema

    engine = get_engine()
    with engine.begin() as conn:
        added = _add_missing_columns(conn, database_schema())
    Base.metadata.create_all(engine)
    return added
