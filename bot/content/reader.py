"""Reading `knowledge/*.yml` into the model, one file and one entry at a time.

Reading never raises on bad content: every problem becomes a `Problem` with file and line, so
that one run of `validate` shows a support officer everything there is to fix.

Which problems drop an entry (it is then not served, and the other checks do not see it): a
required field that is missing, and a value the entry cannot be built from (`_Unusable`: a text
field that is not a text, a malformed id, `examples` that is not a list). Every other problem
is reported and the value falls back (a bad example or link is skipped, a bad `reviewed` date
or `short_answer` becomes None, a bad `related` becomes []), so the entry is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bot.content.model import (
    CATEGORY_FIELDS,
    DEFAULT_FALLBACK,
    ENTRY_FIELDS,
    ID_PATTERN,
    MESSAGES_FILE,
    REQUIRED_SETTINGS,
    SETTING_FALLBACKS,
    SETTINGS_FILE,
    SPECIAL_FILES,
    Category,
    Entry,
    KnowledgeBase,
    Problem,
    is_placeholder,
)
from bot.content.text import is_text, suggest
from bot.content.yaml_lines import LineDict, LineList, YamlError, duplicate_keys, load_yaml

# A field checker gets (field name, value, its line, report) and returns the clean value.
# `report(line, message)` records an error that keeps the entry; raising `_Unusable` drops it.
ReportProblem = Callable[[int, str], None]
Checker = Callable[[str, Any, int, ReportProblem], Any]


class _Unusable(Exception):
    """A field the entry cannot be built from: the problem is reported and the entry dropped."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _text(name: str, value: Any, line: int, report: ReportProblem) -> str:
    if not is_text(value):
        kind = "empty" if value in (None, "") else "not a text"
        raise _Unusable(line, f"field '{name}' is {kind}; write it as a text")
    return value.strip()


def _entry_id(name: str, value: Any, line: int, report: ReportProblem) -> str:
    _text(name, value, line, report)
    if not ID_PATTERN.match(value):
        raise _Unusable(line, f"id '{value}' must be lower case letters, digits and '_', "
                        "starting with a letter (e.g. what_is_tpin)")
    return value


def _examples(name: str, value: Any, line: int, report: ReportProblem) -> list[tuple[str, int]]:
    """(example, line) pairs; an unusable example is reported and skipped."""
    if not isinstance(value, LineList):
        raise _Unusable(line, "'examples' must be a list, one '- ' line each")
    clean = []
    for example, example_line in zip(value, value.item_lines, strict=True):
        if isinstance(example, (int, float)) and not isinstance(example, bool):
            example = str(example)
        if is_text(example):
            clean.append((example.strip(), example_line))
        else:
            report(example_line, "an example is empty or not a text")
    return clean


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _reviewed(name: str, value: Any, line: int, report: ReportProblem) -> dt.date | None:
    reviewed = _parse_date(value)
    if reviewed is None:
        report(line, f"'reviewed' date '{value}' is not valid; write it as YYYY-MM-DD, "
               "e.g. 2026-11-01")
    return reviewed


def _short_answer(name: str, value: Any, line: int, report: ReportProblem) -> str | None:
    if value is None:
        return None
    if not is_text(value):
        report(line, "'short_answer' must be a text")
        return None
    return value.strip()


def _related(name: str, value: Any, line: int, report: ReportProblem) -> list[str]:
    related = value or []
    if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
        report(line, "'related' must be a list of entry ids, e.g. [what_is_tpin]")
        return []
    return list(related)


def _link(link: Any, line: int, report: ReportProblem) -> dict[str, str] | None:
    if not isinstance(link, dict) or not is_text(link.get("title")) or not is_text(
        link.get("url")
    ):
        report(line, "each link needs a 'title' and a 'url'")
        return None
    extra = set(link) - {"title", "url"}
    if extra:
        report(line, f"unknown link field '{sorted(extra)[0]}'; a link has only 'title' and 'url'")
    url = link["url"].strip()
    if not (url.startswith(("https://", "http://")) or url.startswith("{")):
        report(line, f"link url '{url}' must start with https://")
    return {"title": link["title"].strip(), "url": url}


