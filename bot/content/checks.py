"""Checks across the whole knowledge base: the rules that keep the bot's answers trustworthy.

Reading a single entry is `bot.content.reader`'s job; this module looks at entries together
(duplicates, examples that would confuse the classifier), at what a user will see (length,
placeholders, stale review dates), and at the files the code reads wording from (`messages`,
`statuses`). `validate` is what `make validate`, the build and the live reload run.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from bot.content.messages import message_problems
from bot.content.model import MESSAGES_FILE, Entry, KnowledgeBase, Problem, placeholders
from bot.content.reader import category_files, read_knowledge, relative_name
from bot.content.statuses import check_statuses
from bot.content.text import normalise, suggest, trigrams

MIN_EXAMPLES = 8
MAX_ANSWER_CHARS = 4096  # one WhatsApp text message
MAX_SHORT_ANSWER_CHARS = 300
NEAR_DUPLICATE = 0.85  # Jaccard similarity of character trigrams


@dataclass
class Report:
    kb: KnowledgeBase
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        files = len({e.file for e in self.kb.entries.values()})
        return (
            f"{len(self.kb.entries)} entries in {files} category files: "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        )


class _Example(NamedTuple):
    entry_id: str
    file: str
    text: str
    line: int
    grams: set[str]


def _exact_duplicate(example: str, line: int, entry: Entry, norm: str,
                     seen: dict[str, tuple[str, str, int]],
                     other_examples: dict[str, str]) -> Problem | None:
    """The problem if a normalised example is empty or already taken, else None."""
    if not norm:
        return Problem(entry.file, line, "an example has no letters or digits")
    if norm in seen:
        other_id, other_file, other_line = seen[norm]
        if other_id == entry.id:
            return Problem(entry.file, line, f"example '{example}' is listed twice in this "
                           "entry; remove one", "warning")
        return Problem(entry.file, line,
                       f"example '{example}' is also under entry '{other_id}' "
                       f"({other_file}:{other_line}); an example may belong to one entry "
                       "only: keep it where it fits best")
    if norm in other_examples:
        return Problem(entry.file, line,
                       f"example '{example}' is also a training example of the conversation "
                       f"intent '{other_examples[norm]}'; reword it or remove it")
    return None


def _exact_duplicates(kb: KnowledgeBase,
                      other_examples: dict[str, str]) -> tuple[list[Problem], list[_Example]]:
    """Problems with examples that normalise to the same text, and the examples left."""
    problems: list[Problem] = []
    seen: dict[str, tuple[str, str, int]] = {}  # normalised -> (entry id, file, line)
    kept: list[_Example] = []
    for entry in kb.entries.values():
        for example, line in zip(entry.examples, entry.example_lines, strict=True):
            norm = normalise(example)
            problem = _exact_duplicate(example, line, entry, norm, seen, other_examples)
            if problem is not None:
                problems.append(problem)
                continue
            seen[norm] = (entry.id, entry.file, line)
            kept.append(_Example(entry.id, entry.file, example, line, trigrams(norm)))
    return problems, kept


def _near_duplicates(examples: list[_Example]) -> list[Problem]:
    """Near-identical examples under different entries; only pairs sharing trigrams compared."""
    problems: list[Problem] = []
    index: dict[str, list[int]] = defaultdict(list)
    for i, example in enumerate(examples):
        shared: dict[int, int] = defaultdict(int)
        for gram in example.grams:
            for j in index[gram]:
                shared[j] += 1
        other = _most_similar(example, examples, shared)
        if other is not None:
            problems.append(Problem(
                example.file, example.line,
                f"example '{example.text}' is almost the same as '{other.text}' under "
                f"entry '{other.entry_id}' ({other.file}:{other.line}); the bot cannot tell "
                "them apart: reword one so it says what is different"))
        for gram in example.grams:
            index[gram].append(i)
    return problems


def _most_similar(example: _Example, examples: list[_Example],
                  shared: dict[int, int]) -> _Example | None:
    """The first earlier example of another entry at least NEAR_DUPLICATE similar, if any."""
    for j, count in shared.items():
        other = examples[j]
        if other.entry_id == example.entry_id:
            continue
        if count / (len(example.grams) + len(other.grams) - count) >= NEAR_DUPLICATE:
            return other
    return None


def _example_problems(kb: KnowledgeBase, other_examples: dict[str, str]) -> list[Problem]:
    problems, kept = _exact_duplicates(kb, other_examples)
    return problems + _near_duplicates(kept)


@dataclass(frozen=True)
class _Rules:
    """What the per-entry checks compare against."""

    kb: KnowledgeBase
    today: dt.date
    months: int
    min_examples: int
    unread: frozenset[str] = frozenset()  # ids in files or entries that had errors

    @property
    def stale_before(self) -> dt.date:
        return review_due_before(self.today, self.months)


def review_due_before(today: dt.date, months: int) -> dt.date:
    """Entries last reviewed before this date are due (one rule for `validate` and `review`)."""
    return today - dt.timedelta(days=round(months * 30.44))


def review_months(kb: KnowledgeBase) -> int:
    """`review_after_months` from settings.yml (12 when missing or not a whole number)."""
    months = kb.settings.get("review_after_months")
    return months if isinstance(months, int) and months >= 1 else 12


def _too_few_examples(entry: Entry, rules: _Rules) -> list[Problem]:
    if len(entry.examples) >= rules.min_examples:
        return []
    return [Problem(entry.file, entry.field_lines.get("examples", entry.line),
                    f"entry '{entry.id}' has {len(entry.examples)} example(s); write at least "
                    f"{rules.min_examples} different ways users ask it")]


def _unknown_placeholders(entry: Entry, rules: _Rules) -> list[Problem]:
    known = sorted(rules.kb.settings)
    return [Problem(entry.file, entry.field_lines.get(name, entry.line),
                    f"unknown placeholder {{{ph}}} in '{name}'{suggest(ph, known)}"
                    f"; placeholders are the names in settings.yml")
            for name, text in (("answer", entry.answer), ("short_answer", entry.short_answer or ""),
                               ("question", entry.question))
            for ph in placeholders(text) if ph not in rules.kb.settings]


def _too_long(entry: Entry, rules: _Rules) -> list[Problem]:
    problems = []
    filled = rules.kb.fill(entry.answer)
    if len(filled) > MAX_ANSWER_CHARS:
        problems.append(Problem(
            entry.file, entry.field_lines.get("answer", entry.line),
            f"answer is {len(filled)} characters; a WhatsApp message holds at most "
            f"{MAX_ANSWER_CHARS}: shorten it or split it into two entries"))
    if entry.short_answer and len(rules.kb.fill(entry.short_answer)) > MAX_SHORT_ANSWER_CHARS:
        problems.append(Problem(
            entry.file, entry.field_lines.get("short_answer", entry.line),
            f"short_answer is longer than {MAX_SHORT_ANSWER_CHARS} characters"))
    return problems


def _bad_related(entry: Entry, rules: _Rules) -> list[Problem]:
    line = entry.field_lines.get("related", entry.line)
    problems = []
    for rel in entry.related:
        if rel == entry.id:
            problems.append(Problem(entry.file, line, "an entry cannot be related to itself"))
        elif rel not in rules.kb.entries and rel not in rules.unread:
            # (an id of an entry that could not be read: its own error is the one to fix)
            problems.append(Problem(
                entry.file, line,
                f"related entry '{rel}' does not exist{suggest(rel, list(rules.kb.entries))}"))
    return problems


def _review_date(entry: Entry, rules: _Rules) -> list[Problem]:
    line = entry.field_lines.get("reviewed", entry.line)
    if entry.reviewed is None:
        return []  # a missing or invalid date is the reader's problem
    if entry.reviewed > rules.today:
        return [Problem(entry.file, line, f"'reviewed' date {entry.reviewed} is in the future")]
    if entry.reviewed < rules.stale_before:
        return [Problem(
            entry.file, line,
            f"entry '{entry.id}' was last reviewed on {entry.reviewed}, more than "
            f"{rules.months} months ago: check the answer is still true and update the date",
            "warning")]
    return []


# Per-entry checks, in the order their problems are listed for one entry.
ENTRY_CHECKS: tuple[Callable[[Entry, _Rules], list[Problem]], ...] = (
    _too_few_examples,
    _unknown_placeholders,
    _too_long,
    _bad_related,
    _review_date,
)


def check(
    kb: KnowledgeBase,
    today: dt.date | None = None,
    review_after_months: int | None = None,
    min_examples: int = MIN_EXAMPLES,
    other_examples: dict[str, str] | None = None,
    unread: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Cross-entry and user-facing checks on a loaded knowledge base. `unread`: ids of
    entries the reader could not load (their errors are reported): not "does not exist"."""
    months = review_after_months or kb.settings.get("review_after_months") or 12
    rules = _Rules(kb, today or dt.date.today(), months if isinstance(months, int) else 12,
                   min_examples, unread)
    problems = [problem for entry in kb.entries.values() for entry_check in ENTRY_CHECKS
                for problem in entry_check(entry, rules)]
    problems.extend(_example_problems(kb, other_examples or {}))
    return problems


