"""A TPIN in a message, and a message that is a TPIN and nothing else ("1002003006", "sorry
wrong tpin, its 100 200 3004"): outside a form the person wants a declaration checked with it,
most often the one that was just not found. The model reads a bare number as the
contact-centre entry (a phone number), a wrong answer. A phone number is no TPIN: a Zambian
one starts with 0 (0977 123 456), one from abroad with + or 00 and its country code."""

from __future__ import annotations

import re

TPIN_RUN = re.compile(r"(?<!\d)[1-9](?:[\s\-]*\d){9}(?!\d)")
# What comes before 10 digits that are the end of a number from abroad: "+44 20 7946 0958" holds
# "20 7946 0958", a TPIN's shape, after the country code (a few characters: LEAD_CHARS).
_INTERNATIONAL_LEAD = re.compile(r"(?:\+|(?<![\w+])00)[\d\s\-().]*$")
LEAD_CHARS = 12
# Words that may stand around the TPIN without asking anything else. Not "number": "my number
# is 9876543210" is a phone from abroad typed without its +.
_AROUND = frozenset(
    "my the its it's it is tpin tpn here this that one try again with use sorry wrong "
    "correct right oops typo mistake meant i mean should be instead ok okay please pls now "
    "thanks thank you".split())


def tpins(text: str) -> list[re.Match[str]]:
    """The TPIN-shaped runs of 10 digits in `text`, but the national part of a phone number
    from abroad."""
    return [m for m in TPIN_RUN.finditer(text)
            if not _INTERNATIONAL_LEAD.search(text[max(0, m.start() - LEAD_CHARS):m.start()])]


def words_around(text: str, match: re.Match[str]) -> list[str]:
    """The words of `text` outside `match`, lower case (a phone's curly apostrophe made
    straight)."""
    rest = (text[: match.start()] + " " + text[match.end():]).lower().replace("\u2019", "'")
    return re.findall(r"[a-z']+", rest)


def only_a_tpin(text: str) -> bool:
    """Exactly one TPIN, no other digit, and around it only words like "my tpin is", "sorry
    wrong tpin, its", "try"."""
    found = tpins(text)
    if len(found) != 1 or len(TPIN_RUN.findall(text)) != 1:
        return False
    rest = text[: found[0].start()] + text[found[0].end():]
    if any(ch.isdigit() for ch in rest):
        return False
    return all(w in _AROUND for w in words_around(text, found[0]))
