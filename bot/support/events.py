"""Reading Rasa's conversation store: where it is, its events table, and one walk over a period.

Rasa keeps every event in one table, `events` (sender_id, type_name, timestamp, intent_name,
action_name, data); the staff tools read it with SQLAlchemy Core, so they need neither Rasa nor
its ORM. Where the store is comes from `bot.settings.endpoints.tracker_db_url`, the same choice
the launcher makes for the Rasa server.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.names import (
    CHECK_DECLARATION_ACTION,
    CREATE_TICKET_ACTION,
    DOMESTIC_TAX,
    HANDOVER_FORM,
    INTENT_PREFIX,
    NLU_FALLBACK,
    OTHER_LANGUAGE,
    OUT_OF_SCOPE,
    REQUEST_HUMAN,
)
from bot.settings.endpoints import tracker_db_url
from bot.support.days import day_range

EVENTS_TABLE = "events"
# The intents that mean the bot did not answer, and what the report calls each.
UNANSWERED = {OUT_OF_SCOPE: "declined", NLU_FALLBACK: "unsure"}
# Pointed elsewhere (the contact centre for another language, the domestic-tax services): not a
# gap in the knowledge base, so not listed as unanswered, but not an answer either.
POINTED_ELSEWHERE = {OTHER_LANGUAGE, DOMESTIC_TAX}


def tracker_engine(env: Mapping[str, str] | None = None) -> Engine:
    """An engine on the conversation store (parameters hidden: they may hold conversation text)."""
    return sa.create_engine(tracker_db_url(env), future=True, hide_parameters=True)


def events_table(engine: Engine) -> sa.Table | None:
    """Rasa's events table, or None when the store has no conversation yet."""
    if not sa.inspect(engine).has_table(EVENTS_TABLE):
        return None
    return sa.Table(EVENTS_TABLE, sa.MetaData(), autoload_with=engine)


@dataclass(frozen=True)
class Message:
    """A user message the bot did not answer."""

    conversation: str
    timestamp: float
    text: str
    kind: str  # "declined" or "unsure"


@dataclass
class PeriodFacts:
    """What one walk over a period's events found; the report is computed from it."""

    per_day_messages: Counter = field(default_factory=Counter)
    per_day_senders: dict[dt.date, set[str]] = field(default_factory=lambda: defaultdict(set))
    senders: set[str] = field(default_factory=set)
    handed_over: set[str] = field(default_factory=set)
    tickets: int = 0
    unanswered: list[Message] = field(default_factory=list)
    asked: Counter = field(default_factory=Counter)
    # Per day, the conversations that asked for a person, got an answer (a knowledge entry or a
    # declaration status), or had a question declined or clarified: the containment figures.
    per_day_handed_over: dict[dt.date, set[str]] = field(
        default_factory=lambda: defaultdict(set))
    per_day_answered: dict[dt.date, set[str]] = field(default_factory=lambda: defaultdict(set))
    per_day_declined: dict[dt.date, set[str]] = field(default_factory=lambda: defaultdict(set))

    @staticmethod
    def _over(per_day: dict[dt.date, set[str]]) -> set[str]:
        return set().union(*per_day.values()) if per_day else set()

    @property
    def answered(self) -> set[str]:
        return self._over(self.per_day_answered)

    @property
    def declined(self) -> set[str]:
        return self._over(self.per_day_declined)


def read_events(engine: Engine, since: dt.date, until: dt.date) -> PeriodFacts:
    """Walk the period's events conversation by conversation, in the order they happened."""
    facts = PeriodFacts()
    table = events_table(engine)
    if table is None:
        return facts
    t = table.c
    start, end = (moment.timestamp() for moment in day_range(since, until))
    query = (sa.select(t.sender_id, t.type_name, t.timestamp, t.intent_name, t.action_name,
                       t.data)
             .where(t.timestamp >= start, t.timestamp < end)
             .order_by(t.sender_id, t.timestamp, t.id))
    loop: dict[str, str | None] = {}
    with engine.connect() as conn:
        for sender, kind, stamp, intent, action, raw in conn.execute(query):
            day = dt.datetime.fromtimestamp(stamp).date()
            if kind == "active_loop":
                name = _json(raw).get("name")
                loop[sender] = name
                if name == HANDOVER_FORM:
                    facts.handed_over.add(sender)
                    facts.per_day_handed_over[day].add(sender)
                continue
            if kind == "action" and action == CREATE_TICKET_ACTION:
                facts.tickets += 1
                continue
            if kind == "action" and action == CHECK_DECLARATION_ACTION:
                facts.per_day_answered[day].add(sender)  # the status was looked up and said
                continue
            if kind != "user":
                continue
            data = _json(raw)
            text = data.get("text") or ""
            facts.senders.add(sender)
            facts.per_day_senders[day].add(sender)
            facts.per_day_messages[day] += 1
            intent = intent or ((data.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent == REQUEST_HUMAN:
                facts.handed_over.add(sender)
                facts.per_day_handed_over[day].add(sender)
            if intent and intent.startswith(INTENT_PREFIX):
                facts.asked[intent[len(INTENT_PREFIX):]] += 1
                facts.per_day_answered[day].add(sender)
            elif (intent in UNANSWERED and not loop.get(sender) and text
                  and not text.startswith("/")):
                # Inside a form a message answers the form's question: not a knowledge gap.
                facts.unanswered.append(Message(sender, stamp, text.strip(), UNANSWERED[intent]))
                facts.per_day_declined[day].add(sender)
            elif intent in POINTED_ELSEWHERE and not loop.get(sender):
                facts.per_day_declined[day].add(sender)
    return facts


def _json(raw: str | None) -> dict:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