_ID_LINE = re.compile(r"^[ \t-]*id[ \t]*:[ \t]*['\"]?([A-Za-z0-9_\-]+)", re.MULTILINE)


def unread_ids(knowledge_dir: Path, problems: list[Problem], kb: KnowledgeBase) -> frozenset[str]:
    """Ids written in the category files the reader reported an error in, that did not load:
    one broken file made every entry related to its entries "does not exist", in files
    nobody touched, listed before the error that caused them. Read as text, so even a file
    that is no YAML gives its ids."""
    broken = {p.file for p in problems if p.severity == "error"}
    found: set[str] = set()
    for path in category_files(knowledge_dir):
        if relative_name(path, knowledge_dir) in broken:
            try:
                text = path.read_bytes().decode("utf-8", errors="replace")
            except OSError:
                continue
            found.update(_ID_LINE.findall(text))
    return frozenset(found - set(kb.entries))


def conversation_examples(data_dir: Path) -> dict[str, str]:
    """Normalised training examples of the hand-written conversation intents in data/."""
    from bot.content.yaml_lines import YamlError, load_yaml

    found: dict[str, str] = {}
    for path in sorted(Path(data_dir).rglob("*.yml")):
        try:
            data = load_yaml(path)
        except YamlError:
            continue  # Rasa reports its own files; this check is about knowledge examples
        if not isinstance(data, dict) or not isinstance(data.get("nlu"), list):
            continue
        for block in data["nlu"]:
            if isinstance(block, dict) and isinstance(block.get("examples"), str):
                for line in block["examples"].splitlines():
                    line = line.strip()
                    if line.startswith("- "):
                        text = re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}",
                                      lambda m: m.group(1) or m.group(2) or "", line[2:])
                        found.setdefault(normalise(text), str(block.get("intent", "?")))
    return found


def validate(
    knowledge_dir: Path,
    data_dir: Path | None = None,
    today: dt.date | None = None,
    review_after_months: int | None = None,
) -> Report:
    """Load and check a knowledge folder; every problem in one pass, sorted by file and line.

    Besides the entries this covers what the code reads from the folder: the message keys it
    uses (messages.yml) and the wording of every declaration status and lane (statuses.yml).
    """
    knowledge_dir = Path(knowledge_dir)
    kb, problems = read_knowledge(knowledge_dir)
    others = conversation_examples(data_dir) if data_dir and Path(data_dir).is_dir() else {}
    problems = problems + check(kb, today=today, review_after_months=review_after_months,
                                other_examples=others,
                                unread=unread_ids(knowledge_dir, problems, kb))
    if knowledge_dir.is_dir():  # else the reader has said so, once
        messages_file = relative_name(knowledge_dir / MESSAGES_FILE, knowledge_dir)
        problems += message_problems(kb, messages_file) + check_statuses(knowledge_dir)
    problems.sort(key=lambda p: (p.file, p.line, p.severity))
    return Report(kb, problems)
