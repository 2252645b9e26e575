"""Shared fixtures. `bot_server` trains (once, if needed) and starts the real assistant on
loopback ports, the same way `make run` does, with its own databases and a private copy of
knowledge/ that tests may edit."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The trainings of one test run share a training cache of their own (bot/nlu/warm_start.py,
# vector_cache.py), never the checkout's build/cache.
os.environ.setdefault("TRAINING_CACHE_DIR", tempfile.mkdtemp(prefix="customs-training-cache-"))


def reachable(host: str, port: int) -> bool:
    """Whether something accepts TCP connections there (a service, or a server we started)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    from bot.ops.launcher import free_port as free

    return free()


@dataclass
class BotServer:
    stack: object
    env: dict
    knowledge_dir: Path
    tracker_db_path: Path
    app_db_url: str

    @property
    def rasa_url(self) -> str:
        return self.stack.rasa_url

    @property
    def rest_url(self) -> str:
        return f"{self.stack.rasa_url}/webhooks/rest/webhook"

    @property
    def web_url(self) -> str:
        return self.stack.web_url

    @property
    def action_url(self) -> str:
        return self.stack.action_url

    def send(self, sender_id: str, text: str, timeout: float = 60,
             message_id: str | None = None) -> list[dict]:
        """Send one message over the REST channel; return the bot's replies."""
        from bot.ops.launcher import rest_send

        return rest_send(self.rest_url, sender_id, text, timeout, message_id)

    def texts(self, sender_id: str, text: str) -> str:
        """The bot's reply texts joined, for assertions about wording."""
        return "\n".join(m.get("text", "") for m in self.send(sender_id, text))


@contextmanager
def scratch_database(prefix: str = "scratch", host: str = "127.0.0.1", port: int = 5432):
    """A new, empty database on the machine's PostgreSQL, dropped afterwards; the test is
    skipped with the reason when PostgreSQL is not running."""
    import uuid

    import sqlalchemy as sa

    admin = sa.create_engine(f"postgresql://postgres@{host}:{port}/test",
                             isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'create database "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not running on {host}:{port} ({type(error).__name__})")
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture()
def scratch_postgres():
    """The name of a scratch database (see `scratch_database`)."""
    with scratch_database() as name:
        yield name


@pytest.fixture()
def private_knowledge(tmp_path, monkeypatch) -> Path:
    """A copy of knowledge/ that the actions serve and a test may edit."""
    from bot.content import live

    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(target))
    monkeypatch.setattr(live, "_store", None)
    return target


@pytest.fixture()
def app_db(tmp_path, monkeypatch) -> str:
    """A fresh SQLite application database with every table created."""
    from bot import appdb

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("CUSTOMS_DB_URL", url)
    monkeypatch.delenv("CUSTOMS_DB_SCHEMA", raising=False)
    appdb.dispose_engines()
    appdb.init_db()
    yield url
    appdb.dispose_engines()


@pytest.fixture(scope="session")
def trained_model() -> Path:
    from bot.training import trainer

    b = trainer.build()
    model, _ = trainer.train(b)
    return model


@pytest.fixture(scope="session")
def bot_server(trained_model, tmp_path_factory) -> BotServer:
    from bot.ops import launcher

    tmp = tmp_path_factory.mktemp("bot")
    with launcher.scratch_stack(trained_model, tmp) as stack:
        yield BotServer(stack=stack, env=stack.env, knowledge_dir=tmp / "knowledge",
                        tracker_db_path=tmp / "tracker.db",
                        app_db_url=stack.env["CUSTOMS_DB_URL"])


def wait_healthy(proc, url: str, log: Path, timeout: float = 90) -> None:
    """Block until `url` answers; fail with the process log if it exits or stays silent."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
