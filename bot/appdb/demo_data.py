"""The six demo declarations of the sample deployment (illustrative office codes, not real)."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.appdb.engine import session_scope
from bot.appdb.models import Declaration


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# reference, TPIN (consignee), status, lane, last change
DEMO_DECLARATIONS: tuple[tuple[str, str, str, str | None, datetime], ...] = (
    ("2026 LSK C 10452", "1002003004", "assessed", None, _utc(2026, 11, 26, 9, 40)),
    ("2026 CHR C 20871", "1002003004", "released", "green", _utc(2026, 11, 24, 14, 5)),
    ("2026 KZL C 3310", "2003004005", "paid", "red", _utc(2026, 11, 27, 11, 20)),
    ("2026 NAK C 77", "2003004005", "query", "yellow", _utc(2026, 11, 25, 16, 0)),
    ("2026 KAS C 5120", "3004005006", "registered", None, _utc(2026, 11, 28, 8, 15)),
    ("2025 LSK C 99881", "3004005006", "cancelled", None, _utc(2025, 12, 3, 10, 0)),
)


def seed_demo_declarations() -> int:
    """Insert the demo records that are missing; returns how many were added.

    Two processes seeding at once: the loser's insert hits the unique reference and is
    dropped, since the winner already added the same records.
    """
    try:
        return _seed()
    except IntegrityError:
        return 0


def _seed() -> int:
    added = 0
    with session_scope() as session:
        existing = set(session.execute(sa.select(Declaration.reference)).scalars())
        for reference, tpin, status, lane, changed in DEMO_DECLARATIONS:
            if reference in existing:
                continue
            session.add(
                Declaration(
                    reference=reference,
                    consignee_tpin=tpin,
                    status=status,
                    lane=lane,
                    last_changed=changed,
                )
            )
            added += 1
    return added
