"""The HTTP backend against a real server on loopback that implements the OpenAPI contract."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from actions.declarations.backends import get_backend
from actions.declarations.backends.base import StatusServiceUnavailable
from actions.declarations.backends.http import CURRENT_PATH, LOOKUP_PATH, HttpStatusBackend
from bot.appdb.demo_data import DEMO_DECLARATIONS

TOKEN = "test-token"
RECORDS = {
    ref: {"tpin": tpin, "status": status, "lane": lane, "last_changed": changed.isoformat()}
    for ref, tpin, status, lane, changed in DEMO_DECLARATIONS
}


class FakeCustomsApi(BaseHTTPRequestHandler):
    """The contract of docs/declaration-status-api.openapi.yml, plus switchable faults."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, code, body, raw=False, headers=()):
        data = body if raw else json.dumps(body).encode()
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 - http.server naming
        server = self.server
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        mode = server.mode
        if mode == "slow":
            time.sleep(1.0)
        if mode == "5xx" or (mode == "5xx-then-ok" and len(server.requests) <= 2):
            return self._send(503, {"error": "unavailable"})
        if mode == "429":  # their rate limit, with a hint when to come back
            return self._send(429, {"error": "slow_down"}, headers=[("Retry-After", "1")])
        if mode == "malformed":
            return self._send(200, b"{not json", raw=True)
        if mode == "wrong-shape":
            return self._send(200, {"reference": json.loads(body)["reference"], "status": "lost"})
        if self.path not in (LOOKUP_PATH, CURRENT_PATH):
            return self._send(404, {"error": "no_such_path"})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, {"error": "unauthorized"})
        try:
            request = json.loads(body)
            # status-current (notifications) has no TPIN, and must not be sent one.
            reference = request["reference"]
            tpin = request["tpin"] if self.path == LOOKUP_PATH else None
            if self.path == CURRENT_PATH and set(request) != {"reference"}:
                raise KeyError("tpin")
        except (ValueError, KeyError):
            return self._send(400, {"error": "bad_request"})
        record = RECORDS.get(reference)
        if record is None or (tpin is not None and record["tpin"] != tpin):
            return self._send(404, {"error": "not_found"})
        return self._send(200, {
            "reference": reference, "status": record["status"], "lane": record["lane"],
            "last_changed": record["last_changed"],
            # Extra fields a real system might add: the bot must ignore them.
            "goods_description": "2 pallets of tiles", "amount_due": 12345.67,
            "consignee_name": "Example Trading Ltd",
        })


@pytest.fixture()
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCustomsApi)
    server.mode = "ok"
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def backend(url, **kwargs):
    sleeps = []
    options = {"token": TOKEN, "timeout": 0.5, "retries": 2, "backoff": 0.01}
    options.update(kwargs)
    return HttpStatusBackend(url, sleep=sleeps.append, **options), sleeps


@pytest.mark.parametrize("reference, tpin, status, lane, changed", DEMO_DECLARATIONS)
def test_each_demo_record(api, reference, tpin, status, lane, changed):
    result = backend(api.url)[0].lookup(reference, tpin)
    assert (result.reference, result.status, result.lane) == (reference, status, lane)
    assert result.last_changed == changed
    assert not hasattr(result, "amount_due")


def test_current_status_for_notifications_is_asked_without_a_tpin(api):
    found = backend(api.url)[0].current_status("2026 KZL C 3310")
    assert (found.reference, found.status, found.lane) == ("2026 KZL C 3310", "paid", "red")
    assert backend(api.url)[0].current_status("2026 KZL C 3311") is None
    assert api.requests[0]["path"] == CURRENT_PATH
    assert json.loads(api.requests[0]["body"]) == {"reference": "2026 KZL C 3310"}


def test_tpin_only_in_json_body(api):
    backend(api.url + "/")[0].lookup("2026 LSK C 10452", "1002003004")
    (request,) = api.requests
    assert request["path"] == LOOKUP_PATH
    assert "1002003004" not in request["path"]
    assert json.loads(request["body"]) == {"reference": "2026 LSK C 10452", "tpin": "1002003004"}
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_wrong_tpin_and_unknown_reference_both_none(api):
    b = backend(api.url)[0]
    assert b.lookup("2026 LSK C 10452", "9999999999") is None
    assert b.lookup("2026 LSK C 99999", "9999999999") is None


