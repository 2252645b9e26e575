"""Masking matches the parsers: every TPIN spelling `find_tpin` accepts and every phone spelling
`find_contact` accepts (Zambian or from abroad) is masked by `redact_tpins` (tracker store, logs,
transcripts), and time stamps are not. Spellings are generated from the parsers' own grammar
(hypothesis), then from free text over the characters the grammars use, so a spelling nobody
thought of is tried too.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from actions.declarations.reference import find_tpin
from actions.handoff import find_contact
from bot.appdb.tickets import transcript
from bot.privacy import install_log_redaction, redact_tpins

DIGIT = st.sampled_from("0123456789")
# parse_tpin removes runs of spaces and dashes; find_contact squeezes [\s\-().] between digits.
TPIN_SEPARATOR = st.text(alphabet=" -", min_size=1, max_size=3)
PHONE_SEPARATOR = st.text(alphabet=" \t-().", min_size=1, max_size=3)
WORDS = st.sampled_from(["", "my tpin is ", "tpin: ", "call me on ", "ok ", "\n", "(", "no. "])
ENDS = st.sampled_from(["", ".", " thanks", ")", "\n", " ok?", ","])
CONTEXT = st.text(alphabet="abc xyz:/,+\n", max_size=12)


def split(draw, digits: str, separator: st.SearchStrategy[str]) -> str:
    """`digits` in groups, each pair of groups joined by a drawn separator."""
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=len(digits) - 1)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    return "".join(g + (draw(separator) if i < len(groups) - 1 else "")
                   for i, g in enumerate(groups))


@st.composite
def tpin_spellings(draw) -> str:
    """Whole-text TPINs (parse_tpin) or 10 digits in a longer message (find_tpin)."""
    digits = "".join(draw(st.lists(DIGIT, min_size=10, max_size=10)))
    if draw(st.booleans()):
        return draw(st.sampled_from(["", " ", "  "])) + split(draw, digits, TPIN_SEPARATOR) \
            + draw(st.sampled_from(["", " ", "\n"]))
    return draw(WORDS) + digits + draw(ENDS)


@st.composite
def phone_spellings(draw) -> str:
    """A Zambian number as find_contact reads it: 0 or (+)260, then [279] and 8 digits."""
    national = draw(st.sampled_from("279")) + "".join(draw(st.lists(DIGIT, min_size=8,
                                                                    max_size=8)))
    prefix = draw(st.sampled_from(["0", "260", "+260"]))
    number = split(draw, prefix.lstrip("+") + national, PHONE_SEPARATOR)
    if prefix.startswith("+"):
        number = "+" + draw(st.sampled_from(["", " ", "-"])) + number
    if draw(st.booleans()) and prefix == "0":  # (097) 712-3456
        number = f"({prefix}{national[:2]}) {national[2:5]}-{national[5:]}"
    return draw(WORDS) + number + draw(ENDS)


@st.composite
def international_spellings(draw) -> str:
    """A number from abroad as find_contact reads it: + or 00, a country code (not 260) and the
    number, 10 to 15 digits in all, maybe with the (0) dialled only inside the country."""
    digits = draw(st.sampled_from("123456789")) + "".join(
        draw(st.lists(DIGIT, min_size=9, max_size=14)))
    if digits.startswith("260"):
        digits = "27" + digits[3:] + "0"
    body = split(draw, digits, PHONE_SEPARATOR)
    if draw(st.booleans()):  # +44 (0)20 7946 0958
        cut = draw(st.integers(1, 3))
        body = f"{digits[:cut]} (0){digits[cut:]}"
    prefix = draw(st.sampled_from(["+", "+ ", "00", "00 "]))
    return draw(WORDS) + prefix + body + draw(ENDS)


def squeezed_digits(text: str) -> str:
    return re.sub(r"(?<=[\d+])[\s\-().]+(?=\d)", "", text)


def assert_tpin_masked(text: str) -> None:
    tpin = find_tpin(text)
    if tpin is None:
        return
    masked = redact_tpins(text)
    assert find_tpin(masked) is None, (text, masked)
    assert tpin[:6] not in re.sub(r"[ \-]", "", masked), (text, masked)


def assert_phone_masked(text: str) -> None:
    found = find_contact(text)
    if found is None or found[1] != "phone":
        return
    masked = redact_tpins(text)
    again = find_contact(masked)
    assert again is None or again[0] != found[0], (text, masked)
    assert found[0][4:10] not in squeezed_digits(masked), (text, masked)


@settings(max_examples=400, deadline=None)
@given(tpin_spellings())
@example("100  200  3004")
@example("100-200-3004")
@example("  100 - 200 - 3004 ")
@example("1-0-0-2-0-0-3-0-0-4")
def test_every_tpin_spelling_the_parser_accepts_is_masked(text: str) -> None:
    assert find_tpin(text) is not None  # the generator speaks the parser's grammar
    assert_tpin_masked(text)


@settings(max_examples=400, deadline=None)
@given(phone_spellings())
@example("(097) 712-3456")
@example("+260 (97) 712 3456")
@example("0977.123.456")
def test_every_phone_spelling_the_parser_accepts_is_masked(text: str) -> None:
    assert find_contact(text) is not None
    assert_phone_masked(text)


@settings(max_examples=400, deadline=None)
@given(international_spellings())
@example("+44 20 7946 0958")
@example("+27 82 123 4567")
@example("call me on +44 (0)20 7946 0958")
def test_every_number_from_abroad_the_parser_accepts_is_masked(text: str) -> None:
    assert find_contact(text) is not None
    assert_phone_masked(text)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="0123456789 -().+:\n\tab/", max_size=40))
def test_free_text_the_parsers_accept_is_masked(text: str) -> None:
    assert_tpin_masked(text)
    assert_phone_masked(text)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(), CONTEXT)
def test_time_stamps_are_not_masked(when, context: str) -> None:
    stamp = when.strftime("%Y-%m-%d %H:%M:%S")
    line = f"{stamp}  User: {context}"
    assert redact_tpins(line).startswith(stamp)


def test_transcript_masks_every_spelling_and_keeps_time_stamps() -> None:
    events = [{"event": "user", "text": text, "timestamp": 1_790_000_000.5 + n}
              for n, text in enumerate(["my tpin is 100  200  3004", "100-200-3004",
                                        "call (097) 712-3456", "+260 97 712 3456"])]
    text = transcript(events)
    for secret in ("100  200  3004", "100-200-3004", "712-3456", "97 712"):
        assert secret not in text
    stamps = re.findall(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  User:", text, re.MULTILINE)
    assert len(stamps) == 4, text
    assert "******" not in text.split("User:")[0]


def test_tracker_store_masks_spellings_the_parsers_accept(tmp_path) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.stores.tracker_store import RedactingSQLTrackerStore

    domain = Domain.from_yaml('version: "3.1"\nintents: [greet]\n')
    db = tmp_path / "tracker.db"
    store = RedactingSQLTrackerStore(domain=domain, dialect="sqlite", db=str(db))
    said = ["100  200  3004", "100 - 200 - 3004", "(097) 712-3456", "+260 97 712 3456"]
    tracker = DialogueStateTracker.from_events(
        "user-m", [ActionExecuted("action_listen"), *(UserUttered(t) for t in said)],
        domain.slots)
    asyncio.run(store.save(tracker))
    raw = sqlite3.connect(db)
    dump = "\n".join(r[0] for r in raw.execute("SELECT data FROM events"))
    raw.close()
    for text in said:
        assert text not in dump
    assert "712" not in dump and "3004" in dump


def test_a_traceback_in_the_log_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    logger = logging.getLogger("test.masking")
    with caplog.at_level(logging.ERROR):
        try:
            raise ValueError("no declaration for tpin 1002003004")
        except ValueError:
            logger.exception("lookup failed")
    assert "1002003004" not in caplog.text
    assert "******3004" in caplog.text


def test_a_warning_quoting_a_message_is_masked() -> None:
    """Rasa warns with `warnings.warn` (not logging) about a message starting with '/', quoting
    it whole: '/check_declaration_status{"declaration_tpin": "1002003004"}' reached rasa.log.
    In a child process: pytest records warnings itself instead of showing them."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("from bot.privacy import install_log_redaction\n"
            "install_log_redaction()\n"
            "from rasa.shared.utils.io import raise_warning\n"
            "raise_warning(\"Failed to parse arguments in line '/tpin 1002003004'.\")\n")
    err = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).resolve().parents[2]).stderr
    assert "Failed to parse arguments" in err
    assert "1002003004" not in err
    assert "******3004" in err
