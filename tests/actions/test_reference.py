"""Declaration references and TPINs as people type them."""

from datetime import date

import pytest

from actions.declarations.reference import (
    InvalidReference,
    InvalidTpin,
    find_reference,
    find_tpin,
    is_tpin,
    parse_reference,
    parse_tpin,
)

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("2026 LSK C 10452", "2026 LSK C 10452"),
        ("LSK/2026/C/10452", "2026 LSK C 10452"),
        ("C10452 LSK 2026", "2026 LSK C 10452"),
        ("LSK C 10452 2026", "2026 LSK C 10452"),
        ("2026 C 10452 LSK", "2026 LSK C 10452"),
        ("2026 lsk c 10452", "2026 LSK C 10452"),
        ("  2026    LSK   C    10452  ", "2026 LSK C 10452"),
        ("lsk-2026-c-10452", "2026 LSK C 10452"),
        ("2026/LSK/C/10452", "2026 LSK C 10452"),
        ("2026 LSK C10452", "2026 LSK C 10452"),
        ("2026 NAK C 77", "2026 NAK C 77"),
        ("2026 NAK C 00077", "2026 NAK C 77"),
        ("kzl 2026 c 3310", "2026 KZL C 3310"),
        ("2025 LSK C 99881", "2025 LSK C 99881"),
        ("2027 LSK C 1", "2027 LSK C 1"),
        # typed without spaces on a phone (was "the office code is missing")
        ("2026lskc10452", "2026 LSK C 10452"),
        ("LSK2026C10452", "2026 LSK C 10452"),
        ("c10452lsk2026", "2026 LSK C 10452"),
    ],
)
def test_accepted_shapes_become_canonical(text, canonical):
    assert parse_reference(text, today=TODAY).canonical == canonical


@pytest.mark.parametrize(
    "text, reason_part",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("LSK 10452", "year"),
        ("2026 10452", "office code"),
        ("2026 LSK 10452", "series letter"),
        ("2026 LSKA C 10452", "office code"),
        ("2028 LSK C 10452", "year"),
        ("1999 LSK C 10452", "year"),
        ("2026 LSK C 0", "cannot be 0"),
        ("2026 LSK C 12345678", "order"),
        ("1002003004", "TPIN"),
        ("100 200 3004", "TPIN"),
        ("123456/78/9", "NRC"),
        ("2026 LSK C 10452; DROP TABLE declarations;--", "only letters"),
        ("' OR '1'='1", "only letters"),
        ("2026 LSK C 10452' OR 1=1 --", "only letters"),
        ("2026 LSK C 10452\x00", "only letters"),
        ("2026 LSK C ١٠٤٥٢", "only letters"),
        ("2026 LSK C 10452 2026 LSK C 10452", "order"),
        ("2026 LSK C 10452 " * 4, "too long"),
        ("<script>alert(1)</script>", "only letters"),
    ],
)
def test_rejects_say_why(text, reason_part):
    with pytest.raises(InvalidReference) as error:
        parse_reference(text, today=TODAY)
    assert reason_part in error.value.reason


def test_very_long_input_is_rejected_quickly():
    for text in ("2" * 100_000, "2026 LSK C 10452 " * 6000, "a" * 100_000):
        with pytest.raises(InvalidReference, match="too long"):
            parse_reference(text, today=TODAY)
    assert find_reference("x " * 50_000 + "2026 LSK C 10452", today=TODAY) is None


def test_non_text_is_rejected():
    with pytest.raises(InvalidReference):
        parse_reference(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "message, canonical",
    [
        ("has 2026 LSK C 10452 been released?", "2026 LSK C 10452"),
        ("check lsk/2026/c/10452 please", "2026 LSK C 10452"),
        ("status of C10452 LSK 2026, tpin 1002003004", "2026 LSK C 10452"),
        ("2026 KZL C 3310 2003004005", "2026 KZL C 3310"),
    ],
)
def test_reference_found_inside_a_message(message, canonical):
    found = find_reference(message, today=TODAY)
    assert found is not None
    reference, (start, end) = found
    assert reference.canonical == canonical
    assert parse_reference(message[start:end], today=TODAY) == reference


@pytest.mark.parametrize(
    "message", ["where is my declaration", "tpin 1002003004", "2026 10452", "the 2026 budget",
                "LSKC104522026", "abc2026",  # a number glued to the year cannot be told apart
                # words of a sentence, glued only by the reading (were 2019 GOL F 7...)
                "what is the duty on a 2019 Golf 7?", "I want to import a 2020 Polo 6",
                "galaxy note 9 2026", "a 2021 Case 580 backhoe"]
)
def test_no_reference_in_message(message):
    assert find_reference(message, today=TODAY) is None


@pytest.mark.parametrize(
    "text", ["1002003004", " 1002003004 ", "100 200 3004", "100-200-3004", "1002 003 004"]
)
def test_tpin_accepted(text):
    assert parse_tpin(text) == "1002003004"


@pytest.mark.parametrize(
    "text, reason_part",
    [
        ("", "empty"),
        ("12345", "has 5"),
        ("1234567890123", "has 13"),
        ("10020030O4", "only digits"),
        ("******3004", "only digits"),
        ("123456/78/9", "NRC"),
        ("1' OR '1'='1", "only digits"),
        ("1" * 100_000, "too long"),
    ],
)
def test_tpin_rejects_say_why_without_echoing(text, reason_part):
    with pytest.raises(InvalidTpin) as error:
        parse_tpin(text)
    assert reason_part in error.value.reason
    assert "1002003004" not in error.value.reason


def test_tpin_found_in_message_and_masked_value_is_not_a_tpin():
    assert find_tpin("my tpin is 1002003004 thanks") == "1002003004"
    assert find_tpin("my tpin is 10020030041") is None
    assert find_tpin("2026 LSK C 10452") is None
    assert is_tpin("1002003004")
    assert not is_tpin("******3004")
    assert not is_tpin(1002003004)
