"""Is this message English? The bot answers in English only; other languages get told so.

A method of its own rather than a library: the published detectors either ship no model for
Nyanja, Bemba, Tonga or Lozi, or take short SMS English ("hw do i gt tpin", "PRN?") for another
language (measured in the issue's research, 15–64 % of such English flagged). What tells the
two apart here is vocabulary:

- English words: the sentence encoder's vocabulary, plus SMS spellings (`spelling.yml`);
- customs words that are not English (tpin, asycuda, Kasumbalesa) count for neither side;
- frequent words of each language the bot meets (`languages.yml`).

A message is another language when it has more of those words than English ones, or when
fewer than half of its words are English and at least two are not. One English word among
several Bemba ones ("Ndefwaya TPIN") is still Bemba; a Nyanja greeting before an English
question ("Muli bwanji, how do I get a TPIN?") is English, and answered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.understanding.lexicon import words

# English words that other languages also use ("me" in French, "do" in Portuguese): they never
# make a message foreign, and never count as a foreign language's word.
ENGLISH_COMMON = frozenset("""
a an the i me my you your he she it we us our they them is are was be been am do does did
done to of in on at by for from with and or not no yes so if as but this that these those there
here what when where who why how which can could will would should may might must have has had
get got go pay paid please help need want know tell ok okay hi hello thanks thank good morning
""".split())


# A form or reference code ("CE 5", "ce5", "CE-34", "C 10452"): letters joined to a number,
# capitals before one, or the customs forms' "ce" before one ("ce 5?" asks about the visitor's
# vehicle form, though "ce" is French) are no word of any language. Another small word before
# a number is ("PRN ya 3", "el IVA de 2").
CODE = re.compile(r"(?<![^\W\d_])(?:[^\W\d_]{1,3}-?|[A-Z]{1,3}\s|(?i:ce)\s)\d+(?!\w)")
# A short word in capitals is an acronym ("EU?", "CE form"), no word of a language, though
# "eu" is Portuguese; unless the whole message is in capitals ("CE QUE JE DOIS PAYER").
ACRONYM = re.compile(r"(?<![^\W\d_])[A-Z]{2,4}(?![^\W\d_])")


@lru_cache(maxsize=1)
def language_words() -> dict[str, frozenset[str]]:
    """Each language's frequent words (letters only, two or more)."""
    data = yaml.safe_load(Path(__file__).with_name("languages.yml").read_text("utf-8"))
    return {lang: frozenset(w for w in words(text) if len(w) >= 2)
            for lang, text in data.items()}


@dataclass(frozen=True)
class Verdict:
    english: bool
    language: str | None  # the likeliest other language, when not English
    english_words: int
    foreign_words: int


@dataclass
class LanguageDetector:
    english: frozenset[str]
    neutral: frozenset[str] = frozenset()  # customs words that are not English

    def verdict(self, text: str) -> Verdict:
        markers = language_words()
        plain = CODE.sub(" ", text)
        if not (plain.isupper() and len(words(plain)) > 1):
            plain = ACRONYM.sub(" ", plain)
        tokens = [w for w in words(plain) if w not in self.neutral or _is_marker(w, markers)]
        english = foreign = unknown = 0
        votes: dict[str, int] = {}
        for word in tokens:
            langs = [lang for lang, ws in markers.items() if word in ws]
            if langs and word not in ENGLISH_COMMON:
                foreign += 1
                for lang in langs:
                    votes[lang] = votes.get(lang, 0) + 1
            elif word in self.english or word in ENGLISH_COMMON:
                english += 1
            else:
                unknown += 1
        other = (foreign >= 1 and foreign > english) or (
            english < (english + foreign + unknown) / 2 and foreign + unknown >= 2
            and foreign >= 1)
        language = max(votes, key=votes.get) if votes else None
        return Verdict(not other, language if other else None, english, foreign)

    def is_english(self, text: str) -> bool:
        return self.verdict(text).english


def _is_marker(word: str, markers: dict[str, frozenset[str]]) -> bool:
    return any(word in ws for ws in markers.values())


def detector(english: Iterable[str], domain: Iterable[str], sms: Iterable[str]) -> LanguageDetector:
    """A detector for this vocabulary: SMS spellings count as English; customs words that are
    neither English nor another language's words count for no side."""
    english_set = frozenset(english) | frozenset(sms)
    markers = language_words()
    neutral = frozenset(w for w in domain
                        if w not in english_set and not _is_marker(w, markers))
    return LanguageDetector(english=english_set, neutral=neutral)
