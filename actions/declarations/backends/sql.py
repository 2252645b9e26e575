"""Declaration statuses from the application database (SQLite or PostgreSQL via SQLAlchemy)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from actions.declarations.backends.base import (
    DeclarationStatus,
    StatusBackend,
    StatusServiceUnavailable,
)
from bot.appdb.engine import session_scope
from bot.appdb.models import Declaration

logger = logging.getLogger(__name__)


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class SqlStatusBackend(StatusBackend):
    """One query matches reference and TPIN together, so a wrong TPIN and an unknown
    reference take the same path and the same time."""

    name = "sql"

    def lookup(self, reference: str, tpin: str) -> DeclarationStatus | None:
        return self._first(sa.select(
            Declaration.reference, Declaration.status, Declaration.lane, Declaration.last_changed
        ).where(
            Declaration.reference == reference,
            sa.or_(Declaration.consignee_tpin == tpin, Declaration.declarant_tpin == tpin),
        ), reference)

    def current_status(self, reference: str) -> DeclarationStatus | None:
        return self._first(sa.select(
            Declaration.reference, Declaration.status, Declaration.lane, Declaration.last_changed
        ).where(Declaration.reference == reference), reference)

    @staticmethod
    def _first(query: sa.sql.Select, reference: str) -> DeclarationStatus | None:
        try:
            with session_scope() as session:
                row = session.execute(query).first()
        except SQLAlchemyError as error:
            logger.error("declaration database unavailable: %s", type(error).__name__)
            raise StatusServiceUnavailable("declaration database unavailable") from error
        if row is None:
            return None
        try:
            return DeclarationStatus(row.reference, row.status, row.lane, _aware(row.last_changed))
        except ValueError as error:
            logger.error("declaration %s has unusable data: %s", reference, error)
            raise StatusServiceUnavailable("unusable declaration record") from error
