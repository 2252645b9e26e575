"""Near misses by name: a message that names a domestic tax ("paye", "tax clearance") or another
agency's business ("road tax", "passport") and no customs word is not a customs question, however
close its wording is to an entry. The trained model weighs all words alike, so "penalty for late
payment of paye" reads as the customs late-payment entry; the terms (nearmiss.yml, editable by
support staff) say what it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

KINDS = ("domestic_tax", "out_of_scope")


@dataclass(frozen=True)
class Lexicon:
    """Per kind, one pattern of its terms; `customs` the words that keep a message customs."""

    kinds: dict[str, re.Pattern[str]]
    customs: re.Pattern[str]

    def kind(self, text: str) -> tuple[str, str] | None:
        """(kind, term) when the text names exactly one kind's term and no customs word."""
        lowered = text.lower()
        if self.customs.search(lowered):
            return None
        found = [(kind, m.group(0)) for kind, pattern in self.kinds.items()
                 if (m := pattern.search(lowered))]
        return found[0] if len(found) == 1 else None


def _pattern(terms: list[str]) -> re.Pattern[str]:
    alternatives = sorted({t.strip().lower() for t in terms if t and t.strip()}, key=len,
                          reverse=True)
    body = "|".join(r"\s+".join(map(re.escape, t.split())) for t in alternatives)
    return re.compile(rf"(?<![\w'])(?:{body})(?![\w'])")


def from_data(data: dict[str, list[str]]) -> Lexicon:
    return Lexicon(kinds={k: _pattern(data.get(k) or []) for k in KINDS if data.get(k)},
                   customs=_pattern(data.get("customs") or []))


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The terms of nearmiss.yml (read once per process)."""
    data = yaml.safe_load(Path(__file__).with_name("nearmiss.yml").read_text("utf-8")) or {}
    return from_data(data)
