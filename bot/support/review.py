"""`python -m bot review [--owner NAME]`: the entries each division must re-check, oldest first.

An entry is due when its `reviewed` date is older than `review_after_months` in settings.yml:
the same rule as `validate`'s warning (`bot.content.checks.review_due_before`), so the list and
the warnings always agree. The weekly report shows the same list.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from bot.content.checks import review_due_before, review_months
from bot.content.model import KnowledgeBase


@dataclass(frozen=True)
class Due:
    """One entry to re-check, where it is and when it was last checked."""

    owner: str
    entry_id: str
    question: str
    reviewed: dt.date
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def due_for_review(kb: KnowledgeBase, today: dt.date | None = None,
                   owner: str | None = None) -> dict[str, list[Due]]:
    """Owner -> entries due, oldest first; owners in alphabetical order. `owner` filters
    (case-insensitive)."""
    before = review_due_before(today or dt.date.today(), review_months(kb))
    found: dict[str, list[Due]] = defaultdict(list)
    for entry in kb.entries.values():
        if entry.reviewed is None or entry.reviewed >= before:
            continue  # a missing or bad date is an error `validate` reports
        if owner is not None and entry.owner.strip().lower() != owner.strip().lower():
            continue
        found[entry.owner].append(Due(entry.owner, entry.id, kb.fill(entry.question),
                                      entry.reviewed, entry.file,
                                      entry.field_lines.get("reviewed", entry.line)))
    return {name: sorted(found[name], key=lambda d: (d.reviewed, d.where))
            for name in sorted(found)}


def render(due: dict[str, list[Due]], months: int) -> str:
    """The list as printed: one block per owner, one line per entry."""
    if not due:
        return f"No entry is due for review (reviewed within the last {months} months)."
    total = sum(len(items) for items in due.values())
    lines = [f"{total} entr{'y' if total == 1 else 'ies'} not reviewed for more than "
             f"{months} months (review_after_months in knowledge/settings.yml):"]
    for owner, items in due.items():
        lines += ["", f"{owner} ({len(items)}):"]
        lines += [f"  {d.where}  reviewed {d.reviewed}  {d.question}" for d in items]
    lines += ["", "Check each answer is still true, then set `reviewed:` to today's date."]
    return "\n".join(lines)


def main(owner: str | None = None, today: dt.date | None = None) -> int:
    """CLI entry: print the entries due, grouped by owner."""
    from bot.content.checks import validate
    from bot.settings.paths import knowledge_dir

    kb = validate(knowledge_dir()).kb
    due = due_for_review(kb, today, owner)
    if owner is not None and not due:
        owners = sorted({e.owner for e in kb.entries.values()})
        if owner.strip().lower() not in {o.lower() for o in owners}:
            print(f"No entries are owned by '{owner}'. Owners: {', '.join(owners)}.")
            return 1
    print(render(due, review_months(kb)))
    return 0
