"""Votes on knowledge answers ("did this help?"): one per answer, a second click changes it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from bot.appdb.engine import session_scope
from bot.appdb.models import Vote
from bot.names import ANSWER_ACTION, INTENT_PREFIX


def last_answer(events: list[dict[str, Any]]) -> tuple[str, float] | None:
    """(entry id, answer timestamp) of the latest knowledge answer in these tracker events."""
    answered_at: float | None = None
    for event in reversed(events):
        kind = event.get("event")
        if answered_at is None:
            if kind == "action" and event.get("name") == ANSWER_ACTION:
                answered_at = float(event.get("timestamp") or 0.0)
            continue
        if kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
            if intent.startswith(INTENT_PREFIX):
                return intent[len(INTENT_PREFIX):], answered_at
            answered_at = None  # that answer was not for a kb_ intent: look further back
    return None


def record_vote(conversation_id: str, entry_id: str, answered_at: float, helpful: bool,
                now: datetime | None = None) -> None:
    """Store a vote; a second vote on the same answer replaces the first."""
    now = now or datetime.now(timezone.utc)
    with session_scope() as session:
        existing = session.execute(
            sa.select(Vote).where(Vote.conversation_id == conversation_id,
                                  Vote.answered_at == answered_at)
        ).scalar_one_or_none()
        if existing is not None:
            existing.helpful = helpful
            existing.created_at = now
        else:
            session.add(Vote(created_at=now, conversation_id=conversation_id,
                             entry_id=entry_id, answered_at=answered_at, helpful=helpful))


def vote_counts(since: datetime | None = None,
                until: datetime | None = None) -> dict[str, dict[str, int]]:
    """{entry id: {"helpful": n, "not_helpful": m}} for votes cast in [since, until)."""
    query = sa.select(Vote.entry_id, Vote.helpful, sa.func.count()).group_by(
        Vote.entry_id, Vote.helpful)
    if since is not None:
        query = query.where(Vote.created_at >= since)
    if until is not None:
        query = query.where(Vote.created_at < until)
    counts: dict[str, dict[str, int]] = {}
    with session_scope() as session:
        for entry_id, helpful, n in session.execute(query):
            slot = counts.setdefault(entry_id, {"helpful": 0, "not_helpful": 0})
            slot["helpful" if helpful else "not_helpful"] += n
    return counts
