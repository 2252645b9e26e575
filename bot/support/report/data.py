"""What the support report shows for a period, computed from the conversation store and votes.

`build_report` is the only place figures are computed; the Markdown and HTML renderers only
format a `SupportReport`, so both files always show the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.content.checks import conversation_examples, review_months
from bot.content.model import KnowledgeBase
from bot.support.events import Message, read_events
from bot.support.report.drafts import draft_entry, draft_id, draft_question, group_texts
from bot.support.review import Due, due_for_review

MAX_EXAMPLES_SHOWN = 6
DEFAULT_OWNER = "Customer Support Unit"


@dataclass
class Group:
    """Unanswered messages that ask the same thing, with the entry drafted for them."""

    messages: list[Message]
    draft_id: str = ""
    draft_question: str = ""
    draft_yaml: str = ""

    @property
    def count(self) -> int:
        return len(self.messages)

    def examples(self, limit: int = MAX_EXAMPLES_SHOWN) -> list[str]:
        """Distinct texts, in the order they were typed."""
        seen: dict[str, None] = {}
        for m in self.messages:
            seen.setdefault(m.text, None)
        return list(seen)[:limit]


@dataclass
class Day:
    """One day's figures; a conversation is counted on each day it has messages."""

    date: dt.date
    conversations: int
    messages: int
    handled: int = 0  # answered, and nobody asked for a person
    declined_only: int = 0  # only declined or clarified, nobody asked for a person
    handed_over: int = 0  # somebody asked for a person (or the hand-over form started)


def containment_split(handed_over: set[str], answered: set[str],
                      declined: set[str]) -> tuple[int, int, int]:
    """(handled without a person, declined only, handed over) for a set of conversations.

    Handled means nobody asked for a person *and* a question was answered: a conversation whose
    questions were only declined or clarified was not handled, though no person was involved.
    """
    handled = answered - handed_over
    return len(handled), len(declined - handed_over - answered), len(handed_over)


@dataclass
class SupportReport:
    since: dt.date
    until: dt.date  # inclusive
    days: list[Day]
    conversations: int
    messages: int
    handed_over: int
    tickets: int
    unanswered: list[Group]
    asked: list[tuple[str, str, int]]  # entry id, question, times asked
    votes: list[tuple[str, str, int, int]]  # entry id, question, not helpful, helpful
    votes_note: str = ""
    notes: list[str] = field(default_factory=list)
    handled: int = 0
    declined_only: int = 0
    due_reviews: dict[str, list[Due]] = field(default_factory=dict)  # owner -> oldest first
    review_months: int = 12
    # Status notifications in the period (bot.appdb.notifications.counts): subscriptions,
    # sent, failed, stopped; None when the application database could not be read.
    notifications: dict[str, int] | None = None
    notifications_note: str = ""

    @property
    def unanswered_messages(self) -> int:
        return sum(g.count for g in self.unanswered)

    @property
    def containment(self) -> float | None:
        """Share of conversations handled without a person (see `containment_split`): answered
        with nobody asking for a person. None without conversations."""
        if not self.conversations:
            return None
        return self.handled / self.conversations

    @property
    def no_question(self) -> int:
        """Conversations neither answered, declined nor handed over (a greeting, a form left)."""
        return self.conversations - self.handled - self.declined_only - self.handed_over


def period(days: int | None = None, since: dt.date | None = None, until: dt.date | None = None,
           today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(first day, last day), both included: the last `days` days up to today by default."""
    today = today or dt.date.today()
    until = until or today
    since = since or until - dt.timedelta(days=(days or 7) - 1)
    if since > until:
        raise ValueError(f"the period starts ({since}) after it ends ({until})")
    return since, until


def build_report(engine: Engine, since: dt.date, until: dt.date,
                 kb: KnowledgeBase | None = None, data_dir: Path | None = None,
                 votes: dict[str, dict[str, int]] | None = None,
                 today: dt.date | None = None) -> SupportReport:
    """Everything the report shows, computed from the store (and the votes table)."""
    today = today or dt.date.today()
    facts = read_events(engine, since, until)
    other_examples = conversation_examples(data_dir) if data_dir is not None else {}
    reference = [e for entry in kb.entries.values() for e in entry.examples] if kb else []
    owners = Counter(e.owner for e in kb.entries.values()) if kb else Counter()
    owner = owners.most_common(1)[0][0] if owners else DEFAULT_OWNER
    taken = set(kb.entries) if kb else set()
    groups = []
    texts = [m.text for m in facts.unanswered]
    for indices in group_texts(texts, reference):
        group = Group([facts.unanswered[i] for i in indices])
        member_texts = [m.text for m in group.messages]
        group.draft_id = draft_id(member_texts, taken)
        group.draft_yaml = draft_entry(member_texts, group.draft_id, kb, other_examples, today,
                                       owner)
        group.draft_question = draft_question(group.messages[0].text)
        groups.append(group)

    def question(entry_id: str) -> str:
        entry = kb.entries.get(entry_id) if kb else None
        return kb.fill(entry.question) if entry else f"(entry {entry_id} no longer exists)"

    asked = [(e, question(e), n) for e, n in
             sorted(facts.asked.items(), key=lambda kv: (-kv[1], kv[0]))]
    vote_rows = [(e, question(e), v["not_helpful"], v["helpful"])
                 for e, v in (votes or {}).items() if v["not_helpful"] or v["helpful"]]
    vote_rows.sort(key=lambda r: (-r[2], r[3], r[0]))
    days = []
    day = since
    while day <= until:
        senders = facts.per_day_senders.get(day, set())
        split = containment_split(facts.per_day_handed_over.get(day, set()) & senders,
                                  facts.per_day_answered.get(day, set()) & senders,
                                  facts.per_day_declined.get(day, set()) & senders)
        days.append(Day(day, len(senders), facts.per_day_messages.get(day, 0), *split))
        day += dt.timedelta(days=1)
    handled, declined_only, handed_over = containment_split(
        facts.handed_over & facts.senders, facts.answered & facts.senders,
        facts.declined & facts.senders)
    return SupportReport(since=since, until=until, days=days, conversations=len(facts.senders),
                         messages=sum(facts.per_day_messages.values()),
                         handed_over=handed_over, tickets=facts.tickets, unanswered=groups,
                         asked=asked, votes=vote_rows, handled=handled,
                         declined_only=declined_only,
                         due_reviews=due_for_review(kb, today) if kb else {},
                         review_months=review_months(kb) if kb else 12)
