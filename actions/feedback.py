"""Votes on knowledge answers ("did this help?"), stored with the entry that was answered.

The vote buttons send their own intents (`/feedback_helpful`, `/feedback_not_helpful`) rather
than affirm/deny, which other dialogues use ("check another declaration?"). The entry is taken
from the tracker: the latest `action_answer_knowledge` and the kb_ intent that triggered it.
Clicking twice on the same answer changes the vote instead of adding one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.db import Base, get_engine, session_scope
from bot.knowledge import INTENT_PREFIX

logger = logging.getLogger(__name__)

ANSWER_ACTION = "action_answer_knowledge"
HELPFUL_INTENT = "feedback_helpful"
NOT_HELPFUL_INTENT = "feedback_not_helpful"


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


def ensure_tables() -> None:
    Vote.__table__.create(get_engine(), checkfirst=True)


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
    ensure_tables()
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
    ensure_tables()
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


class ActionFeedback(Action):
    """Store the vote; after "no", offer to ask in other words or to reach a person."""

    def name(self) -> str:
        return "action_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[dict[str, Any]]:
        from bot.knowledge_store import get_knowledge

        kb = get_knowledge()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        helpful = intent == HELPFUL_INTENT
        answer = last_answer(tracker.events)
        if answer is None:
            # A stale button from an earlier session: nothing to attach the vote to.
            dispatcher.utter_message(text=kb.message("feedback_thanks"))
            return []
        try:
            record_vote(tracker.sender_id, answer[0], answer[1], helpful)
        except Exception:  # a lost vote must not break the conversation
            logger.exception("could not store the vote on %s", answer[0])
        if helpful:
            dispatcher.utter_message(text=kb.message("feedback_thanks"))
        else:
            dispatcher.utter_message(
                text=kb.message("feedback_sorry"),
                buttons=[
                    {"title": kb.message("feedback_rephrase_button"), "payload": "/something_else"},
                    {"title": kb.message("feedback_person_button"), "payload": "/request_human"},
                ],
            )
        return []
