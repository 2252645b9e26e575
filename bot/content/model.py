"""The knowledge model: what `knowledge/*.yml` becomes once read and checked.

Plain data with no reading logic (that is `reader`), so the action server, the compiler and the
support report share one definition of an entry.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass, field
from typing import Any

from bot.names import INTENT_PREFIX

SETTINGS_FILE = "settings.yml"
MESSAGES_FILE = "messages.yml"
STATUSES_FILE = "statuses.yml"
# Files in knowledge/ that are not category files; each has its own loader.
SPECIAL_FILES = {SETTINGS_FILE, MESSAGES_FILE, STATUSES_FILE}

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
# What users are shown while a setting is still a "[placeholder]" (validate warns meanwhile),
# so an unfilled phone number never reaches them; documented in knowledge/README.md. A
# fallback may name other settings, which are filled in (or fall back) in turn.
SETTING_FALLBACKS = {
    "authority_name": "the revenue authority",
    "authority_short": "the revenue authority",
    "bot_name": "the customs assistant",
    "website": "the revenue authority's website",
    "contact_phone": "the number on {website}",
    "contact_email": "the address on {website}",
    "contact_hours": "see {website} for the opening hours",
    "trade_portal": "{website}",
    "head_office": "any {authority_short} office",
}
DEFAULT_FALLBACK = "{website}"  # for a setting added without a fallback of its own


def is_placeholder(value: Any) -> bool:
    """A setting the deploying authority has not filled in yet: "[toll-free number]"."""
    return isinstance(value, str) and value.strip().startswith("[")


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
    """Entries by id (in file order), categories, settings and the bot's own messages."""

    entries: dict[str, Entry]
    categories: list[Category]
    settings: dict[str, Any]
    messages: dict[str, Any] = field(default_factory=dict)
    message_lines: dict[str, int] = field(default_factory=dict)

    def fill(self, text: str, /, **values: str) -> str:
        """Replace {placeholders} with settings, or with `values` the code supplies (those win).

        Unknown placeholders are left as they are, so a typo shows instead of breaking a reply.
        """
        mapping = _SafeDict(self.shown_settings())
        mapping.update(values)
        try:
            return string.Formatter().vformat(text, (), mapping)
        except (ValueError, IndexError, AttributeError):
            return text

    def shown_settings(self) -> dict[str, str]:
        """The settings as users see them: a "[placeholder]" replaced by its fallback."""
        shown = {k: str(v) for k, v in self.settings.items() if not is_placeholder(v)}
        missing = [k for k, v in self.settings.items() if is_placeholder(v)]
        for _ in range(3):  # a fallback may name a setting that falls back itself
            known = _SafeDict(shown)
            for key in missing:
                fallback = SETTING_FALLBACKS.get(key, DEFAULT_FALLBACK)
                shown[key] = string.Formatter().vformat(fallback, (), known)
        return shown

    def entry_for_intent(self, intent: str | None) -> Entry | None:
        if not intent or not intent.startswith(INTENT_PREFIX):
            return None
        return self.entries.get(intent[len(INTENT_PREFIX) :])

    def message(self, key: str, default: str = "", /, **values: str) -> str:
        """A bot message from messages.yml, settings and `values` filled in."""
        value = self.messages.get(key, default)
        return self.fill(value, **values) if isinstance(value, str) else default


def placeholders(text: str) -> list[str]:
    """Names used as {placeholder} in a text ('{{' and '}}' are literal braces)."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:
        return ["<unbalanced braces>"]
