"""Bad input at the REST door of a real server: a 4xx with a JSON reason or a clear answer,
never a 5xx, and the server keeps answering in bounded memory (bot/channels/rest.py)."""

from __future__ import annotations

import http.client
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.conversation


def post(url: str, body: bytes, timeout: float = 60,
         content_type: str = "application/json") -> tuple[int, object]:
    """POST raw bytes; return (status, parsed JSON body or the raw text)."""
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        conn.request("POST", parsed.path, body=body, headers={"Content-Type": content_type})
        res = conn.getresponse()
        raw = res.read()
    finally:
        conn.close()
    try:
        return res.status, json.loads(raw)
    except ValueError:
        return res.status, raw.decode("utf-8", "replace")


def message(sender: str, text: object) -> bytes:
    return json.dumps({"sender": sender, "message": text}).encode()


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def sender() -> str:
    return f"bad-{uuid.uuid4().hex[:10]}"


def assert_refused(status: int, body: object, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert isinstance(body, dict) and body["error"] == code and body["message"], body


def test_oversized_message_is_refused_with_the_limit(bot_server):
    status, body = post(bot_server.rest_url, message(sender(), "customs " * 12_500))
    assert_refused(status, body, 413, "message_too_long")
    assert body["max_chars"] == 2000
    assert "2000 characters" in body["message"]


def test_oversized_body_is_refused_before_parsing(bot_server):
    body = b'{"sender": "x", "message": "' + b"a" * 2_000_000 + b'"}'
    status, reply = post(bot_server.rest_url, body)
    assert_refused(status, reply, 413, "body_too_large")


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_message_is_refused(bot_server, text):
    status, body = post(bot_server.rest_url, message(sender(), text))
    assert_refused(status, body, 400, "empty_message")


@pytest.mark.parametrize(("body", "code"), [
    (os.urandom(4096) + b"\xff", "invalid_utf8"),                      # binary garbage
    (b'{"sender": "x", "message": "caf\xe9 duty"}', "invalid_utf8"),   # Latin-1, not UTF-8
    (b'{"sender": "x", "message": "unterminated', "invalid_json"),
    (b"", "invalid_json"),
    (b'"just a string"', "invalid_json"),
    (b'{"sender": "x"}', "missing_message"),
    (b'{"message": "hello"}', "missing_sender"),
    (b'{"sender": "x", "message": {"text": "hi"}}', "invalid_message"),
])
def test_malformed_bodies_get_400_with_a_reason(bot_server, body, code):
    status, reply = post(bot_server.rest_url, body)
    assert_refused(status, reply, 400, code)


@pytest.mark.parametrize("content_type", [
    "text/plain;charset=UTF-8",               # what a foreign page's fetch() sends without CORS
    "application/x-www-form-urlencoded",      # a cross-site HTML form
    "multipart/form-data; boundary=x",
    "application/octet-stream",
])
def test_a_body_not_sent_as_json_gets_415_and_is_not_answered(bot_server, content_type):
    status, reply = post(bot_server.rest_url, message(sender(), "talk to a person"),
                         content_type=content_type)
    assert_refused(status, reply, 415, "unsupported_media_type")


def test_metadata_too_deep_or_too_large_is_refused(bot_server):
    nested: object = "x"
    for _ in range(600):
        nested = {"a": nested}
    body = json.dumps({"sender": sender(), "message": "hello", "metadata": nested}).encode()
    status, reply = post(bot_server.rest_url, body)
    assert_refused(status, reply, 400, "metadata_too_deep")
    body = json.dumps({"sender": sender(), "message": "hello",
                       "metadata": {"blob": "m" * 500_000}}).encode()
    status, reply = post(bot_server.rest_url, body)
    assert_refused(status, reply, 413, "metadata_too_large")
    small = json.dumps({"sender": sender(), "message": "hello",
                        "metadata": {"page": "/import", "lang": "en"}}).encode()
    assert post(bot_server.rest_url, small)[0] == 200


def test_a_body_nested_5000_levels_is_a_400_json_error(bot_server):
    body = b'{"sender": "x", "message": "hi", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    status, reply = post(bot_server.rest_url, body)
    assert_refused(status, reply, 400, "too_deep")


def test_control_characters_and_unicode_get_an_answer(bot_server):
    status, replies = post(bot_server.rest_url,
                           message(sender(), "what is the vat rate\u0000 on imports ✓ 🚚"))
    assert status == 200
    assert replies and replies[0]["text"]


@pytest.mark.parametrize("bad", ["\\ud800", "\\u0000", "\\u001b[2J"])  # JSON escapes
def test_a_sender_the_stores_cannot_hold_is_refused_and_the_server_stays_up(bot_server, bad):
    """A lone surrogate or a NUL in `sender` made the SQL driver raise ValueError, which Rasa's
    tracker store turned into exiting the server: one request took the assistant down."""
    body = ('{"sender": "x' + bad + 'y", "message": "hi"}').encode()
    status, reply = post(bot_server.rest_url, body)
    assert_refused(status, reply, 400, "invalid_sender")
    status, replies = post(bot_server.rest_url, message(sender(), "what is the vat rate"))
    assert status == 200 and replies and replies[0]["text"]


def test_a_lone_surrogate_in_a_message_gets_an_answer_not_an_apology(bot_server):
    body = ('{"sender": "' + sender() + '", "message": "what is a tpin \\ud800"}').encode()
    status, replies = post(bot_server.rest_url, body)
    assert status == 200, replies
    texts = " ".join(r.get("text") or "" for r in replies)
    assert "TPIN" in texts and "technical problem" not in texts.lower(), texts


def test_a_thousand_messages_from_one_sender(bot_server):
    """50 in flight at a time: answered or 429, never 5xx; memory and latency stay bounded."""
    pid = bot_server.stack.procs["rasa"].pid
    who = sender()
    before = rss_kib(pid)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(
            lambda i: post(bot_server.rest_url, message(who, f"how do I pay duty {i}")),
            range(1000)))
    elapsed = time.monotonic() - started
    statuses = [status for status, _ in results]
    assert not [s for s in statuses if s >= 500], "server errors"
    assert set(statuses) <= {200, 429}, set(statuses)
    answered = [body for status, body in results if status == 200]
    assert 1 <= len(answered) <= 30, len(answered)  # RATE_LIMIT_PER_MINUTE default 30
    assert all(body and body[0].get("text") for body in answered)
    limited = [body for status, body in results if status == 429]
    assert all(body["error"] in {"rate_limited", "too_many_pending"} for body in limited)
    assert elapsed < 120
    grown_mib = (rss_kib(pid) - before) / 1024
    assert grown_mib < 100, f"Rasa grew by {grown_mib:.0f} MiB"
    # The server is still up and other senders are not affected.
    assert bot_server.stack.dead() == []
    assert bot_server.send(sender(), "what is the vat rate on imports")[0]["text"]


def test_rate_limit_per_sender(bot_server):
    """One at a time, RATE_LIMIT_PER_MINUTE (default 30) messages pass, then a 429."""
    who = sender()
    statuses = []
    for i in range(31):
        status, body = post(bot_server.rest_url, message(who, f"how do I pay duty {i}"))
        statuses.append(status)
    assert statuses[:30] == [200] * 30
    assert_refused(status, body, 429, "rate_limited")
    assert "wait" in body["message"] and 1 <= body["retry_after"] <= 60
    assert post(bot_server.rest_url, message(sender(), "hello"))[0] == 200
