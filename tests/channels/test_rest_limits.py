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


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(("header", "ok"), [
    ("application/json", True), ("application/json; charset=utf-8", True),
    ("Application/JSON", True), ("text/plain", False), ("text/plain;charset=UTF-8", False),
    ("application/x-www-form-urlencoded", False), ("multipart/form-data; boundary=x", False),
    ("", False), (None, False),
])
def test_only_json_content_type_is_read(header: str | None, ok: bool) -> None:
    from bot.channels.rest_limits import check_content_type

    if ok:
        check_content_type(header)
    else:
        with pytest.raises(BadRequest) as error:
            check_content_type(header)
        assert error.value.status == 415 and error.value.code == "unsupported_media_type"


def test_metadata_too_deep_is_400_and_too_large_is_413() -> None:
    limits = RestLimits(max_metadata_depth=8, max_metadata_bytes=1000, max_body_bytes=0)
    ok = f'{{"sender": "a", "message": "hi", "metadata": {{"a": {deep(7)}}}}}'
    assert parse_body(ok.encode(), limits)["metadata"] == {"a": json.loads(deep(7))}
    too_deep = f'{{"sender": "a", "message": "hi", "metadata": {{"a": {deep(600)}}}}}'
    error = refused(too_deep.encode(), limits)
    assert (error.status, error.code) == (400, "metadata_too_deep")
    big = json.dumps({"sender": "a", "message": "hi", "metadata": {"x": "y" * 1001}})
    error = refused(big.encode(), limits)
    assert (error.status, error.code) == (413, "metadata_too_large")


def test_body_nested_deeper_than_the_parser_is_a_400() -> None:
    body = f'{{"sender": "a", "message": "hi", "metadata": {deep(5000)}}}'
    error = refused(body.encode(), RestLimits(max_body_bytes=0))
    assert (error.status, error.code) == (400, "too_deep")


def test_json_depth_needs_no_recursion() -> None:
    from bot.channels.rest_limits import json_depth

    assert json_depth(1) == 0 and json_depth({}) == 1 and json_depth({"a": [1, {"b": 2}]}) == 3
    value: list = []
    for _ in range(100_000):
        value = [value]
    assert json_depth(value) == 100_001
