"""Failed-lookup limits live in the database: per conversation and per reference."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot import appdb
from bot.appdb.attempts import AttemptLimiter, LookupLimits, tpin_hash
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


LIMITS = LookupLimits(3, timedelta(hours=24), 5, timedelta(minutes=60),
                      10, timedelta(hours=24), 5, timedelta(hours=24))
REF = "2026 LSK C 10452"
TPIN = "1002003004"


def test_conversation_limit(app_db):
    limiter = AttemptLimiter(LIMITS, Clock())
    for _ in range(3):
        assert limiter.allowed("chat-1", REF)
        limiter.record_failure("chat-1", REF)
    assert not limiter.allowed("chat-1", REF)
    assert not limiter.allowed("chat-1", "2026 CHR C 20871")  # any reference in that chat
    assert limiter.allowed("chat-2", REF)


def test_strangers_failures_never_lock_the_owner_out_of_a_reference(app_db):
    """15 wrong TPINs from fresh chats (one attacker, or fifteen) used to lock the owner's
    reference for an hour; a person's first try is never refused by others' failures."""
    limiter = AttemptLimiter(LIMITS, Clock())
    for i in range(15):
        limiter.record_failure(f"fresh-chat-{i}", REF, client=f"client:attacker-{i % 3}",
                               tpin=f"9{i:09d}")
    assert limiter.allowed("owner-chat", REF, client="client:owner", tpin=TPIN)
    # The attackers who failed on it get no retry; their other references are not affected.
    assert not limiter.allowed("fresh-chat-99", REF, client="client:attacker-0", tpin=TPIN)
    assert limiter.allowed("fresh-chat-99", "2026 CHR C 20871", client="client:attacker-0",
                           tpin=TPIN)


def test_walking_references_with_one_tpin_from_fresh_chats_stops_after_the_tpin_limit(app_db):
    limiter = AttemptLimiter(LIMITS, Clock())
    tried = 0
    for number in range(10_000, 10_030):
        conversation = f"fresh-chat-{number}"  # a new sender id every time
        if not limiter.allowed(conversation, f"2026 LSK C {number}", "client:walker", TPIN):
            break
        tried += 1
        limiter.record_failure(conversation, f"2026 LSK C {number}", "client:walker", TPIN)
    assert tried == LIMITS.per_tpin == 5
    # The walk stays stopped for that person, even on the reference that belongs to the TPIN.
    assert not limiter.allowed("fresh-chat-x", REF, "client:walker", TPIN)
    # The TPIN's owner, elsewhere, still gets their first try with it.
    assert limiter.allowed("owner-chat", REF, "client:owner", TPIN)


def test_walking_with_many_tpins_from_one_client_stops_after_the_client_limit(app_db):
    limiter = AttemptLimiter(LIMITS, Clock())
    tried = 0
    for number in range(30):
        conversation, reference = f"fresh-{number}", f"2026 LSK C {10_000 + number}"
        tpin = f"{1_000_000_000 + number}"
        if not limiter.allowed(conversation, reference, "client:walker", tpin):
            break
        tried += 1
        limiter.record_failure(conversation, reference, "client:walker", tpin)
    assert tried == LIMITS.per_client == 10
    assert limiter.allowed("fresh-other", REF, "client:someone-else", TPIN)


def test_tpins_are_counted_by_a_keyed_hash(app_db, monkeypatch):
    limiter = AttemptLimiter(LIMITS, Clock())
    limiter.record_failure("chat-1", REF, "client:a", "100 200 3004")
    with appdb.session_scope() as session:
        stored = session.execute(sa.select(FailedLookup.tpin_hash)).scalar_one()
    assert stored == tpin_hash("1002003004") and "1002003004" not in stored
    monkeypatch.setenv("PRIVACY_HASH_KEY", "another key")
    assert tpin_hash("1002003004") != stored  # without the key it cannot be recomputed


def test_windows_expire(app_db):
    clock = Clock()
    limiter = AttemptLimiter(LIMITS, clock)
    for i in range(5):
        limiter.record_failure(f"c{i}", REF, client="client:same")
    assert not limiter.allowed("new", REF, client="client:same")
    clock.now += timedelta(minutes=61)
    assert limiter.allowed("new", REF, client="client:same")
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
            "id", "conversation_id", "reference", "created_at", "client", "tpin_hash"
        }


def test_a_database_made_before_the_new_columns_gets_them(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url)
    with old.begin() as conn:  # the table as the previous version created it
        conn.execute(sa.text("CREATE TABLE declaration_failed_lookups (id INTEGER PRIMARY KEY, "
                             "conversation_id VARCHAR(255) NOT NULL, reference VARCHAR(32) "
                             "NOT NULL, created_at DATETIME NOT NULL)"))
        conn.execute(sa.text("INSERT INTO declaration_failed_lookups (conversation_id, "
                             "reference, created_at) VALUES ('old-chat', :r, :t)"),
                     {"r": REF, "t": Clock()()})
    old.dispose()
    monkeypatch.setenv("CUSTOMS_DB_URL", url)
    appdb.dispose_engines()
    try:
        assert "declaration_failed_lookups.client" in appdb.init_db()
        limiter = AttemptLimiter(LIMITS, Clock())
        limiter.record_failure("new-chat", REF, "client:a", TPIN)
        assert limiter.allowed("new-chat", REF, "client:a", TPIN)
        assert appdb.init_db() == []  # nothing left to add
    finally:
        appdb.dispose_engines()


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


def test_sqlite_sessions_share_pooled_connections_with_the_pragmas(app_db):
    """A SQLite file's sessions take connections from a pool (SQLAlchemy 1.4 opened one per
    session): connected once, with the write-ahead log's pragmas; the limits still hold."""
    from bot.appdb import engine as appdb_engine

    engine = appdb_engine.get_engine()
    connects = []
    sa.event.listen(engine, "connect", lambda *_: connects.append(1))
    limiter = AttemptLimiter(LookupLimits(per_conversation=2))
    for _ in range(4):
        reservation = limiter.reserve("c1", "REF-1", tpin="1002003004")
        if reservation is not None:
            limiter.record_failure("c1", "REF-1")
    assert limiter.reserve("c1", "REF-1") is None  # two failures: the limit holds
    assert len(connects) <= 1
    with appdb_engine.session_scope() as session:
        assert session.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_forked_child_never_uses_or_closes_the_parents_connections(backend, app_db, request,
                                                                     monkeypatch):
    """A process forked after the pool opened (a server's workers) opens its own connections:
    sharing one would interleave two processes' queries on one socket, and closing the
    parent's copy would end the parent's PostgreSQL session."""
    import os
    import traceback

    from bot.appdb import engine as appdb_engine

    if backend == "postgresql":
        scratch = request.getfixturevalue("scratch_postgres")
        monkeypatch.setenv("CUSTOMS_DB_URL", f"postgresql://postgres@127.0.0.1:5432/{scratch}")
        appdb.dispose_engines()
    who = "SELECT pg_backend_pid()" if backend == "postgresql" else "SELECT 1"
    parent = appdb_engine.get_engine()
    with parent.connect() as conn:
        parent_backend = conn.execute(sa.text(who)).scalar()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether it got an engine of its own that works
        try:
            child = appdb_engine.get_engine()
            with child.connect() as conn:
                own = conn.execute(sa.text(who)).scalar()
            fresh = child is not parent and (backend == "sqlite" or own != parent_backend)
            appdb.dispose_engines()  # closes the child's own connections only
            os.write(write, b"ok" if fresh else b"shared")
        except BaseException:
            os.write(write, traceback.format_exc().encode()[-2000:])
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 4000).decode() == "ok"
    assert appdb_engine.get_engine() is parent
    with parent.connect() as conn:  # the parent's pooled connection is still its own and alive
        assert conn.execute(sa.text(who)).scalar() == parent_backend