def _links(name: str, value: Any, line: int, report: ReportProblem) -> list[dict[str, str]]:
    links = value or []
    if not isinstance(links, list):
        report(line, "'links' must be a list of '- title: ... url: ...' items")
        return []
    checked = (_link(link, getattr(link, "line", line), report) for link in links)
    return [link for link in checked if link is not None]


@dataclass(frozen=True)
class FieldCheck:
    """How one entry field is read. A required field that is missing drops the entry."""

    check: Checker
    required: bool = False
    missing_hint: str = ""  # said after "required field 'x' is missing"


# In the order the problems of one entry are reported.
FIELD_CHECKS: dict[str, FieldCheck] = {
    "id": FieldCheck(_entry_id, required=True),
    "question": FieldCheck(_text, required=True),
    "answer": FieldCheck(_text, required=True),
    "source": FieldCheck(_text, required=True),
    "owner": FieldCheck(_text, required=True),
    "examples": FieldCheck(_examples, required=True,
                           missing_hint=": list the ways users ask this question"),
    "reviewed": FieldCheck(_reviewed, required=True,
                           missing_hint=": the date the answer was last checked, e.g. 2026-11-01"),
    "short_answer": FieldCheck(_short_answer),
    "related": FieldCheck(_related),
    "links": FieldCheck(_links),
}


def relative_name(path: Path, root: Path) -> str:
    """How problems name a file: relative to the folder above knowledge/ (knowledge/a.yml)."""
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def load_file(path: Path, file: str) -> tuple[Any, list[Problem]]:
    """Parse one knowledge file (None if it cannot be); syntax and duplicate keys are problems."""
    try:
        data = load_yaml(path)
    except YamlError as exc:
        return None, [Problem(file, exc.line, exc.message)]
    return data, [Problem(file, line, f"'{key}' appears twice here; keep only one")
                  for key, line in duplicate_keys(data)]


