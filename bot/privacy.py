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


def _redact_scalar(value: Any) -> Any:
    if isinstance(value, str):
        return redact_tpins(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) >= 10**9:
        return mask_tpin(value)
    if isinstance(value, float) and value.is_integer() and abs(value) >= 10**9:
        # Event timestamps are floats with a fraction; a TPIN read as a number has none.
        return mask_tpin(int(value))
    return value


def _kept(key: Any, value: Any) -> bool:
    """A numeric timestamp is a time, not a TPIN, even when it is a whole number of seconds;
    a client's message id is an identifier, not something a person typed."""
    return ((key in TIME_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool))
            or (key in ID_KEYS and isinstance(value, str)))


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like structure with every string (and long integer) redacted.

    Walked with an explicit stack, not by recursion: however deeply a structure nests (a
    client's metadata), masking it never meets Python's recursion limit."""

    def copy_of(item: Any) -> Any:
        if isinstance(item, dict):
            target: Any = {}
        elif isinstance(item, (list, tuple)):
            target = []
        else:
            return _redact_scalar(item)
        pending.append((item, target))
        return target

    pending: list[tuple[Any, Any]] = []
    root = copy_of(value)
    while pending:
        source, target = pending.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                new_key = redact_tpins(key) if isinstance(key, str) else key
                target[new_key] = item if _kept(key, item) else copy_of(item)
        else:
            target.extend(copy_of(item) for item in source)
    return root


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
    _install_warning_redaction()
    _installed = True


def _install_warning_redaction() -> None:
    """Rasa reports some messages through `warnings.warn`, quoting the user's text (a message
    starting with '/' that does not parse as an intent): those bypass logging, so the text is
    masked where warnings are shown."""
    import warnings

    previous = warnings.showwarning

    def showwarning(message: Any, category: Any, filename: str, lineno: int,
                    file: Any = None, line: str | None = None) -> None:
        text = str(message)
        redacted = redact_tpins(text)
        if redacted != text:
            message = redacted
        previous(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning


# --- keyed hashes: what limits count by, without keeping the value ---------------------------

HASH_KEY_ENV = "PRIVACY_HASH_KEY"
HASH_KEY_FILE = "privacy-hash.key"
_hash_keys: dict[str, bytes] = {}


def hash_key() -> bytes:
    """The secret of `keyed_hash`: `PRIVACY_HASH_KEY`, else a random key made once and kept
    owner-readable in `var/privacy-hash.key` (shared by the processes of one machine).

    Without the key a stored hash of a 10-digit TPIN cannot be reversed by trying them all."""
    import os

    configured = (os.environ.get(HASH_KEY_ENV) or "").strip()
    if configured:
        return configured.encode("utf-8")
    from bot.settings.paths import var_dir

    path = var_dir() / HASH_KEY_FILE
    cached = _hash_keys.get(str(path))
    if cached:
        return cached
    key = key_file(path)
    _hash_keys[str(path)] = key
    return key


def _read_key(path: Any) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        return b""


def key_file(path: Any) -> bytes:
    """The key kept in `path`, made when the file is missing or empty (a crash before the
    atomic writes below). It is written whole to a 0600 temporary file in the same directory
    and renamed into place, so a reader never sees it empty; makers take a lock file first,
    so processes starting together keep one key."""
    import fcntl
    import os
    import secrets
    import tempfile

    key = _read_key(path)
    if key:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "ab") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file is closed
        key = _read_key(path)
        if key:
            return key
        key = secrets.token_hex(32).encode("ascii")
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent)  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(key)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    return key


def keyed_hash(kind: str, value: str) -> str:
    """`kind:` plus 32 hex digits of HMAC-SHA256(key, kind + value): equal values give equal
    hashes (so they can be counted), and the value cannot be read back from it."""
    import hashlib
    import hmac

    digest = hmac.new(hash_key(), f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:32]}"
