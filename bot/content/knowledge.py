"""The knowledge base: entries and settings read from `knowledge/*.yml`.

Loading never raises on bad content: every problem becomes a `Problem` with file and line, so
that one run of `validate` shows a support officer everything there is to fix.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content.yaml_lines import LineDict, LineList, YamlError, load_yaml

SETTINGS_FILE = "settings.yml"
# Files in knowledge/ that are not category files; each has its own loader.
SPECIAL_FILES = {SETTINGS_FILE, "messages.yml", "statuses.yml"}

REQUIRED_FIELDS = ("id", "question", "examples", "answer", "source", "owner", "reviewed")
OPTIONAL_FIELDS = ("short_answer", "related", "links")
ENTRY_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
CATEGORY_FIELDS = ("category", "entries")
REQUIRED_SETTINGS = (
    "authority_name",
    "authority_short",
    "bot_name",
    "website",
    "contact_phone",
    "contact_email",
    "contact_hours",
)
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
INTENT_PREFIX = "kb_"


@dataclass(frozen=True)
class Problem:
    """One thing to fix (error) or look at (warning), located in a file."""

    file: str
    line: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


@dataclass
class Entry:
    """One question the bot can answer."""

    id: str
    category: str
    question: str
    examples: list[str]
    answer: str
    source: str
    owner: str
    reviewed: dt.date | None
    short_answer: str | None = None
    related: list[str] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    file: str = ""
    line: int = 0
    field_lines: dict[str, int] = field(default_factory=dict)
    example_lines: list[int] = field(default_factory=list)

    @property
    def intent(self) -> str:
        return INTENT_PREFIX + self.id


@dataclass
class Category:
    name: str
    file: str
    entry_ids: list[str]


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass
class KnowledgeBase:
    """Entries by id (in file order), categories and settings."""

    entries: dict[str, Entry]
    categories: list[Category]
    settings: dict[str, Any]
    messages: dict[str, Any] = field(default_factory=dict)

    def fill(self, text: str) -> str:
        """Replace {placeholders} with settings values; unknown ones are left as they are."""
        values = _SafeDict({k: str(v) for k, v in self.settings.items()})
        try:
            return string.Formatter().vformat(text, (), values)
        except (ValueError, IndexError, AttributeError):
            return text

    def entry_for_intent(self, intent: str | None) -> Entry | None:
        if not intent or not intent.startswith(INTENT_PREFIX):
            return None
        return self.entries.get(intent[len(INTENT_PREFIX) :])

    def message(self, key: str, default: str = "") -> str:
        """A bot message from messages.yml, settings filled in."""
        value = self.messages.get(key, default)
        return self.fill(value) if isinstance(value, str) else default


def placeholders(text: str) -> list[str]:
    """Names used as {placeholder} in a text ('{{' and '}}' are literal braces)."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:
        return ["<unbalanced braces>"]


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


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


