"""The SQL backend on SQLite and on the machine's PostgreSQL (127.0.0.1:5432, database test)."""

import os
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from actions.declarations.backends import get_backend
from actions.declarations.backends.base import StatusServiceUnavailable
from actions.declarations.backends.sql import Declaration, SqlStatusBackend
from bot import appdb
from bot.appdb.demo_data import DEMO_DECLARATIONS, seed_demo_declarations

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:  # any failure means: skip, and say why
        return f"PostgreSQL not reachable at {PG_URL}: {type(error).__name__}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app_db(request, tmp_path, monkeypatch):
    """A seeded database; on PostgreSQL in a throw-away schema that is dropped afterwards."""
    schema = None
    if request.param == "sqlite":
        monkeypatch.setenv("CUSTOMS_DB_URL", f"sqlite:///{tmp_path / 'customs.db'}")
        monkeypatch.delenv("CUSTOMS_DB_SCHEMA", raising=False)
    else:
        reason = _postgres_reachable()
        if reason:
            pytest.skip(reason)
        schema = f"test_decl_{uuid.uuid4().hex[:10]}"
        monkeypatch.setenv("CUSTOMS_DB_URL", PG_URL)
        monkeypatch.setenv("CUSTOMS_DB_SCHEMA", schema)
    appdb.dispose_engines()
    appdb.init_db()
    assert seed_demo_declarations() == 6
    yield request.param
    appdb.dispose_engines()
    if schema:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.mark.parametrize("reference, tpin, status, lane, changed", DEMO_DECLARATIONS)
def test_each_demo_record(app_db, reference, tpin, status, lane, changed):
    result = SqlStatusBackend().lookup(reference, tpin)
    assert result is not None
    assert (result.reference, result.status, result.lane) == (reference, status, lane)
    assert result.last_changed == changed


def test_wrong_tpin_and_unknown_reference_both_give_none(app_db):
    backend = SqlStatusBackend()
    assert backend.lookup("2026 LSK C 10452", "2003004005") is None  # another user's TPIN
    assert backend.lookup("2026 LSK C 10452", "9999999999") is None
    assert backend.lookup("2026 LSK C 99999", "1002003004") is None


def test_declarant_tpin_also_entitled(app_db):
    with appdb.session_scope() as session:
        session.add(Declaration(
            reference="2026 LSK C 555", declarant_tpin="5006007008", consignee_tpin="1002003004",
            status="released", lane="blue", last_changed=datetime(2026, 11, 1, tzinfo=timezone.utc),
        ))
    backend = SqlStatusBackend()
    assert backend.lookup("2026 LSK C 555", "5006007008").lane == "blue"
    assert backend.lookup("2026 LSK C 555", "1002003004").status == "released"


def test_injection_strings_are_just_values(app_db):
    backend = SqlStatusBackend()
    assert backend.lookup("2026 LSK C 10452' OR '1'='1", "1' OR '1'='1") is None
    assert backend.lookup("x", "' OR 1=1; DROP TABLE declarations; --") is None
    assert backend.lookup("2026 LSK C 10452", "1002003004") is not None  # table still there


def test_seeding_is_idempotent(app_db):
    assert seed_demo_declarations() == 0
    with appdb.session_scope() as session:
        assert session.execute(sa.select(sa.func.count(Declaration.id))).scalar_one() == 6


def test_factory_picks_sql_by_default(app_db, monkeypatch):
    monkeypatch.delenv("DECLARATION_BACKEND", raising=False)
    assert get_backend().name == "sql"
    monkeypatch.setenv("DECLARATION_BACKEND", "carrier-pigeon")
    with pytest.raises(ValueError, match="DECLARATION_BACKEND"):
        get_backend()


def test_database_down_is_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("CUSTOMS_DB_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/none")
    monkeypatch.delenv("CUSTOMS_DB_SCHEMA", raising=False)
    appdb.dispose_engines()
    try:
        with pytest.raises(StatusServiceUnavailable):
            SqlStatusBackend().lookup("2026 LSK C 10452", "1002003004")
    finally:
        appdb.dispose_engines()


def test_current_status_without_a_tpin_for_notifications(app_db):
    found = SqlStatusBackend().current_status("2026 NAK C 77")
    assert (found.status, found.lane) == ("query", "yellow")
    assert SqlStatusBackend().current_status("2026 NAK C 78") is None
