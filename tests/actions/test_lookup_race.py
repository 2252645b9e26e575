"""Parallel lookups cannot pass the failed-lookup limits (bot/appdb/attempts.py `reserve`).

Before, the action checked the limits, asked the backend, and recorded a miss afterwards: 25
lookups from fresh sender ids of one client, made at once, all passed the check before the
first miss was written, so the per-person limit of 10 failures a day let 25 through."""

from __future__ import annotations

import threading
import time

import pytest

from actions.declarations.form import ActionCheckDeclaration
from bot import appdb
from tests.actions.test_declaration_actions import make_tracker, run
from tests.conftest import scratch_database

PARALLEL = 25
PER_CLIENT = 10


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, monkeypatch):
    monkeypatch.delenv("CUSTOMS_DB_SCHEMA", raising=False)
    monkeypatch.delenv("DECLARATION_BACKEND", raising=False)
    for name in ("DECLARATION_MAX_FAILED_PER_CONVERSATION", "DECLARATION_MAX_FAILED_PER_REFERENCE",
                 "DECLARATION_MAX_FAILED_PER_CLIENT", "DECLARATION_MAX_FAILED_PER_TPIN"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "sqlite":
        monkeypatch.setenv("CUSTOMS_DB_URL", f"sqlite:///{tmp_path / 'customs.db'}")
        appdb.dispose_engines()
        appdb.init_db()
        yield request.param
    else:
        with scratch_database("lookup_race") as name:
            monkeypatch.setenv("CUSTOMS_DB_URL", f"postgresql://postgres@127.0.0.1:5432/{name}")
            appdb.dispose_engines()
            appdb.init_db()
            yield request.param
            appdb.dispose_engines()
    appdb.dispose_engines()


class SlowBackend:
    """A backend that takes its time and knows `found` references only; counts its calls."""

    def __init__(self, found: set[str] = frozenset()) -> None:
        self.calls = 0
        self.lock = threading.Lock()
        self.found = found

    def lookup(self, reference, tpin):
        with self.lock:
            self.calls += 1
        time.sleep(0.3)
        if reference in self.found:
            from datetime import datetime, timezone

            from actions.declarations.backends.base import DeclarationStatus

            return DeclarationStatus(reference, "registered", None,
                                     datetime(2026, 11, 30, tzinfo=timezone.utc))
        return None


def lookup_at_once(references: list[str]) -> list[list[str]]:
    """One lookup per reference, each from a fresh sender id of one REST client, all at once."""
    from bot.channels.identity import CLIENT_KEY, client_identity

    metadata = {CLIENT_KEY: client_identity("203.0.113.7")}
    barrier, replies = threading.Barrier(len(references)), []

    def one(n: int, reference: str) -> None:
        tracker = make_tracker({"declaration_reference": reference,
                                "declaration_tpin": f"7{n:09d}"},
                               sender=f"fresh-{n}-{time.monotonic_ns()}", form=None,
                               metadata=metadata)
        barrier.wait()
        replies.append(run(ActionCheckDeclaration(), tracker)[1])

    threads = [threading.Thread(target=one, args=(n, ref)) for n, ref in enumerate(references)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(replies) == len(references)
    return replies


def test_parallel_lookups_from_fresh_sender_ids_cannot_pass_the_person_limit(
        database, monkeypatch):
    backend = SlowBackend()
    monkeypatch.setattr("actions.declarations.form.get_backend", lambda: backend)
    lookup_at_once([f"2026 LSK C {20_000 + n}" for n in range(PARALLEL)])
    assert backend.calls <= PER_CLIENT, f"{backend.calls} lookups passed a limit of 10"
    assert backend.calls == PER_CLIENT  # and the limit is not stricter than it says


def test_lookups_that_find_the_declaration_are_not_counted_as_failures(database, monkeypatch):
    """A lookup in flight counts until it is answered (its outcome is not known before), so
    at most 10 of one person run at once; once answered "found", it counts no more."""
    references = [f"2026 LSK C {30_000 + n}" for n in range(3 * PER_CLIENT)]
    backend = SlowBackend(found=set(references))
    monkeypatch.setattr("actions.declarations.form.get_backend", lambda: backend)
    for start in range(0, len(references), PER_CLIENT):
        lookup_at_once(references[start:start + PER_CLIENT])
    assert backend.calls == len(references)
    failing = SlowBackend()
    monkeypatch.setattr("actions.declarations.form.get_backend", lambda: failing)
    lookup_at_once([f"2026 LSK C {40_000 + n}" for n in range(PARALLEL)])
    assert failing.calls == PER_CLIENT  # the successes used none of the person's budget