def test_slow_answer_is_unavailable_without_retry(api):
    api.mode = "slow"
    b, sleeps = backend(api.url, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(StatusServiceUnavailable):
        b.lookup("2026 LSK C 10452", "1002003004")
    assert time.monotonic() - started < 0.9
    assert len(api.requests) == 1 and sleeps == []


def test_5xx_then_ok_is_retried_with_backoff(api):
    api.mode = "5xx-then-ok"
    b, sleeps = backend(api.url, backoff=0.1)
    assert b.lookup("2026 CHR C 20871", "1002003004").status == "released"
    assert len(api.requests) == 3
    assert sleeps == [0.1, 0.2]


def test_5xx_every_time_is_unavailable(api):
    api.mode = "5xx"
    b, sleeps = backend(api.url, retries=3)
    with pytest.raises(StatusServiceUnavailable):
        b.lookup("2026 CHR C 20871", "1002003004")
    assert len(api.requests) == 4 and len(sleeps) == 3


def test_connection_refused_is_retried_then_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    b, sleeps = backend(f"http://127.0.0.1:{dead_port}")
    with pytest.raises(StatusServiceUnavailable):
        b.lookup("2026 LSK C 10452", "1002003004")
    assert sleeps == [0.01, 0.02]


@pytest.mark.parametrize("mode", ["malformed", "wrong-shape"])
def test_malformed_answers_are_unavailable(api, mode):
    api.mode = mode
    with pytest.raises(StatusServiceUnavailable):
        backend(api.url)[0].lookup("2026 LSK C 10452", "1002003004")


def test_bad_token_is_unavailable(api):
    with pytest.raises(StatusServiceUnavailable):
        backend(api.url, token="wrong")[0].lookup("2026 LSK C 10452", "1002003004")
    assert len(api.requests) == 1  # 401 is not retried


def test_429_is_not_retried_even_with_retry_after(api):
    # The contract: only connection errors and 500/502/503/504 are retried.
    api.mode = "429"
    b, sleeps = backend(api.url)
    with pytest.raises(StatusServiceUnavailable, match="answered 429"):
        b.lookup("2026 LSK C 10452", "1002003004")
    assert len(api.requests) == 1 and sleeps == []


def test_factory_reads_environment(api, monkeypatch):
    monkeypatch.setenv("DECLARATION_BACKEND", "http")
    monkeypatch.setenv("CUSTOMS_API_URL", api.url)
    monkeypatch.setenv("CUSTOMS_API_TOKEN", TOKEN)
    monkeypatch.setenv("CUSTOMS_API_TIMEOUT", "2")
    b = get_backend()
    assert isinstance(b, HttpStatusBackend) and b.timeout == 2.0
    assert b.lookup("2026 NAK C 77", "2003004005").lane == "yellow"
    monkeypatch.delenv("CUSTOMS_API_URL")
    with pytest.raises(ValueError, match="CUSTOMS_API_URL"):
        get_backend()


def test_openapi_contract_matches_the_code():
    import re
    from pathlib import Path

    import yaml

    from actions.declarations.backends.base import LANES, STATUSES
    from actions.declarations.reference import parse_reference

    spec = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "docs" / "declaration-status-api.openapi.yml")
        .read_text()
    )
    assert LOOKUP_PATH in spec["paths"] and CURRENT_PATH in spec["paths"]
    event = spec["components"]["schemas"]["StatusChanges"]["properties"]["events"]["items"]
    assert tuple(event["properties"]["status"]["enum"]) == STATUSES
    schemas = spec["components"]["schemas"]
    assert tuple(schemas["DeclarationStatus"]["properties"]["status"]["enum"]) == STATUSES
    assert [x for x in schemas["DeclarationStatus"]["properties"]["lane"]["enum"] if x] == list(
        LANES
    )
    pattern = schemas["StatusLookupRequest"]["properties"]["reference"]["pattern"]
    for text in ("LSK/2026/C/00077", "c10452 lsk 2026", "2025 LSK C 99881"):
        assert re.match(pattern, parse_reference(text).canonical)