class _Reader:
    """Turns parsed YAML into entries, collecting problems instead of raising."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        return relative_name(path, self.root)

    def add(self, file: str, line: int, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(file, line, message, severity))

    def load(self, path: Path) -> Any:
        data, problems = load_file(path, self.rel(path))
        self.problems.extend(problems)
        return data

    def settings(self, path: Path) -> dict[str, Any]:
        file = self.rel(path)
        if not path.exists():
            self.add(file, 1, "the settings file is missing; copy it from the repository history")
            return {}
        data = self.load(path)
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.add(file, 1, "the settings file must be a list of 'name: value' lines")
            return {}
        lines = getattr(data, "key_lines", {})
        for key in REQUIRED_SETTINGS:
            if not is_text(data.get(key)):
                self.add(file, getattr(data, "line", 1), f"setting '{key}' is missing or empty")
        for key, value in data.items():
            if is_placeholder(value):
                self.add(
                    file,
                    lines.get(key, 1),
                    f"setting '{key}' is still a placeholder ({value}); the deploying "
                    "authority must fill it in (until then users read \""
                    f"{SETTING_FALLBACKS.get(key, DEFAULT_FALLBACK)}\")",
                    "warning",
                )
        months = data.get("review_after_months", 12)
        if not isinstance(months, int) or months < 1:
            self.add(file, lines.get("review_after_months", 1),
                     "review_after_months must be a whole number of months, e.g. 12")
        return {k: v for k, v in data.items()}

    def messages(self, path: Path) -> tuple[dict[str, Any], dict[str, int]]:
        """The messages and the line of each; empty when the file cannot be read (said why)."""
        file = self.rel(path)
        if not path.exists():
            self.add(file, 1, "the messages file is missing; copy it from the repository history")
            return {}, {}
        before = len(self.problems)
        data = self.load(path)
        if not isinstance(data, LineDict):
            if len(self.problems) == before:  # not already a syntax error
                self.add(file, 1, "messages.yml must be a list of 'name: text' lines")
            return {}, {}
        for key, value in data.items():
            if not is_text(value):
                self.add(file, data.key_lines.get(key, 1),
                         f"message '{key}' must be a non-empty text")
        return dict(data), dict(data.key_lines)

    def category_file(self, path: Path) -> tuple[Category | None, list[Entry]]:
        file = self.rel(path)
        before = len(self.problems)
        data = self.load(path)
        if data is None:
            if len(self.problems) == before:
                self.add(file, 1, "the file is empty: start it with 'category: <name>' and "
                         "'entries:', or delete it")
            return None, []
        if not isinstance(data, LineDict):
            self.add(file, 1, "a category file starts with 'category: <name>' then 'entries:'")
            return None, []
        for key in data:
            if key not in CATEGORY_FIELDS:
                self.add(file, data.key_lines[key],
                         f"unknown field '{key}' at the top of the file"
                         f"{suggest(key, CATEGORY_FIELDS)}; only 'category' and 'entries' "
                         "belong here")
        name = data.get("category")
        if not is_text(name):
            self.add(file, data.key_lines.get("category", 1),
                     "'category' is missing or empty: give the category a name, e.g. "
                     "'category: Declarations'")
            name = path.stem
        raw_entries = data.get("entries")
        if not isinstance(raw_entries, LineList):
            self.add(file, data.key_lines.get("entries", data.line),
                     "'entries' must be a list of entries, each starting with '- id: ...'")
            return Category(str(name), file, []), []
        entries = []
        for item, line in zip(raw_entries, raw_entries.item_lines, strict=True):
            entry = self.entry(file, str(name), item, line)
            if entry is not None:
                entries.append(entry)
        if not raw_entries:
            self.add(file, data.key_lines.get("entries", 1), "this category has no entries",
                     "warning")
        return Category(str(name), file, [e.id for e in entries]), entries

    def entry(self, file: str, category: str, item: Any, line: int) -> Entry | None:
        """One entry, or None when a problem drops it (see the module docstring)."""
        if not isinstance(item, LineDict):
            self.add(file, line, "each entry must be a set of 'field: value' lines "
                     "starting with '- id: ...'")
            return None
        for key in item:
            if key not in ENTRY_FIELDS:
                self.add(file, item.key_lines[key],
                         f"unknown field '{key}'{suggest(key, ENTRY_FIELDS)}; allowed "
                         f"fields: {', '.join(ENTRY_FIELDS)}")
        values: dict[str, Any] = {}
        usable = True
        for name, field_check in FIELD_CHECKS.items():
            try:
                values[name] = self._field(file, item, name, field_check)
            except _Unusable as problem:
                self.add(file, problem.line, problem.message)
                usable = False
        if not usable:
            return None
        examples = values.pop("examples")
        return Entry(
            **values,
            examples=[text for text, _ in examples],
            example_lines=[example_line for _, example_line in examples],
            category=category,
            file=file,
            line=item.line,
            field_lines=dict(item.key_lines),
        )

    def _field(self, file: str, item: LineDict, name: str, field_check: FieldCheck) -> Any:
        if name not in item and field_check.required:
            raise _Unusable(item.line, f"required field '{name}' is missing"
                            f"{field_check.missing_hint}")
        line = item.key_lines.get(name, item.line)
        return field_check.check(name, item.get(name), line, partial(self.add, file))


def category_files(directory: Path) -> list[Path]:
    """The category files of a knowledge directory, in a stable order."""
    files = sorted(list(directory.glob("*.yml")) + list(directory.glob("*.yaml")))
    return [f for f in files if f.name not in SPECIAL_FILES]


def read_knowledge(directory: Path) -> tuple[KnowledgeBase, list[Problem]]:
    """Read every file of a knowledge directory; return what could be read and the problems."""
    directory = Path(directory)
    reader = _Reader(directory)
    if not directory.is_dir():
        reader.add(str(directory), 1, "the knowledge folder does not exist")
        return KnowledgeBase({}, [], {}), reader.problems
    settings = reader.settings(directory / SETTINGS_FILE)
    messages, message_lines = reader.messages(directory / MESSAGES_FILE)
    entries: dict[str, Entry] = {}
    categories: list[Category] = []
    for path in category_files(directory):
        category, file_entries = reader.category_file(path)
        if category is not None:
            categories.append(category)
        for entry in file_entries:
            if entry.id in entries:
                first = entries[entry.id]
                reader.add(entry.file, entry.field_lines.get("id", entry.line),
                           f"duplicate id '{entry.id}': already used at {first.file}:"
                           f"{first.field_lines.get('id', first.line)}; ids must be unique")
                continue
            entries[entry.id] = entry
    kb = KnowledgeBase(entries=entries, categories=categories, settings=settings,
                       messages=messages, message_lines=message_lines)
    return kb, reader.problems
