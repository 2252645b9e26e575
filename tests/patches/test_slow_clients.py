"""Slow clients cannot hold the servers' connections (bot/patches/slow_clients.py,
bot/ops/webserver.py): real sockets on loopback against the channels as the Rasa server
registers them (short timeouts), the real Rasa server (default timeouts) and the web page
server. Before, 200 half-sent requests stayed open on the web page server, a body trickled one
byte every 10 s held a Rasa connection for minutes, and a 90 MB body was read whole before
the 413."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlparse

import pytest

from bot.ops.webserver import make_server
from tests.channels.channels_server import running

HEAD = (b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: bot\r\n"
        b"Content-Type: application/json\r\n")


def connect(base: str) -> socket.socket:
    parsed = urlparse(base)
    return socket.create_connection((parsed.hostname, parsed.port), timeout=30)


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """(whether the server closed the connection within `seconds`, what it sent first)."""
    sock.settimeout(0.2)
    deadline, got = time.monotonic() + seconds, b""
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionError:
            return True, got
        if not chunk:
            return True, got
        got += chunk
    return False, got


def half_sent(base: str, count: int, request: bytes) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = connect(base)
        sock.sendall(request)
        socks.append(sock)
    return socks


def all_closed(socks: list[socket.socket], seconds: float) -> int:
    """How many of `socks` the server closed within `seconds` from now."""
    deadline, closed = time.monotonic() + seconds, 0
    for sock in socks:
        done, _ = closed_within(sock, max(0.1, deadline - time.monotonic()))
        closed += done
        sock.close()
    return closed


def trickle(sock: socket.socket, data: bytes, every: float) -> tuple[float, bytes]:
    """Send `data` one byte per `every` seconds until the server stops listening; (seconds
    it took the server to answer or close, what it answered)."""
    start, answer = time.monotonic(), b""
    sock.settimeout(every)
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
            answer = sock.recv(65536)
            break  # the server answered, or closed the connection
        except TimeoutError:
            continue
        except OSError:
            break
    done, rest = closed_within(sock, 60)
    return time.monotonic() - start, answer + rest


def trickle_on(sock: socket.socket, every: float, seconds: float) -> tuple[float, bytes]:
    """Send a byte every `every` seconds, whatever the server answers, until it closes the
    connection or `seconds` have passed: (seconds it stayed open, all it sent)."""
    start, got = time.monotonic(), b""
    sock.settimeout(every)
    while time.monotonic() - start < seconds:
        try:
            sock.sendall(b" ")
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    return time.monotonic() - start, got


def huge_body(base: str, size: int = 90_000_000) -> tuple[bytes, int]:
    """Announce a `size` body and send as much as the server takes in 10 s: (its answer,
    the bytes it took)."""
    sock = connect(base)
    sock.sendall(HEAD + f"Content-Length: {size}\r\n\r\n".encode())
    sent, chunk = 0, b"x" * 65536
    sock.settimeout(0.5)
    deadline = time.monotonic() + 10
    while sent < size and time.monotonic() < deadline:
        try:
            sent += sock.send(chunk)
        except TimeoutError:
            break
        except OSError:
            break
    _, answer = closed_within(sock, 10)
    sock.close()
    return answer, sent


# The routes Sanic streams (`stream=True`): it lifts its size limit for them and never calls
# `receive_body`, so each reads its body itself (bot/patches/slow_clients.read_streamed_body).
STREAMED = {
    "whatsapp": (b"POST /webhooks/whatsapp/webhook HTTP/1.1\r\nHost: bot\r\n"
                 b"Content-Type: application/json\r\nX-Hub-Signature-256: sha256=00\r\n",
                 3 * 1024 * 1024),
    "customs": (b"POST /webhooks/customs/status-changes HTTP/1.1\r\nHost: bot\r\n"
                b"Content-Type: application/json\r\nX-Customs-Signature-256: sha256=00\r\n",
                4096),
}


@pytest.fixture(scope="module")
def channels(tmp_path_factory):
    from bot import appdb

    folder = tmp_path_factory.mktemp("slow")
    env = {"REQUEST_HEADER_TIMEOUT_SECONDS": "2", "REQUEST_BODY_TIMEOUT_SECONDS": "2",
           "KEEP_ALIVE_TIMEOUT_SECONDS": "2",
           # The two streamed routes: WhatsApp's webhook and the customs status webhook.
           "WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_APP_SECRET": "s",
           "WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": "1234",
           "WHATSAPP_API_URL": "http://127.0.0.1:9", "WHATSAPP_DEDUP_REDIS_URL": "",
           "CUSTOMS_WEBHOOK_SECRET": "customs-secret",
           "CUSTOMS_WEBHOOK_MAX_BODY_BYTES": str(STREAMED["customs"][1]),
           "CUSTOMS_DB_URL": f"sqlite:///{folder / 'app.db'}"}
    with running(env, folder / "server.log") as (base, proc):
        yield base
    appdb.dispose_engines()


def handled(base: str) -> list[dict]:
    import urllib.request

    with urllib.request.urlopen(f"{base}/test/handled", timeout=10) as response:
        return json.loads(response.read())


def test_200_half_sent_requests_are_closed(channels):
    socks = half_sent(channels, 200, HEAD)  # the headers never end
    assert all_closed(socks, 10) == 200


def test_a_trickled_header_is_cut_off(channels):
    sock = connect(channels)
    seconds, answer = trickle(sock, HEAD * 20, every=0.5)
    sock.close()
    assert seconds < 8, seconds
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]


def test_a_trickled_body_is_cut_off_and_not_run(channels):
    body = json.dumps({"sender": "trickler", "message": "x" * 200}).encode()
    sock = connect(channels)
    sock.sendall(HEAD + f"Content-Length: {len(body)}\r\n\r\n".encode())
    seconds, answer = trickle(sock, body, every=0.5)
    sock.close()
    assert seconds < 6, seconds
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert not [m for m in handled(channels) if m["sender_id"] == "trickler"]


@pytest.mark.parametrize("route", sorted(STREAMED))
def test_a_trickled_streamed_body_is_cut_off_before_its_signature_is_checked(channels, route):
    """Before, one byte every half second held the connection as long as the client liked:
    these routes had no body deadline at all."""
    head, _ = STREAMED[route]
    sock = connect(channels)
    sock.sendall(head + b"Content-Length: 400\r\n\r\n")
    seconds, answer = trickle_on(sock, every=0.5, seconds=15)
    sock.close()
    assert seconds < 6, seconds
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]


@pytest.mark.parametrize("route", sorted(STREAMED))
def test_a_streamed_body_announced_over_its_cap_is_413_and_not_read(channels, route):
    """Before, the 413 came at once but the server then read the rest of the announced body,
    however slowly it came, before closing: the connection stayed open."""
    head, cap = STREAMED[route]
    sock = connect(channels)
    sock.sendall(head + f"Content-Length: {cap + 1000}\r\n\r\n".encode())
    seconds, answer = trickle_on(sock, every=0.5, seconds=15)
    sock.close()
    assert seconds < 4, seconds
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]


@pytest.mark.parametrize("route", sorted(STREAMED))
def test_a_chunked_streamed_body_over_its_cap_is_refused_unread(channels, route):
    """No Content-Length: the cap holds while the body streams (Sanic has none on these)."""
    head, cap = STREAMED[route]
    sock = connect(channels)
    sock.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
    sent, chunk = 0, b"10000\r\n" + b"x" * 65536 + b"\r\n"
    sock.settimeout(0.5)
    deadline = time.monotonic() + 10
    while sent < 50_000_000 and time.monotonic() < deadline:
        try:
            sent += sock.send(chunk)
        except (TimeoutError, OSError):
            break
    done, answer = closed_within(sock, 10)
    sock.close()
    assert done and answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert sent < cap + 20_000_000, sent  # socket buffers, not the stream


def test_a_90_mb_body_is_refused_without_being_read(channels):
    answer, taken = huge_body(channels)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert taken < 20_000_000, taken  # socket buffers, not the body


@pytest.mark.conversation
def test_the_rasa_server_refuses_slow_and_huge_requests(bot_server):
    """The real `rasa run` with the default timeouts (10 s for headers, 20 s for a body)."""
    base = bot_server.rasa_url
    answer, taken = huge_body(base)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert taken < 20_000_000, taken
    result: dict[str, object] = {}

    def trickled_body() -> None:
        sock = connect(base)
        sock.sendall(HEAD + b"Content-Length: 400\r\n\r\n")
        result["body"] = trickle(sock, b"{" + b" " * 399, every=2)
        sock.close()

    thread = threading.Thread(target=trickled_body)
    thread.start()
    socks = half_sent(base, 200, HEAD)
    assert all_closed(socks, 25) == 200
    thread.join(60)
    seconds, answer = result["body"]
    assert seconds < 35, seconds
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert bot_server.texts("after-slow", "hello")  # and it still answers


@pytest.fixture()
def web_server(tmp_path):
    server = make_server("127.0.0.1", 0, "http://localhost:5005", request_seconds=2)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_web_page_server_closes_200_half_sent_requests(web_server):
    socks = half_sent(web_server, 200, b"GET / HTTP/1.1\r\nHost: web\r\n")
    assert all_closed(socks, 10) == 200
    assert threading.active_count() < 50  # their threads are gone too


def test_the_web_page_server_cuts_off_a_trickled_request(web_server):
    sock = connect(web_server)
    seconds, _ = trickle(sock, b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n", every=0.3)
    sock.close()
    assert seconds < 6, seconds
