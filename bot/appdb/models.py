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


def init_db() -> None:
    """Create every table that does not exist yet (existing tables are left as they are)."""
    Base.metadata.create_all(get_engine())
