"""Declaration references and TPINs as people type them, reduced to one canonical form.

Users write the ASYCUDA registration reference in many orders (`2026 LSK C 10452`,
`LSK/2026/C/10452`, `C10452 LSK 2026`); backends and limits need exactly one spelling, so every
accepted shape becomes `YEAR OFFICE SERIES NUMBER`. Rejections carry a plain reason the bot can
show. Nothing here touches a database: values are validated before they get near a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

MAX_REFERENCE_LENGTH = 64
MIN_YEAR = 2000
EXAMPLE_REFERENCE = "2026 LSK C 10452"

TPIN_LENGTH = 10


class InvalidReference(ValueError):
    """A text that is not a declaration reference; `reason` is safe to show the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidTpin(ValueError):
    """A text that is not a TPIN; `reason` is safe to show the user (it never echoes digits)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Reference:
    """A registration reference: year, office code, series letter and number."""

    year: int
    office: str
    series: str
    number: int

    @property
    def canonical(self) -> str:
        return f"{self.year} {self.office} {self.series} {self.number}"

    def __str__(self) -> str:
        return self.canonical


_SEP = r"[ \t/\-.]+"
_OPT_SEP = r"[ \t/\-.]*"
_YEAR = r"(?P<year{n}>(?:19|20)\d\d)"
_OFFICE = r"(?P<office{n}>[A-Za-z]{{3}})"
_SERIES_NUMBER = r"(?P<series{n}>[A-Za-z])" + _OPT_SEP + r"(?P<number{n}>\d{{1,7}})"

# The shapes people type; the series letter always sits right before its number.
_SHAPES = [
    (_YEAR, _OFFICE, _SERIES_NUMBER),  # 2026 LSK C 10452
    (_OFFICE, _YEAR, _SERIES_NUMBER),  # LSK/2026/C/10452
    (_SERIES_NUMBER, _OFFICE, _YEAR),  # C10452 LSK 2026
    (_OFFICE, _SERIES_NUMBER, _YEAR),  # LSK C 10452 2026
    (_YEAR, _SERIES_NUMBER, _OFFICE),  # 2026 C 10452 LSK
]


def _joined(shape: tuple[str, ...], n: int) -> str:
    """The shape's parts with separators between them; typed glued ("2026lskc10452") where
    letters meet digits or the 3-letter office meets the series letter, never between two
    numbers (the number and the year of "LSK C 10452 2026")."""
    out = shape[0].format(n=n)
    for before, part in zip(shape, shape[1:], strict=False):
        digits_meet = before in (_YEAR, _SERIES_NUMBER) and part == _YEAR
        out += (_SEP if digits_meet else _OPT_SEP) + part.format(n=n)
    return out


_PATTERN = re.compile(
    "|".join(
        r"(?<![A-Za-z0-9])" + _joined(shape, i) + r"(?![A-Za-z0-9])"
        for i, shape in enumerate(_SHAPES)
    ),
    re.ASCII,
)
_ALLOWED_CHARS = re.compile(r"^[A-Za-z0-9 \t/\-.]*$")
_NRC = re.compile(r"^\d{6}/\d{2}/\d$", re.ASCII)
_DIGITS = re.compile(r"[0-9]+")


def _glued_in_words(match: re.Match[str]) -> bool:
    """Parts typed glued ("lskc10452") inside a match that also holds spaces: words of a
    sentence, not a reference typed on a phone ("a 2019 Golf 7", "Polo 6 2020", "Note 9
    2026" read as 2019 GOL F 7). A reference typed glued is glued throughout, or uses
    separators other than spaces ("2026/LSKC/10452")."""
    if not any(ch.isspace() for ch in match.group(0)):
        return False
    found = {k[:-1]: match.span(k) for k, v in match.groupdict().items() if v is not None}
    parts = sorted([found["year"], found["office"], (found["series"][0], found["number"][1])])
    return any(end == start for (_, end), (start, _) in zip(parts, parts[1:], strict=False))


def _from_match(match: re.Match[str], today: date | None) -> Reference:
    if _glued_in_words(match):
        raise InvalidReference("the parts are not in an order I recognise")
    groups = {k[:-1]: v for k, v in match.groupdict().items() if v is not None}
    year = int(groups["year"])
    latest = (today or date.today()).year + 1
    if not MIN_YEAR <= year <= latest:
        raise InvalidReference(
            f"the year in a declaration reference is between {MIN_YEAR} and {latest}"
        )
    number = int(groups["number"])
    if number == 0:
        raise InvalidReference("the number after the series letter cannot be 0")
    return Reference(year, groups["office"].upper(), groups["series"].upper(), number)


def parse_reference(text: str, today: date | None = None) -> Reference:
    """The reference that is the whole of `text`, or InvalidReference saying what is wrong."""
    if not isinstance(text, str):
        raise InvalidReference("a declaration reference is text")
    stripped = text.strip()
    if not stripped:
        raise InvalidReference("the reference is empty")
    if len(stripped) > MAX_REFERENCE_LENGTH:
        raise InvalidReference("that is too long to be a declaration reference")
    compact = re.sub(r"[\s\-]", "", stripped)
    if _DIGITS.fullmatch(compact) and len(compact) == TPIN_LENGTH:
        raise InvalidReference("that looks like a TPIN, not a declaration reference")
    if _NRC.match(stripped):
        raise InvalidReference("that looks like an NRC number, not a declaration reference")
    if not _ALLOWED_CHARS.match(stripped):
        raise InvalidReference(
            "a declaration reference has only letters, digits, spaces and slashes"
        )
    match = _PATTERN.fullmatch(stripped)
    if match is None:
        raise InvalidReference(_explain(stripped))
    return _from_match(match, today)


def _explain(text: str) -> str:
    """A hint for a reference-like text that matches no accepted shape."""
    tokens = re.findall(r"[A-Za-z]+|[0-9]+", text)
    years = [t for t in tokens if t.isdigit() and len(t) == 4]
    offices = [t for t in tokens if t.isalpha() and len(t) == 3]
    if not years:
        return "the year (for example 2026) is missing"
    if not offices:
        return "the 3-letter office code (for example LSK) is missing"
    if not any(t.isalpha() and len(t) == 1 for t in tokens) and not re.search(
        r"[A-Za-z]\d", text
    ):
        return "the series letter and number (for example C 10452) are missing"
    return "the parts are not in an order I recognise"


Span = tuple[int, int]


def find_reference(text: str, today: date | None = None) -> tuple[Reference, Span] | None:
    """The first valid reference inside a longer message, with its span, or None."""
    if not isinstance(text, str):
        return None
    for match in _PATTERN.finditer(text[:2000]):
        try:
            return _from_match(match, today), match.span()
        except InvalidReference:
            continue
    return None


_TPIN_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{10}(?![0-9])")


def parse_tpin(text: str) -> str:
    """The 10 TPIN digits of `text` (spaces and dashes between digits allowed), or InvalidTpin."""
    if not isinstance(text, str):
        raise InvalidTpin("a TPIN is 10 digits")
    stripped = text.strip()
    if not stripped:
        raise InvalidTpin("the TPIN is empty")
    if len(stripped) > 40:
        raise InvalidTpin("that is too long to be a TPIN; a TPIN has exactly 10 digits")
    if _NRC.match(stripped):
        raise InvalidTpin("that looks like an NRC number; a TPIN has exactly 10 digits")
    compact = re.sub(r"[ \-]", "", stripped)
    if not _DIGITS.fullmatch(compact):
        raise InvalidTpin("a TPIN has only digits, exactly 10 of them")
    if len(compact) != TPIN_LENGTH:
        return _raise_length(len(compact))
    return compact


def _raise_length(count: int) -> str:
    raise InvalidTpin(f"a TPIN has exactly 10 digits, and that has {count}")


def find_tpin(text: str) -> str | None:
    """A TPIN inside a longer message: a run of exactly 10 digits, or the whole text as one."""
    if not isinstance(text, str):
        return None
    found = _TPIN_IN_TEXT.search(text[:2000])
    if found:
        return found.group(0)
    try:
        return parse_tpin(text)
    except InvalidTpin:
        return None


def is_tpin(value: object) -> bool:
    """True for a clean 10-digit TPIN string (a masked value from an earlier turn is not)."""
    return isinstance(value, str) and len(value) == TPIN_LENGTH and bool(_DIGITS.fullmatch(value))
