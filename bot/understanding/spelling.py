"""Normalise a message's spelling before the trained model sees it.

Two steps, each word on its own, for words the model was not trained on:
1. SMS spelling (`hw`, `gt`, `pls`, `u`, `frm`, ...) from `spelling.yml`;
2. a word that is neither English nor in the customs vocabulary is corrected to the nearest
   vocabulary word at edit distance 1 (2 for words of 8 letters or more), the most frequent
   one on a tie: `decleration` → `declaration`, `custms` → `customs`. Short words, numbers,
   references and anything with a digit are left alone, so a TPIN or a declaration reference
   is never changed; so is a capitalised word inside a sentence (a name: `Mazabuka`), and no
   word becomes a word of another language (`mwabuka`, a Tonga greeting the model knows).
Only what would be corrected is changed; punctuation and spacing stay as typed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

TOKEN = re.compile(r"[A-Za-z0-9']+")
MIN_FUZZY_LENGTH = 4
LONG_WORD = 8
# Longer words are not guessed at (no word of the vocabulary is that long, and the candidates
# grow with the cube of the length: a 2,000-letter "word" must not stall the server).
MAX_FUZZY_LENGTH = 20
MAX_CORRECTED_WORDS = 60
INFLECTIONS = ("ers", "er", "ings", "ing", "ed", "es", "s", "ly", "ments", "ment", "ations",
               "ation", "ions", "ion")


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, str]:
    data = yaml.safe_load((Path(__file__).with_name("spelling.yml")).read_text("utf-8"))
    return {str(k).lower(): str(v) for k, v in (data.get("abbreviations") or {}).items()}


def _deletes(word: str, distance: int) -> set[str]:
    found = {word}
    frontier = {word}
    for _ in range(distance):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein (adjacent transpositions), cut off above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@dataclass
class Speller:
    """Corrects words against a vocabulary (word → how often it occurs in the training texts)."""

    vocabulary: Counter[str]
    english: frozenset[str] = frozenset()
    # Known words never offered as a correction: other languages' words of the training data
    # (greetings in Nyanja, Tonga...): nobody writing English misspells a word into them.
    foreign: frozenset[str] = frozenset()
    _index: dict[str, set[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for word in self.vocabulary:
            if (len(word) >= MIN_FUZZY_LENGTH - 1 and word.isalpha()
                    and (word not in self.foreign or word in self.english)):
                for key in _deletes(word, 2 if len(word) >= LONG_WORD - 1 else 1):
                    self._index.setdefault(key, set()).add(word)

    def known(self, word: str) -> bool:
        """In the vocabulary or English, or an inflection of such a word (importer, shedding):
        the encoder's word list has few inflections, and those are not misspellings."""
        if word in self.vocabulary or word in self.english:
            return True
        for suffix in INFLECTIONS:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                stem = word[: -len(suffix)]
                for candidate in (stem, stem + "e", stem[:-1] if stem[-1:] == stem[-2:-1] else ""):
                    if candidate and (candidate in self.vocabulary or candidate in self.english):
                        return True
        return False

    def correct(self, word: str) -> str:
        """The vocabulary word meant by `word`, or `word` itself."""
        lower = word.lower()
        if (not MIN_FUZZY_LENGTH <= len(lower) <= MAX_FUZZY_LENGTH or not lower.isalpha()
                or self.known(lower)):
            return word
        limit = 2 if len(lower) >= LONG_WORD else 1
        candidates: set[str] = set()
        for key in _deletes(lower, limit):
            candidates |= self._index.get(key, set())
        scored = [(edit_distance(lower, c, limit), -self.vocabulary[c], c) for c in candidates]
        scored = [s for s in scored if s[0] <= limit]
        return min(scored)[2] if scored else word


def _is_name(word: str, before: str) -> bool:
    """A capitalised word that does not start a sentence ("from Mazabuka", "I am Mwape"): a
    name of a person or place, not a misspelling. After a greeting or a comma, colon or dash a
    new sentence may start ("Hello, Custms clearence", "Hi Custms"): those are corrected."""
    from bot.understanding.clauses import GREETING

    rest = GREETING.sub("", before)
    starts = not rest.strip() or rest.rstrip()[-1] in ".!?\n,:;-"
    return word[:1].isupper() and word[1:].islower() and not starts


def normalise(text: str, speller: Speller | None = None) -> str:
    """`text` with SMS spelling expanded and misspelled words corrected."""
    table = abbreviations()
    budget = [MAX_CORRECTED_WORDS]

    def fix(match: re.Match) -> str:
        word = match.group(0)
        lower = word.lower()
        if speller is not None and lower in speller.vocabulary:
            return word  # the model was trained on this spelling: leave it as typed
        if lower in table:
            return table[lower]
        if any(ch.isdigit() for ch in word) or speller is None or budget[0] <= 0:
            return word
        if _is_name(word, match.string[:match.start()]):
            return word
        budget[0] -= 1
        return speller.correct(word)

    # Spaces collapse; line breaks stay (they separate questions: bot.understanding.clauses).
    return re.sub(r"[ \t]+", " ", TOKEN.sub(fix, text)).strip()

