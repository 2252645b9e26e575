"""The application database: one SQLAlchemy engine for declarations, attempts, tickets, votes.

SQLite by default (a file under `var/`, nothing to install), PostgreSQL or any SQLAlchemy URL
through `CUSTOMS_DB_URL`. The tables are declared in `bot.appdb.models`; creating them is one
explicit step, `python -m bot db init`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from bot.settings.paths import ROOT

DEFAULT_DB_FILE = ROOT / "var" / "customs.db"


Base = declarative_base()

_lock = threading.Lock()
_engines: dict[tuple[str, str | None], Engine] = {}
_sessions: dict[tuple[str, str | None], sessionmaker] = {}
# A forked child's copies of the parent's engines: kept referenced, never closed or collected,
# since closing a pooled PostgreSQL connection sends a Terminate message down the socket the
# parent still uses (SQLAlchemy, "Using Connection Pools with Multiprocessing or os.fork()").
_inherited: list[Engine] = []


def _forget_after_fork() -> None:
    """In a forked child: leave the parent's engines and their connections alone and open new
    ones on first use, so no connection is ever shared by two processes."""
    global _lock
    _lock = threading.Lock()  # a thread of the parent may have held it at the fork
    _inherited.extend(_engines.values())
    _engines.clear()
    _sessions.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def database_url() -> str:
    """`CUSTOMS_DB_URL`, or the SQLite file `var/customs.db` of the repository."""
    url = os.environ.get("CUSTOMS_DB_URL", "").strip()
    if url:
        return url
    DEFAULT_DB_FILE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_DB_FILE}"


def database_schema() -> str | None:
    """`CUSTOMS_DB_SCHEMA`: a PostgreSQL schema to keep the tables in (tests use their own)."""
    return os.environ.get("CUSTOMS_DB_SCHEMA", "").strip() or None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Write-ahead log without an fsync per commit, as the conversation store has
    (bot/stores/tracker_store.py): a declaration lookup commits twice (its attempt reserved,
    then released), each commit 6-10 ms of fsyncs that held the action server's event loop,
    and every other conversation's action with it (py-spy under `bot bench`). Safe against a
    crash of the process, not of the machine; production uses PostgreSQL (CUSTOMS_DB_URL)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _make_engine(url: str, schema: str | None) -> Engine:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        on_file = bool(parsed.database and parsed.database != ":memory:")
        if on_file:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLAlchemy 1.4 opens a new connection to a SQLite file for every session (NullPool):
        # connecting, the pragmas and closing were a third of a declaration lookup's database
        # time (py-spy on scripts/bench_understanding_cost.py: 1.1 ms of CPU a message). A
        # pool instead, as SQLAlchemy 2.0 has by default, with the conversation store's sizes
        # (bot/stores/tracker_store.py): a connection serves one session at a time and comes
        # back rolled back.
        pooling = {"poolclass": sa.pool.QueuePool, "pool_size": 4, "max_overflow": 4} if (
            on_file) else {}
        engine = sa.create_engine(
            url,
            future=True,
            hide_parameters=True,  # error messages must not carry a TPIN from a query
            connect_args={"check_same_thread": False, "timeout": 15},
            **pooling,
        )
        if on_file:
            sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(
            url, future=True, hide_parameters=True, pool_pre_ping=True, pool_size=5
        )
    if schema:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
            raise ValueError("CUSTOMS_DB_SCHEMA must be lower-case letters, digits and _")
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        engine = engine.execution_options(schema_translate_map={None: schema})
    return engine


def get_engine() -> Engine:
    """The engine for the current `CUSTOMS_DB_URL` / `CUSTOMS_DB_SCHEMA` (one per process)."""
    key = (database_url(), database_schema())
    with _lock:
        if key not in _engines:
            _engines[key] = _make_engine(*key)
            _sessions[key] = sessionmaker(bind=_engines[key], future=True, expire_on_commit=False)
        return _engines[key]


def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases through the environment)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _sessions.clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    get_engine()
    factory = _sessions[(database_url(), database_schema())]
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(engine: Engine) -> None:
    """`SELECT 1`, raising if the database does not answer (readiness checks).

    A pooled connection the database dropped while it was away fails once although the
    database is back; SQLAlchemy then throws the pool's old connections out, so a second try
    on a new connection says whether it is."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
