"""Faults in the dependencies of a running bot: action server down or hung, application
database down, Redis (lock store) down, a slow customs API.

One extra stack on loopback with its own dependencies, each of which the test can break and
mend: a throwaway `redis-server`, a TCP proxy in front of PostgreSQL (the application database),
a fake customs API with an adjustable delay. In every case the user gets a clear message within
a bounded time, the Rasa server keeps running, and it recovers by itself once the dependency is
back.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.actions.test_status_http import TOKEN, FakeCustomsApi
from tests.conftest import ROOT, free_port, reachable

pytestmark = pytest.mark.conversation

PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "test"
REPLY_TIMEOUT = 6  # REPLY_TIMEOUT_SECONDS of this stack
APOLOGY = "technical problem"
UNAVAILABLE = "status service is unavailable"
LOOKUP = "status of LSK/2026/C/10452 tpin 1002003004"


class TcpProxy:
    """Forwards a loopback port to a server; `cut()` makes the server unreachable (connections
    refused, open ones reset), `mend()` restores it on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.conns: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.mend()

    def mend(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                return
            upstream.settimeout(None)
            with self.lock:
                self.conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._close(s)

    def _close(self, s: socket.socket) -> None:
        with self.lock:
            self.conns.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def cut(self) -> None:
        if self.listener is not None:
            self._close(self.listener)
            self.listener = None
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            self._close(s)


class RedisServer:
    """A throwaway redis-server without persistence, stoppable and restartable on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not reachable("127.0.0.1", self.port):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class SlowCustomsApi(FakeCustomsApi):
    def do_POST(self):  # noqa: N802 - http.server naming
        time.sleep(self.server.delay)
        super().do_POST()


def drop_schema(schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{PG_DB}")
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


class Faulty:
    def __init__(self, stack, api, redis: RedisServer | None, proxy: TcpProxy | None) -> None:
        self.stack, self.api, self.redis, self.proxy = stack, api, redis, proxy

    def send(self, sender: str, text: str) -> tuple[str, float]:
        """Reply texts joined and seconds taken; the HTTP status must be 200."""
        import json
        import urllib.request

        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(f"{self.stack.rasa_url}/webhooks/rest/webhook",
                                         data=body,
                                         headers={"Content-Type": "application/json"})
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
            replies = json.loads(response.read())
        return "\n".join(r.get("text", "") for r in replies), time.monotonic() - started

    def alive(self) -> bool:
        return "rasa" not in self.stack.dead()

    def restart_actions(self) -> None:
        self.stack.start_actions()
        self.stack.wait_ready(timeout=60)


def user() -> str:
    return f"fault-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def faulty(trained_model, tmp_path_factory):
    from bot.ops import launcher

    tmp = tmp_path_factory.mktemp("faults")
    api = ThreadingHTTPServer(("127.0.0.1", 0), SlowCustomsApi)
    api.mode, api.requests, api.delay = "ok", [], 0.0
    threading.Thread(target=api.serve_forever, args=(0.05,), daemon=True).start()
    overrides = {
        "RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()),
        "WEB_PORT": str(free_port()), "VAR_DIR": str(tmp / "var"),
        "TRACKER_DB": str(tmp / "tracker.db"), "KNOWLEDGE_DIR": str(ROOT / "knowledge"),
        "REPLY_TIMEOUT_SECONDS": str(REPLY_TIMEOUT), "RATE_LIMIT_PER_MINUTE": "0",
        "DECLARATION_BACKEND": "http", "CUSTOMS_API_TOKEN": TOKEN,
        "CUSTOMS_API_URL": f"http://127.0.0.1:{api.server_address[1]}",
        "CUSTOMS_API_TIMEOUT": "2", "CUSTOMS_API_RETRIES": "0",
        "CUSTOMS_DB_URL": f"sqlite:///{tmp / 'customs.db'}",
        **launcher.ONE_ADDRESS,
    }
    redis = proxy = schema = None
    if shutil.which("redis-server"):
        redis = RedisServer()
        redis.start()
        overrides["REDIS_URL"] = f"redis://127.0.0.1:{redis.port}/0"
    if reachable(PG_HOST, PG_PORT):
        proxy = TcpProxy(PG_PORT)
        schema = f"faults_{uuid.uuid4().hex[:8]}"
        overrides["CUSTOMS_DB_URL"] = f"postgresql://postgres@127.0.0.1:{proxy.port}/{PG_DB}"
        overrides["CUSTOMS_DB_SCHEMA"] = schema
    saved = {k: os.environ.pop(k, None)
             for k in ("TRACKER_DB_URL", "ACTION_SERVER_URL", "REDIS_URL", "SANIC_WORKERS")}
    env = launcher.environment(overrides)
    stack = launcher.Stack(model=trained_model, env=env, log_dir=tmp / "log",
                           run_dir=tmp / "run")
    try:
        subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        stack.start_actions()
        stack.start_rasa()
        stack.wait_ready(timeout=240)
        yield Faulty(stack, api, redis, proxy)
    finally:
        stack.stop()
        api.shutdown()
        api.server_close()
        if redis:
            redis.stop()
        if proxy:
            proxy.cut()
        if schema:
            drop_schema(schema)
        os.environ.update({k: v for k, v in saved.items() if v is not None})


def assert_recovers(faulty: Faulty, sender: str) -> None:
    """Once the dependency is back, the same conversation gets real answers again."""
    text, _ = faulty.send(sender, "what is the vat rate on imports")
    assert APOLOGY not in text and "vat" in text.lower(), text
    text, _ = faulty.send(sender, LOOKUP)
    assert "assessed" in text.lower(), text


def test_action_server_down(faulty: Faulty) -> None:
    sender = user()
    faulty.stack.stop_one("actions")
    try:
        text, seconds = faulty.send(sender, "what is the vat rate on imports")
        assert APOLOGY in text and seconds < 5, (text, seconds)
        assert faulty.alive()
    finally:
        faulty.restart_actions()
    assert_recovers(faulty, sender)


def test_action_server_hung(faulty: Faulty) -> None:
    """A frozen action server (accepts, never answers): the turn is cut at the reply timeout."""
    sender = user()
    pid = faulty.stack.procs["actions"].pid
    os.killpg(pid, signal.SIGSTOP)
    try:
        text, seconds = faulty.send(sender, "what is the vat rate on imports")
        assert APOLOGY in text, text
        assert REPLY_TIMEOUT - 1 < seconds < REPLY_TIMEOUT + 5, seconds
        assert faulty.alive()
    finally:
        os.killpg(pid, signal.SIGCONT)
    assert_recovers(faulty, sender)


def test_application_database_down(faulty: Faulty) -> None:
    if faulty.proxy is None:
        pytest.skip(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}")
    sender = user()
    faulty.proxy.cut()
    try:
        text, seconds = faulty.send(sender, LOOKUP)
        assert UNAVAILABLE in text and seconds < 10, (text, seconds)
        # Answers that need no database keep working.
        text, _ = faulty.send(user(), "what is the vat rate on imports")
        assert "vat" in text.lower() and APOLOGY not in text, text
        assert faulty.alive()
    finally:
        faulty.proxy.mend()
    assert_recovers(faulty, sender)


def test_redis_lock_store_down(faulty: Faulty) -> None:
    if faulty.redis is None:
        pytest.skip("redis-server is not installed")
    sender = user()
    faulty.redis.stop()
    try:
        text, seconds = faulty.send(sender, "what is the vat rate on imports")
        assert APOLOGY in text and seconds < 5, (text, seconds)
        assert faulty.alive()
    finally:
        faulty.redis.start()
    assert_recovers(faulty, sender)


def test_slow_customs_api(faulty: Faulty) -> None:
    sender = user()
    faulty.api.delay = 10.0
    try:
        text, seconds = faulty.send(sender, LOOKUP)
        assert UNAVAILABLE in text, text
        assert seconds < 6, seconds  # CUSTOMS_API_TIMEOUT=2, no retry on a slow answer
        assert faulty.alive()
    finally:
        faulty.api.delay = 0.0
    assert_recovers(faulty, sender)


def test_logs_name_the_failures(faulty: Faulty) -> None:
    """Operators can see what went wrong (runs last: the log holds the faults above)."""
    log = Path(faulty.stack.log_dir / "rasa.log").read_text("utf-8", "replace")
    assert "Couldn't connect to the server" in log or "Failed to execute custom action" in log
