"""Masking TPINs and phone numbers wherever text is kept: tracker store, logs, reports.

A TPIN is 10 digits, but people type it as `1002003004`, `100  200  3004`, `100 - 200 - 3004`
or glued to words (`tpin:1002003004`); a phone as `(097) 712-3456` or `+260 97 712 3456`.
Masking must accept at least every spelling the parsers accept (`parse_tpin`/`find_tpin` in
actions/declarations/reference.py, `find_contact` in actions/handoff.py; a property-based test
checks both sides agree). Over-masking an unrelated long number (an amount) is harmless; leaking
a TPIN is not, so every run of 10 or more digits, digit groups joined by any run of spaces,
dashes, dots or brackets included, is masked to `******` plus its last four digits.

The one exception is a time stamp (`2026-01-06 06:24:32`, as in ticket transcripts): it holds
10 digits but no parser takes it for a TPIN or a phone (the colon), so it stays readable.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "******"

# Digit groups joined by one separator; the whole run is masked when it holds >= 10 digits.
# A declaration reference ("2026 LSK C 10452") is split by letters, so it is never touched.
_DROP_DIGITS = str.maketrans("", "", "0123456789")
# Separators between digit groups: what find_contact squeezes out ([\s\-().]), a superset of
# what parse_tpin removes ([ \-]).
_SEPARATORS = r"[\s\-().]+"
_TIME_STAMP = (r"(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}"
               r"(?::[0-9]{2}(?:\.[0-9]+)?)?(?![0-9])")
# A time stamp is matched (and kept) first; a digit run never reaches into a following one.
_DIGIT_RUN = re.compile(rf"(?P<stamp>{_TIME_STAMP})"
                        rf"|(?<![0-9])[0-9]+(?:{_SEPARATORS}(?!{_TIME_STAMP})[0-9]+)*(?![0-9])")


def mask_tpin(tpin: object) -> str:
    """`1002003004` -> `******3004` (only the last four digits stay visible)."""
    digits = re.sub(r"[^0-9]", "", str(tpin)) if tpin is not None else ""
    return MASK + digits[-4:] if len(digits) >= 4 else MASK


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if match.group("stamp"):
        return run
    digits = re.sub(r"[^0-9]", "", run)
    if len(digits) < 10:
        return run
    # A date or a reference can sit next to a TPIN ("2026 1002003004"): mask the whole run.
    return mask_tpin(digits)


def redact_tpins(text: str) -> str:
    """The text with every TPIN-like digit run masked; text without one comes back unchanged."""
    if not isinstance(text, str) or not text:
        return text
    if len(text) - len(text.translate(_DROP_DIGITS)) < 10:  # fewer than 10 digits: no TPIN
        return text
    return _DIGIT_RUN.sub(_mask_run, text)


TIME_KEYS = frozenset({"timestamp", "time", "created_at", "updated_at"})
# Identifiers chosen by the client, not typed by a person: kept as they are, because a repeated
# message is recognised by its id (bot/patches/replay.py). Sender ids are never redacted either.
ID_KEYS = frozenset({"message_id"})


def redact_value(value: Any) -> Any:
    """Redact every string (and long integer) inside a JSON-like structure, recursively."""
    if isinstance(value, str):
        return redact_tpins(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) >= 10**9:
        return mask_tpin(value)
    if isinstance(value, float) and value.is_integer() and abs(value) >= 10**9:
        # Event timestamps are floats with a fraction; a TPIN read as a number has none.
        return mask_tpin(int(value))
    if isinstance(value, dict):
        # A numeric timestamp is a time, not a TPIN, even when it is a whole number of seconds.
        return {redact_value(k) if isinstance(k, str) else k:
                v if (k in TIME_KEYS and isinstance(v, (int, float)))
                or (k in ID_KEYS and isinstance(v, str)) else redact_value(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value


_installed = False


def install_log_redaction() -> None:
    """Mask TPINs in every log record of this process, whichever handler writes it.

    Wrapping the record factory (rather than adding a filter to one handler) also covers
    handlers that Rasa or Sanic add later. Calling it twice is harmless.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug; leave it to logging
            return record
        redacted = redact_tpins(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # A traceback quotes the values it failed on; formatters reuse a set exc_text.
            record.exc_text = redact_tpins(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
