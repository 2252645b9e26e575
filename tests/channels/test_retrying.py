"""bot/retrying.py against a real server on loopback that answers from a script.

The session is shared by the customs API backend and the WhatsApp Graph API client; their own
tests (tests/actions/test_status_http.py, tests/channels/test_whatsapp.py) check the same rules
through them. Waits are recorded with the injected `sleep`, so nothing here really waits for a
back-off.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from bot.channels.whatsapp.graph_api import RETRY_STATUS as GRAPH_STATUSES
from bot.channels.whatsapp.graph_api import GraphApiClient
from bot.retrying import RETRY_AFTER_MAX, SERVER_ERRORS, retrying_session


class ScriptedServer(ThreadingHTTPServer):
    """Answers the n-th request with the n-th step of `script` (then 200)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[dict[str, Any]] = []
        self.requests: list[bytes] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}/send"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a slow answer is expected here


class Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append(body)
        step = self.server.script.pop(0) if self.server.script else {}
        time.sleep(step.get("delay", 0))
        if step.get("drop"):  # close without answering, after the request arrived
            self.close_connection = True
            return
        data = json.dumps({"error": {"code": 2, "message": "try later"}}).encode()
        self.send_response(step.get("status", 200))
        for name, value in step.get("headers", {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def server() -> Iterator[ScriptedServer]:
    fake = ScriptedServer()
    thread = threading.Thread(target=fake.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    fake.shutdown()
    fake.server_close()


def session(retries: int = 2, backoff: float = 0.1, statuses=SERVER_ERRORS):
    sleeps: list[float] = []
    return retrying_session(retries, backoff, statuses, label="test API",
                            sleep=sleeps.append), sleeps


def test_5xx_is_retried_with_doubling_backoff_from_the_first_retry(server) -> None:
    server.script = [{"status": 500}, {"status": 502}, {"status": 503}]
    s, sleeps = session(retries=3)
    reply = s.post(server.url, json={"n": 1}, timeout=2)
    assert reply.status_code == 200
    assert len(server.requests) == 4
    assert set(server.requests) == {b'{"n": 1}'}  # the same body every time
    assert sleeps == [0.1, 0.2, 0.4]  # urllib3 2.x alone would wait 0 s before the first


def test_last_5xx_is_returned_not_raised_after_all_retries(server) -> None:
    server.script = [{"status": 503}] * 3
    s, sleeps = session(retries=2)
    assert s.post(server.url, timeout=2).status_code == 503
    assert len(server.requests) == 3 and sleeps == [0.1, 0.2]


def test_no_retries_means_one_try(server) -> None:
    server.script = [{"status": 503}]
    s, sleeps = session(retries=0)
    assert s.post(server.url, timeout=2).status_code == 503
    assert len(server.requests) == 1 and sleeps == []


@pytest.mark.parametrize("status", [400, 401, 404, 429])
def test_statuses_not_listed_are_not_retried(server, status: int) -> None:
    server.script = [{"status": status}]
    s, sleeps = session()
    assert s.post(server.url, timeout=2).status_code == status
    assert len(server.requests) == 1 and sleeps == []


def test_429_is_retried_when_listed_as_for_the_graph_api(server) -> None:
    server.script = [{"status": 429}, {"status": 599}]
    s, sleeps = session(statuses=GRAPH_STATUSES)
    assert s.post(server.url, timeout=2).status_code == 200
    assert len(server.requests) == 3 and sleeps == [0.1, 0.2]


def test_retry_after_sets_the_wait_up_to_a_cap(server) -> None:
    server.script = [{"status": 503, "headers": {"Retry-After": "3"}},
                     {"status": 503, "headers": {"Retry-After": "86400"}},
                     {"status": 503, "headers": {"Retry-After": "soon"}}]
    s, sleeps = session(retries=3)
    assert s.post(server.url, timeout=2).status_code == 200
    assert sleeps == [3, RETRY_AFTER_MAX, 0.4]  # an unreadable header: the back-off


def test_retry_after_never_makes_an_unlisted_status_retried(server) -> None:
    server.script = [{"status": 429, "headers": {"Retry-After": "1"}}]
    s, sleeps = session()
    assert s.post(server.url, timeout=2).status_code == 429
    assert len(server.requests) == 1 and sleeps == []


def test_read_timeout_is_raised_at_once_not_retried(server) -> None:
    server.script = [{"delay": 1.0}]
    s, sleeps = session()
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        s.post(server.url, timeout=0.2)
    assert time.monotonic() - started < 0.9
    assert len(server.requests) == 1 and sleeps == []


def test_connection_dropped_after_sending_is_not_retried(server) -> None:
    # The server may have acted on the request: the same reasoning as for a read timeout.
    server.script = [{"drop": True}]
    s, sleeps = session()
    with pytest.raises(requests.ConnectionError):
        s.post(server.url, timeout=2)
    assert len(server.requests) == 1 and sleeps == []


def test_connection_refused_is_retried_then_raised(caplog) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/send"
    s, sleeps = session(backoff=0.01)
    with caplog.at_level(logging.WARNING, logger="bot.retrying"), \
            pytest.raises(requests.ConnectionError):
        s.get(dead, timeout=2)
    assert sleeps == [0.01, 0.02]
    assert [r.getMessage() for r in caplog.records if r.name == "bot.retrying"] == [
        "test API: NewConnectionError on try 1; retrying in 0.01 s",
        "test API: NewConnectionError on try 2; retrying in 0.02 s",
    ]


def test_each_retry_is_logged_with_its_cause(server, caplog) -> None:
    server.script = [{"status": 503}]
    s, _ = session(backoff=0.5)
    with caplog.at_level(logging.WARNING, logger="bot.retrying"):
        s.post(server.url, timeout=2)
    assert [r.getMessage() for r in caplog.records if r.name == "bot.retrying"] == [
        "test API: HTTP 503 on try 1; retrying in 0.50 s"
    ]


# --------------------------------------------------------------------------- Graph API client


def test_graph_client_read_timeout_is_one_try_and_false(server, caplog) -> None:
    server.script = [{"delay": 1.0}]
    client = GraphApiClient(server.url, "123", "token", timeout=0.2, backoff=0.01)
    with caplog.at_level(logging.ERROR):
        assert client.post({"to": "x"}) is False
    assert len(server.requests) == 1
    assert "timed out reading the reply; not retried" in caplog.text


def test_graph_client_4xx_is_not_retried_and_logged_with_graph_error(server, caplog) -> None:
    server.script = [{"status": 400}]
    client = GraphApiClient(server.url, "123", "token", backoff=0.01)
    with caplog.at_level(logging.WARNING):
        assert client.post({"to": "x"}) is False
    assert len(server.requests) == 1
    assert "WhatsApp send rejected: HTTP 400 code=2 try later" in caplog.text
    assert "not delivered" in caplog.text


def test_graph_client_429_then_ok_is_delivered(server) -> None:
    server.script = [{"status": 429}]
    client = GraphApiClient(server.url, "123", "token", backoff=0.01)
    assert client.post({"to": "x"}) is True
    assert len(server.requests) == 2
