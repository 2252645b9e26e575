"""Fixtures of the notification tests: an application database (SQLite, or the machine's
PostgreSQL), a subscription helper and a sender that records what it was asked to send."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from bot.appdb import notifications as store
from bot.notify.base import SENT, Delivery, Notice, Sender

REFERENCE = "2026 LSK C 10452"


class RecordingSender(Sender):
    """Answers each send with the next queued outcome (default sent), and records it."""

    def __init__(self, channel: str = "whatsapp", outcomes: list[str] | None = None) -> None:
        self.channel = channel
        self.outcomes = list(outcomes or [])
        self.sent: list[tuple[str, Notice]] = []
        self._lock = threading.Lock()

    def send(self, recipient: str, notice: Notice, last_inbound_at: datetime) -> Delivery:
        with self._lock:
            outcome = self.outcomes.pop(0) if self.outcomes else SENT
            if outcome == SENT:
                self.sent.append((recipient, notice))
        return Delivery(outcome, "text", "" if outcome == SENT else "simulated")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request, tmp_path, monkeypatch):
    """A fresh application database: SQLite, then the machine's PostgreSQL."""
    from bot import appdb

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
        monkeypatch.setenv("CUSTOMS_DB_URL", url)
        monkeypatch.delenv("CUSTOMS_DB_SCHEMA", raising=False)
        appdb.dispose_engines()
        appdb.init_db()
        yield url
        appdb.dispose_engines()
        return
    from tests.conftest import scratch_database

    with scratch_database("notify") as name:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        monkeypatch.setenv("CUSTOMS_DB_URL", url)
        monkeypatch.delenv("CUSTOMS_DB_SCHEMA", raising=False)
        appdb.dispose_engines()
        appdb.init_db()
        yield url
        appdb.dispose_engines()


def subscribe(recipient: str = "whatsapp:260971234567", reference: str = REFERENCE,
              status: str = "assessed", channel: str = "whatsapp",
              changed: datetime | None = None, **kwargs) -> store.Subscribed:
    changed = changed or datetime(2026, 11, 26, 9, 40, tzinfo=timezone.utc)
    return store.subscribe(channel, recipient, reference, status, changed,
                           "Would you like me to tell you here when it changes?", **kwargs)


def later(hours: float = 1) -> datetime:
    return datetime.now(timezone.utc) + timedelta(hours=hours)
