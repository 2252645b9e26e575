"""Retention: conversations older than N days leave the conversation store, recent ones stay."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa

from bot.ops import cli
from bot.settings.endpoints import tracker_db_url
from bot.support.retention import apply_retention, retention_days
from tests.support.test_report import said, save, session, tracker_store

DAY = 86400.0
NOW = 1_795_000_000.25


def fill(store) -> None:
    # old: everything 200 days ago; recent: yesterday; mixed: a session 200 days ago and one
    # yesterday; spanning: one session that started just before the cutoff and went on.
    save(store, "old", session(NOW - 200 * DAY) + said("hi", "greet", NOW - 200 * DAY + 1))
    save(store, "recent", session(NOW - DAY) + said("hi", "greet", NOW - DAY + 1))
    save(store, "mixed", session(NOW - 200 * DAY) + said("hi", "greet", NOW - 200 * DAY + 1)
         + session(NOW - DAY) + said("vat?", "kb_import_vat_rate", NOW - DAY + 1))
    cutoff = NOW - 180 * DAY
    save(store, "spanning", session(cutoff - 60) + said("hi", "greet", cutoff - 30)
         + said("vat?", "kb_import_vat_rate", cutoff + 30))


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "select sender_id, count(*) from events group by sender_id")).all())


def check_retention(engine) -> None:
    before = counts(engine)
    dry = apply_retention(engine, 180, now=NOW, dry_run=True)
    assert counts(engine) == before
    result = apply_retention(engine, 180, now=NOW)
    assert (result.conversations_deleted, result.events_deleted) == (
        dry.conversations_deleted, dry.events_deleted)
    after = counts(engine)
    assert "old" not in after and result.conversations_deleted == 1
    assert after["recent"] == before["recent"]
    assert after["spanning"] == before["spanning"]  # the running session is kept whole
    assert 0 < after["mixed"] < before["mixed"]
    with engine.connect() as conn:
        oldest = conn.execute(sa.text(
            "select min(timestamp) from events where sender_id = 'mixed'")).scalar_one()
    assert oldest >= NOW - DAY - 1
    assert result.events_deleted == sum(before.values()) - sum(after.values())
    # Running it again deletes nothing more.
    assert apply_retention(engine, 180, now=NOW).events_deleted == 0


def test_retention_on_sqlite(tmp_path):
    path = tmp_path / "tracker.db"
    fill(tracker_store(path))
    engine = sa.create_engine(f"sqlite:///{path}")
    check_retention(engine)
    engine.dispose()


@pytest.mark.postgres
def test_retention_on_postgresql(scratch_postgres):
    url = f"postgresql://postgres@127.0.0.1:5432/{scratch_postgres}"
    fill(tracker_store(dialect="postgresql", host="127.0.0.1", port=5432, db=scratch_postgres,
                       username="postgres"))
    assert tracker_db_url({"TRACKER_DB_URL": url}) == url
    engine = sa.create_engine(url)
    check_retention(engine)
    engine.dispose()


def test_empty_store_and_settings(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'none.db'}")
    assert apply_retention(engine, 30).events_deleted == 0
    assert retention_days({}) == 180
    assert retention_days({"CONVERSATION_RETENTION_DAYS": "30"}) == 30
    for bad in ("0", "soon"):
        with pytest.raises(ValueError):
            retention_days({"CONVERSATION_RETENTION_DAYS": bad})
    assert tracker_db_url({"TRACKER_DB_URL": "postgres://u@h/rasa"}) == "postgresql://u@h/rasa"
    assert tracker_db_url({"TRACKER_DB": "/x/t.db"}) == "sqlite:////x/t.db"


def test_retention_command(tmp_path, monkeypatch, capsys):
    path = tmp_path / "tracker.db"
    store = tracker_store(path)
    now = time.time()
    save(store, "old", session(now - 40 * DAY) + said("hi", "greet", now - 40 * DAY + 1))
    save(store, "new", session(now - 10) + said("hi", "greet", now - 5))
    monkeypatch.setenv("TRACKER_DB", str(path))
    monkeypatch.delenv("TRACKER_DB_URL", raising=False)
    monkeypatch.setenv("CONVERSATION_RETENTION_DAYS", "30")
    assert cli.main(["retention", "--dry-run"]) == 0
    assert "Would delete" in capsys.readouterr().out
    assert cli.main(["retention"]) == 0
    assert "1 conversation(s) removed entirely" in capsys.readouterr().out
    engine = sa.create_engine(f"sqlite:///{path}")
    assert set(counts(engine)) == {"new"}
    engine.dispose()
    monkeypatch.setenv("CONVERSATION_RETENTION_DAYS", "never")
    assert cli.main(["retention"]) == 1
    assert os.path.exists(path)
