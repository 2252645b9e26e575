"""Property-based fuzzing of the reference and TPIN parsers (actions/declarations/reference.py):
whatever a person types, the parsers answer with a value or their own refusal (a reason safe
to show), never another exception, and what they accept is canonical."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from actions.declarations.reference import (
    InvalidReference,
    InvalidTpin,
    find_reference,
    find_tpin,
    is_tpin,
    parse_reference,
    parse_tpin,
)

# Text near what people type (digits, office letters, separators) and any Unicode at all.
NEAR = st.text(alphabet="0123456789 LSKCHRlskc/-.\t\n:۲٣", max_size=80)
TEXT = st.one_of(NEAR, st.text(max_size=300))
CANONICAL = re.compile(r"(?:19|20)\d\d [A-Z]{3} [A-Z] \d{1,7}")


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_parse_reference_returns_a_canonical_reference_or_refuses(text):
    try:
        reference = parse_reference(text, today=date(2026, 12, 1))
    except InvalidReference as refused:
        assert refused.reason and isinstance(refused.reason, str)
        return
    assert CANONICAL.fullmatch(reference.canonical), reference.canonical
    assert parse_reference(reference.canonical, today=date(2026, 12, 1)) == reference


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_find_reference_finds_a_span_of_the_text_or_nothing(text):
    found = find_reference(text, today=date(2026, 12, 1))
    if found is not None:
        reference, (start, end) = found
        assert 0 <= start < end <= len(text)
        assert CANONICAL.fullmatch(reference.canonical)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_tpin_parsers_return_ten_digits_or_refuse_without_echoing_digits(text):
    try:
        tpin = parse_tpin(text)
    except InvalidTpin as refused:
        assert not re.search(r"[0-9]{4}", refused.reason), refused.reason
    else:
        assert is_tpin(tpin) and re.fullmatch(r"[0-9]{10}", tpin)
    found = find_tpin(text)
    assert found is None or re.fullmatch(r"[0-9]{10}", found)
