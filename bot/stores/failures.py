"""When the conversation store cannot read or save: counted, logged, and the turn fails.

Rasa 3.6 wraps every tracker store in `FailSafeTrackerStore`, which on a failed save logs and
keeps the conversation in an `InMemoryTrackerStore` instead (and on a failed read starts a new,
empty conversation). Nothing reaches the database, nobody is told, and memory grows with every
message while the database is down. `bot/patches/store_failures.py` makes the turn fail
instead; this module is what it reports to, without Rasa or Prometheus:

- `FAILURES`: failures per operation ("save", "retrieve") since the process started;
- `add_listener(fn)`: `fn(operation, error)` is called on every failure (the metrics module
  can count them as its own series);
- an error in the log naming the store, the operation and the error (TPINs masked).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

logger = logging.getLogger(__name__)

FAILURES: Counter[str] = Counter()
_listeners: list[Callable[[str, BaseException], None]] = []


class TrackerStoreUnavailable(RuntimeError):
    """The conversation store could not read or save; the turn is answered with an apology."""


def add_listener(listener: Callable[[str, BaseException], None]) -> None:
    """Call `listener(operation, error)` on every store failure (idempotent)."""
    if listener not in _listeners:
        _listeners.append(listener)


def record(store: str, operation: str, error: BaseException) -> TrackerStoreUnavailable:
    """Count and log one failure; the exception the patched store raises."""
    FAILURES[operation] += 1
    first_line = (str(error).splitlines() or [""])[0][:300]
    logger.error("conversation store %s failed to %s (%s: %s); the turn fails, nothing is kept "
                 "in memory", store, operation, type(error).__name__, first_line)
    for listener in list(_listeners):
        try:
            listener(operation, error)
        except Exception:  # a broken listener must not hide the store's failure
            logger.exception("store failure listener failed")
    return TrackerStoreUnavailable(f"tracker store {operation} failed: {type(error).__name__}")
