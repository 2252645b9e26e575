"""A message that is a TPIN and nothing else ("1002003006", "sorry wrong tpin, its 100 200
3004"): outside a form the person wants a declaration checked with it, most often the one that
was just not found. The model reads a bare number as the contact-centre entry (a phone number),
a wrong answer. A phone number (0977 123 456, +260...) starts with 0 or +: it is no TPIN."""

from __future__ import annotations

import re

_TPIN = re.compile(r"(?<![\d+])[1-9](?:[ \-]*\d){9}(?![\d])")
# Words that may stand around the TPIN without asking anything else.
# Not "number": "my number is 9876543210" is a phone from abroad typed without its +.
_AROUND = frozenset(
    "my the its it's it is tpin tpn here this that one try again with use sorry wrong "
    "correct right oops typo mistake meant i mean should be instead ok okay please pls now "
    "thanks thank you".split())


def only_a_tpin(text: str) -> bool:
    """Exactly one TPIN-shaped run of 10 digits, and around it only words like "my tpin is",
    "sorry wrong tpin, its", "try"."""
    found = _TPIN.findall(text)
    if len(found) != 1:
        return False
    rest = _TPIN.sub(" ", text).lower()
    if any(ch.isdigit() for ch in rest):
        return False
    words = re.findall(r"[a-z']+", rest.replace("\u2019", "'"))
    return all(w in _AROUND for w in words)
