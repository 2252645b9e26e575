"""Checks across the whole knowledge base: the rules that keep the bot's answers trustworthy.

Reading a single entry is `bot.content.knowledge`'s job; this module looks at entries together
(duplicates, examples that would confuse the classifier) and at what a user will see (length,
placeholders, stale review dates).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bot.content.knowledge import (
    KnowledgeBase,
    Problem,
    _suggest,
    placeholders,
    read_knowledge,
)

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


def normalise(text: str) -> str:
    """Lower case, letters and digits only: what the classifier effectively sees."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _example_problems(kb: KnowledgeBase, other_examples: dict[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, tuple[str, str, int]] = {}  # normalised -> (entry id, file, line)
    items: list[tuple[str, str, str, int, set[str]]] = []
    for entry in kb.entries.values():
        for example, line in zip(entry.examples, entry.example_lines, strict=True):
            norm = normalise(example)
            if not norm:
                problems.append(Problem(entry.file, line, "an example has no letters or digits"))
                continue
            if norm in seen:
                other_id, other_file, other_line = seen[norm]
                if other_id == entry.id:
                    problems.append(Problem(entry.file, line,
                                            f"example '{example}' is listed twice in this "
                                            "entry; remove one", "warning"))
                else:
                    problems.append(Problem(
                        entry.file, line,
                        f"example '{example}' is also under entry '{other_id}' "
                        f"({other_file}:{other_line}); an example may belong to one entry "
                        "only: keep it where it fits best"))
                continue
            if norm in other_examples:
                problems.append(Problem(
                    entry.file, line,
                    f"example '{example}' is also a training example of the conversation "
                    f"intent '{other_examples[norm]}'; reword it or remove it"))
                continue
            seen[norm] = (entry.id, entry.file, line)
            items.append((entry.id, entry.file, example, line, _trigrams(norm)))
    # Near-identical examples under different entries: compare only pairs that share trigrams.
    index: dict[str, list[int]] = defaultdict(list)
    for i, (entry_id, file, example, line, grams) in enumerate(items):
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for j in index[gram]:
                shared[j] += 1
        for j, count in shared.items():
            other_id, other_file, other_example, other_line, other_grams = items[j]
            if other_id == entry_id:
                continue
            similarity = count / (len(grams) + len(other_grams) - count)
            if similarity >= NEAR_DUPLICATE:
                problems.append(Problem(
                    file, line,
                    f"example '{example}' is almost the same as '{other_example}' under "
                    f"entry '{other_id}' ({other_file}:{other_line}); the bot cannot tell "
                    "them apart: reword one so it says what is different"))
                break
        for gram in grams:
            index[gram].append(i)
    return problems


def check(
    kb: KnowledgeBase,
    today: dt.date | None = None,
    review_after_months: int | None = None,
    min_examples: int = MIN_EXAMPLES,
    other_examples: dict[str, str] | None = None,
) -> list[Problem]:
    """Cross-entry and user-facing checks on a loaded knowledge base."""
    today = today or dt.date.today()
    months = review_after_months or kb.settings.get("review_after_months") or 12
    if not isinstance(months, int):
        months = 12
    stale_before = today - dt.timedelta(days=round(months * 30.44))
    known = set(kb.settings)
    problems: list[Problem] = []
    for entry in kb.entries.values():
        lines = entry.field_lines
        if len(entry.examples) < min_examples:
            problems.append(Problem(
                entry.file, lines.get("examples", entry.line),
                f"entry '{entry.id}' has {len(entry.examples)} example(s); write at least "
                f"{min_examples} different ways users ask it"))
        for name, text in (("answer", entry.answer), ("short_answer", entry.short_answer or ""),
                           ("question", entry.question)):
            for ph in placeholders(text):
                if ph not in known:
                    problems.append(Problem(
                        entry.file, lines.get(name, entry.line),
                        f"unknown placeholder {{{ph}}} in '{name}'{_suggest(ph, sorted(known))}"
                        f"; placeholders are the names in settings.yml"))
        filled = kb.fill(entry.answer)
        if len(filled) > MAX_ANSWER_CHARS:
            problems.append(Problem(
                entry.file, lines.get("answer", entry.line),
                f"answer is {len(filled)} characters; a WhatsApp message holds at most "
                f"{MAX_ANSWER_CHARS}: shorten it or split it into two entries"))
        if entry.short_answer and len(kb.fill(entry.short_answer)) > MAX_SHORT_ANSWER_CHARS:
            problems.append(Problem(
                entry.file, lines.get("short_answer", entry.line),
                f"short_answer is longer than {MAX_SHORT_ANSWER_CHARS} characters"))
        for rel in entry.related:
            if rel == entry.id:
                problems.append(Problem(entry.file, lines.get("related", entry.line),
                                        "an entry cannot be related to itself"))
            elif rel not in kb.entries:
                problems.append(Problem(
                    entry.file, lines.get("related", entry.line),
                    f"related entry '{rel}' does not exist{_suggest(rel, list(kb.entries))}"))
        if entry.reviewed is not None:
            if entry.reviewed > today:
                problems.append(Problem(entry.file, lines.get("reviewed", entry.line),
                                        f"'reviewed' date {entry.reviewed} is in the future"))
            elif entry.reviewed < stale_before:
                problems.append(Problem(
                    entry.file, lines.get("reviewed", entry.line),
                    f"entry '{entry.id}' was last reviewed on {entry.reviewed}, more than "
                    f"{months} months ago: check the answer is still true and update the date",
                    "warning"))
    problems.extend(_example_problems(kb, other_examples or {}))
    return problems


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
    """Load and check a knowledge folder; every problem in one pass, sorted by file and line."""
    kb, problems = read_knowledge(knowledge_dir)
    others = conversation_examples(data_dir) if data_dir and Path(data_dir).is_dir() else {}
    problems = problems + check(kb, today=today, review_after_months=review_after_months,
                                other_examples=others)
    problems.sort(key=lambda p: (p.file, p.line, p.severity))
    return Report(kb, problems)
