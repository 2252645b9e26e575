"""The REST channel's checks as plain functions: body parsing and per-sender limits."""

from __future__ import annotations

import json

import pytest

from bot.channels.rest_limits import BadRequest, SenderLimiter, parse_body
from bot.settings.rest import RestLimits

LIMITS = RestLimits(max_message_chars=50, max_body_bytes=500)


def refused(body: bytes, limits: RestLimits = LIMITS) -> BadRequest:
    with pytest.raises(BadRequest) as error:
        parse_body(body, limits)
    return error.value


def test_valid_body_is_parsed() -> None:
    fields = parse_body(b'{"sender": "a", "message": "hello", "metadata": {"x": 1}}', LIMITS)
    assert fields == {"sender": "a", "message": "hello", "metadata": {"x": 1},
                      "input_channel": None, "message_id": None}
    assert parse_body(b'{"sender": 7, "message": "hi"}', LIMITS)["sender"] == "7"


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"\xff\xfe\x00garbage", 400, "invalid_utf8"),
    (b"{not json", 400, "invalid_json"),
    (b'["sender", "message"]', 400, "invalid_json"),
    (b'{"message": "hi"}', 400, "missing_sender"),
    (b'{"sender": "", "message": "hi"}', 400, "missing_sender"),
    (b'{"sender": "a"}', 400, "missing_message"),
    (b'{"sender": "a", "message": 12}', 400, "invalid_message"),
    (b'{"sender": "a", "message": "  \\u0000 "}', 400, "empty_message"),
    (b'{"sender": "a", "message": "hi", "metadata": [1]}', 400, "invalid_metadata"),
])
def test_bad_bodies_are_refused_with_a_code(body: bytes, status: int, code: str) -> None:
    error = refused(body)
    assert (error.status, error.code) == (status, code)
    assert error.body()["message"]


def test_size_limits() -> None:
    long = json.dumps({"sender": "a", "message": "x" * 51}).encode()
    assert refused(long).code == "message_too_long"
    assert refused(long).body()["max_chars"] == 50
    assert refused(b" " * 501).code == "body_too_large"
    # 0 switches a limit off
    unlimited = RestLimits(max_message_chars=0, max_body_bytes=0)
    assert parse_body(long, unlimited)["message"] == "x" * 51


def test_rate_limit_is_a_sliding_minute_per_sender() -> None:
    now = [1000.0]
    limiter = SenderLimiter(per_minute=3, max_pending=0, clock=lambda: now[0])
    for _ in range(3):
        limiter.admit("a")
    with pytest.raises(BadRequest) as error:
        limiter.admit("a")
    assert error.value.status == 429 and error.value.extra["retry_after"] == 60
    limiter.admit("b")  # other senders are not affected
    now[0] += 60
    limiter.admit("a")


def test_pending_cap_and_bounded_memory() -> None:
    limiter = SenderLimiter(per_minute=0, max_pending=2)
    limiter.started("a")
    limiter.started("a")
    with pytest.raises(BadRequest, match="wait for the answer"):
        limiter.admit("a")
    limiter.finished("a")
    limiter.admit("a")
    limiter.finished("a")
    assert limiter.pending == {}
    now = [0.0]
    small = SenderLimiter(per_minute=5, max_pending=0, max_senders=100, clock=lambda: now[0])
    for i in range(1000):
        now[0] += 0.001
        small.admit(f"s{i}")
    assert len(small.recent) <= 100