class _Reader:
    """Turns parsed YAML into entries, collecting problems instead of raising."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def add(self, file: str, line: int, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(file, line, message, severity))

    def load(self, path: Path) -> Any:
        try:
            data = load_yaml(path)
        except YamlError as exc:
            self.add(self.rel(path), exc.line, exc.message)
            return None
        self._duplicate_keys(self.rel(path), data)
        return data

    def _duplicate_keys(self, file: str, node: Any) -> None:
        if isinstance(node, LineDict):
            for key, line in node.duplicate_keys:
                self.add(file, line, f"'{key}' appears twice here; keep only one")
            for value in node.values():
                self._duplicate_keys(file, value)
        elif isinstance(node, list):
            for value in node:
                self._duplicate_keys(file, value)

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
            if not _is_text(data.get(key)):
                self.add(file, getattr(data, "line", 1), f"setting '{key}' is missing or empty")
        for key, value in data.items():
            if isinstance(value, str) and value.strip().startswith("["):
                self.add(
                    file,
                    lines.get(key, 1),
                    f"setting '{key}' is still a placeholder ({value}); the deploying "
                    "authority must fill it in",
                    "warning",
                )
        months = data.get("review_after_months", 12)
        if not isinstance(months, int) or months < 1:
            self.add(file, lines.get("review_after_months", 1),
                     "review_after_months must be a whole number of months, e.g. 12")
        return {k: v for k, v in data.items()}

    def messages(self, path: Path) -> dict[str, Any]:
        if not path.exists():
            return {}
        data = self.load(path)
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.add(self.rel(path), 1, "messages.yml must be a list of 'name: text' lines")
            return {}
        for key, value in data.items():
            if not _is_text(value):
                self.add(self.rel(path), data.key_lines.get(key, 1),
                         f"message '{key}' must be a non-empty text")
        return dict(data)

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
                         f"{_suggest(key, CATEGORY_FIELDS)}; only 'category' and 'entries' "
                         "belong here")
        name = data.get("category")
        if not _is_text(name):
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
        if not isinstance(item, LineDict):
            self.add(file, line, "each entry must be a set of 'field: value' lines "
                     "starting with '- id: ...'")
            return None
        lines = item.key_lines
        for key in item:
            if key not in ENTRY_FIELDS:
                self.add(file, lines[key],
                         f"unknown field '{key}'{_suggest(key, ENTRY_FIELDS)}; allowed "
                         f"fields: {', '.join(ENTRY_FIELDS)}")
        ok = True
        for key in ("id", "question", "answer", "source", "owner"):
            value = item.get(key)
            if key not in item:
                self.add(file, item.line, f"required field '{key}' is missing")
                ok = False
            elif not _is_text(value):
                kind = "empty" if value in (None, "") else "not a text"
                self.add(file, lines[key], f"field '{key}' is {kind}; write it as a text")
                ok = False
        entry_id = item.get("id")
        if _is_text(entry_id) and not ID_PATTERN.match(entry_id):
            self.add(file, lines["id"],
                     f"id '{entry_id}' must be lower case letters, digits and '_', starting "
                     "with a letter (e.g. what_is_tpin)")
            ok = False
        examples = item.get("examples")
        example_lines: list[int] = []
        if "examples" not in item:
            self.add(file, item.line, "required field 'examples' is missing: list the ways "
                     "users ask this question")
            ok = False
        elif not isinstance(examples, LineList):
            self.add(file, lines["examples"], "'examples' must be a list, one '- ' line each")
            ok = False
        else:
            clean = []
            for ex, ex_line in zip(examples, examples.item_lines, strict=True):
                if isinstance(ex, (int, float)) and not isinstance(ex, bool):
                    ex = str(ex)
                if not _is_text(ex):
                    self.add(file, ex_line, "an example is empty or not a text")
                    continue
                clean.append(ex.strip())
                example_lines.append(ex_line)
            examples = clean
        reviewed_raw = item.get("reviewed")
        reviewed = _parse_date(reviewed_raw)
        if "reviewed" not in item:
            self.add(file, item.line, "required field 'reviewed' is missing: the date the "
                     "answer was last checked, e.g. 2026-11-01")
            ok = False
        elif reviewed is None:
            self.add(file, lines["reviewed"], f"'reviewed' date '{reviewed_raw}' is not valid; "
                     "write it as YYYY-MM-DD, e.g. 2026-11-01")
        short = item.get("short_answer")
        if short is not None and not _is_text(short):
            self.add(file, lines["short_answer"], "'short_answer' must be a text")
            short = None
        related = item.get("related") or []
        if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
            self.add(file, lines.get("related", item.line),
                     "'related' must be a list of entry ids, e.g. [what_is_tpin]")
            related = []
        links = item.get("links") or []
        if not isinstance(links, list):
            self.add(file, lines.get("links", item.line),
                     "'links' must be a list of '- title: ... url: ...' items")
            links = []
        good_links = []
        for link in links:
            link_line = getattr(link, "line", lines.get("links", item.line))
            if not isinstance(link, dict) or not _is_text(link.get("title")) or not _is_text(
                link.get("url")
            ):
                self.add(file, link_line, "each link needs a 'title' and a 'url'")
                continue
            extra = set(link) - {"title", "url"}
            if extra:
                self.add(file, link_line, f"unknown link field '{sorted(extra)[0]}'; a link "
                         "has only 'title' and 'url'")
            url = link["url"].strip()
            if not (url.startswith(("https://", "http://")) or url.startswith("{")):
                self.add(file, link_line, f"link url '{url}' must start with https://")
            good_links.append({"title": link["title"].strip(), "url": url})
        if not ok:
            return None
        return Entry(
            id=entry_id,
            category=category,
            question=item["question"].strip(),
            examples=examples,
            answer=item["answer"].strip(),
            source=item["source"].strip(),
            owner=item["owner"].strip(),
            reviewed=reviewed,
            short_answer=short.strip() if short else None,
            related=list(related),
            links=good_links,
            file=file,
            line=item.line,
            field_lines=dict(lines),
            example_lines=example_lines,
        )


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
    messages = reader.messages(directory / "messages.yml")
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
                       messages=messages)
    return kb, reader.problems
