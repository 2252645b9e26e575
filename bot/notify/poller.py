"""`python -m bot notify poll [--every 5m]`: for customs systems that cannot push.

Each round asks the status backend (DECLARATION_BACKEND: sql or http) about every reference
with an open subscription, at most once per reference per interval across all pollers (a
claim in the database), records what changed (the same outbox as the webhook, so a change
seen by both is told once) and sends what is due, retries included. Run it from cron, or as a
long-running service with `--every`.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from actions.declarations.backends import get_backend
from actions.declarations.backends.base import StatusBackend, StatusServiceUnavailable
from bot.appdb import notifications as store
from bot.notify.outbox import Notifier

logger = logging.getLogger(__name__)

UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_interval(text: str) -> float:
    """`5m`, `30s`, `1h` or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text or "")
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not an interval like 30s, 5m or 1h")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


@dataclass
class Round:
    """What one round did."""

    asked: int = 0
    skipped: int = 0
    unknown: int = 0
    unavailable: int = 0
    recorded: int = 0
    sent: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        sent = ", ".join(f"{n} {state}" for state, n in sorted(self.sent.items())) or "none"
        return (f"asked about {self.asked} reference(s) ({self.skipped} asked recently, "
                f"{self.unknown} unknown, {self.unavailable} unavailable); "
                f"{self.recorded} change(s) to tell; notifications: {sent}")


def poll_once(interval: float, backend: StatusBackend | None = None,
              notifier: Notifier | None = None) -> Round:
    """One round: ask, record, send."""
    backend = backend or get_backend()
    notifier = notifier or Notifier.from_env()
    done = Round()
    for reference in store.open_references():
        if not store.claim_poll(reference, interval):
            done.skipped += 1
            continue
        done.asked += 1
        try:
            status = backend.current_status(reference)
        except StatusServiceUnavailable as error:
            done.unavailable += 1
            logger.warning("status of %s unavailable: %s", reference, error)
            continue
        if status is None:
            done.unknown += 1
            logger.warning("the status backend does not know %s", reference)
            continue
        done.recorded += len(store.record_change(reference, status.status, status.last_changed,
                                                 "poll").notifications)
    done.sent = notifier.deliver_due()
    return done


def poll_forever(every: float, rounds: int | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 report: Callable[[str], None] = print) -> None:
    """A round every `every` seconds (a failed round is logged; the next one comes)."""
    backend, notifier = get_backend(), Notifier.from_env()
    count = 0
    while rounds is None or count < rounds:
        started = time.monotonic()
        try:
            report(poll_once(every, backend, notifier).summary())
        except Exception as error:  # database down: say so, keep going
            logger.exception("poll round failed")
            report(f"poll round failed: {type(error).__name__}")
        count += 1
        if rounds is None or count < rounds:
            sleep(max(0.0, every - (time.monotonic() - started)))
