"""Failed-lookup limits live in the database: per conversation and per reference."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot import appdb
from bot.appdb.attempts import AttemptLimiter, LookupLimits
from bot.appdb.models import FailedLookup


@pytest.fixture()
def app_db(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMS_DB_URL", f"sqlite:///{tmp_path / 'customs.db'}")
    monkeypatch.delenv("CUSTOMS_DB_SCHEMA", raising=False)
    appdb.dispose_engines()
    appdb.init_db()
    yield tmp_path / "customs.db"
    appdb.dispose_engines()


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


LIMITS = LookupLimits(3, timedelta(hours=24), 5, timedelta(minutes=60))
REF = "2026 LSK C 10452"


def test_conversation_limit(app_db):
    limiter = AttemptLimiter(LIMITS, Clock())
    for _ in range(3):
        assert limiter.allowed("chat-1", REF)
        limiter.record_failure("chat-1", REF)
    assert not limiter.allowed("chat-1", REF)
    assert not limiter.allowed("chat-1", "2026 CHR C 20871")  # any reference in that chat
    assert limiter.allowed("chat-2", REF)


def test_reference_limit_across_conversations(app_db):
    limiter = AttemptLimiter(LIMITS, Clock())
    for i in range(5):
        assert limiter.allowed(f"fresh-chat-{i}", REF)
        limiter.record_failure(f"fresh-chat-{i}", REF)
    assert not limiter.allowed("fresh-chat-99", REF)
    assert limiter.allowed("fresh-chat-99", "2026 CHR C 20871")


def test_windows_expire(app_db):
    clock = Clock()
    limiter = AttemptLimiter(LIMITS, clock)
    for i in range(5):
        limiter.record_failure(f"c{i}", REF)
    assert not limiter.allowed("new", REF)
    clock.now += timedelta(minutes=61)
    assert limiter.allowed("new", REF)
    for _ in range(3):
        limiter.record_failure("c-long", "2026 KAS C 5120")
    clock.now += timedelta(hours=23)
    assert not limiter.allowed("c-long", "2026 KAS C 5120")
    clock.now += timedelta(hours=2)
    assert limiter.allowed("c-long", "2026 KAS C 5120")


def test_counts_survive_a_restart_and_are_shared_by_replicas(app_db):
    clock = Clock()
    AttemptLimiter(LIMITS, clock).record_failure("chat-1", REF)
    AttemptLimiter(LIMITS, clock).record_failure("chat-1", REF)
    appdb.dispose_engines()  # a restart: new engine, new connections, same database
    replica = AttemptLimiter(LIMITS, clock)
    replica.record_failure("chat-1", REF)
    assert not AttemptLimiter(LIMITS, clock).allowed("chat-1", REF)


def test_no_tpin_is_stored_and_old_rows_are_pruned(app_db):
    clock = Clock()
    limiter = AttemptLimiter(LIMITS, clock)
    limiter.record_failure("chat-1", REF)
    clock.now += timedelta(days=2)
    limiter.record_failure("chat-2", REF)
    with appdb.session_scope() as session:
        rows = session.execute(sa.select(FailedLookup)).scalars().all()
        assert [(r.conversation_id, r.reference) for r in rows] == [("chat-2", REF)]
        assert set(FailedLookup.__table__.columns.keys()) == {
            "id", "conversation_id", "reference", "created_at"
        }


def test_limits_from_environment(monkeypatch):
    monkeypatch.setenv("DECLARATION_MAX_FAILED_PER_CONVERSATION", "7")
    monkeypatch.setenv("DECLARATION_REFERENCE_WINDOW_MINUTES", "15")
    limits = LookupLimits.from_env()
    assert limits.per_conversation == 7
    assert limits.reference_window == timedelta(minutes=15)
    assert limits.per_reference == 5
    monkeypatch.setenv("DECLARATION_MAX_FAILED_PER_REFERENCE", "many")
    with pytest.raises(ValueError, match="DECLARATION_MAX_FAILED_PER_REFERENCE"):
        LookupLimits.from_env()
    monkeypatch.setenv("DECLARATION_MAX_FAILED_PER_REFERENCE", "0")
    with pytest.raises(ValueError, match="at least 1"):
        LookupLimits.from_env()
