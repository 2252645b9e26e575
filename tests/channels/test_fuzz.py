"""Property-based fuzzing of the doors' input (hypothesis): the REST body parser, and REST,
WhatsApp and Telegram payloads through the real channel handlers on a loopback server (as the
Rasa server registers them, with a stand-in agent). No input ends in an unhandled exception
or a 5xx; the server keeps answering."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.rest_limits import BadRequest, parse_body
from bot.channels.telegram import SECRET_HEADER, derived_secret
from bot.settings.rest import RestLimits
from tests.channels.channels_server import running
from tests.channels.test_telegram import FakeBotApi
from tests.channels.whatsapp_fakes import PHONE_NUMBER_ID, FakeGraphApi, sign, text_message
from tests.conftest import free_port

SECRET = "fuzz-app-secret"
TOKEN = f"{10**8 + 7}:{'f' * 35}"

JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=30)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=15)
# Bodies near the REST schema (the right keys with any values) and anything at all.
REST_FIELDS = st.fixed_dictionaries({}, optional={
    "sender": JSON, "message": JSON, "metadata": JSON, "input_channel": JSON,
    "message_id": JSON})
REST_BODY = st.one_of(REST_FIELDS.map(lambda d: json.dumps(d).encode()),
                      JSON.map(lambda d: json.dumps(d).encode()),
                      st.binary(max_size=300),
                      st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n))
LIMITS = RestLimits(rate_limit_per_minute=0, max_pending_per_sender=0)


@settings(max_examples=400, deadline=None)
@given(REST_BODY)
def test_the_rest_body_parser_returns_fields_or_a_4xx_refusal(body):
    try:
        fields = parse_body(body, LIMITS)
    except BadRequest as refused:
        assert 400 <= refused.status < 500 and refused.code and str(refused)
        json.dumps(refused.body())
        return
    assert isinstance(fields["sender"], str) and fields["message"].strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    graph = FakeGraphApi().start()
    bot_api = FakeBotApi(free_port(), TOKEN)
    bot_api.start()
    env = {"WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_APP_SECRET": SECRET,
           "WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
           "WHATSAPP_API_URL": graph.url, "WHATSAPP_DEDUP_REDIS_URL": "",
           "TELEGRAM_ACCESS_TOKEN": TOKEN, "TELEGRAM_API_URL": f"http://127.0.0.1:{bot_api.port}",
           "RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "0"}
    try:
        with running(env, tmp_path_factory.mktemp("fuzz") / "server.log") as (base, proc):
            yield base, proc
    finally:
        graph.stop()
        bot_api.stop()


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def alive(base: str) -> bool:
    with urllib.request.urlopen(f"{base}/webhooks/rest/", timeout=10) as response:
        return response.status == 200


FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=REST_BODY, content_type=st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", ""]))
def test_rest_payloads_never_get_a_5xx(server, body, content_type):
    base, _ = server
    status = post(f"{base}/webhooks/rest/webhook", body, {"Content-Type": content_type})
    assert status < 500, (status, body[:200])


def _set(payload: dict, path: list, value: object) -> dict:
    """`payload` with the item at `path` (indices into its nested lists and dicts) replaced."""
    target: object = payload
    for step in path[:-1]:
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        if not keys:
            return payload
        target = target[keys[step % len(keys)]]
        if not isinstance(target, (dict, list)):
            return payload
    keys = list(target) if isinstance(target, dict) else list(range(len(target)))
    if keys:
        target[keys[path[-1] % len(keys)]] = value
    return payload


# Meta's real notification with one part anywhere replaced by any JSON value, or any JSON.
WHATSAPP = st.one_of(
    st.builds(lambda text, path, value: _set(text_message(f"wamid.{secrets.token_hex(6)}",
                                                          text), path, value),
              st.text(max_size=50), st.lists(st.integers(0, 20), min_size=1, max_size=7), JSON),
    JSON)


@FUZZ
@given(WHATSAPP)
def test_signed_whatsapp_payloads_never_get_a_5xx(server, payload):
    base, _ = server
    body = json.dumps(payload).encode()
    status = post(f"{base}/webhooks/whatsapp/webhook", body,
                  {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET)})
    assert status < 500, (status, payload)


def telegram_update(text: str) -> dict:
    return {"update_id": 1, "message": {"message_id": 7, "date": 1764403200, "text": text,
                                        "chat": {"id": 4242, "type": "private"},
                                        "from": {"id": 4242, "is_bot": False,
                                                 "first_name": "Mary"}}}


TELEGRAM = st.one_of(
    st.builds(lambda text, path, value: _set(telegram_update(text), path, value),
              st.text(max_size=50), st.lists(st.integers(0, 20), min_size=1, max_size=4), JSON),
    JSON)


@FUZZ
@given(TELEGRAM)
def test_telegram_updates_with_the_secret_never_get_a_5xx(server, payload):
    base, _ = server
    status = post(f"{base}/webhooks/telegram/webhook", json.dumps(payload).encode(),
                  {"Content-Type": "application/json", SECRET_HEADER: derived_secret(TOKEN)})
    assert status < 500, (status, payload)


def test_the_server_survived_the_fuzzing(server):
    base, proc = server
    assert proc.poll() is None and alive(base)


def test_a_telegram_update_while_the_bot_api_is_down_is_not_a_5xx(tmp_path):
    """The turn fails (its answer cannot be sent), and so does the apology: that used to be
    an unhandled exception and a 500, so Telegram delivered the update again."""
    env = {"TELEGRAM_ACCESS_TOKEN": TOKEN, "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
           "WHATSAPP_APP_SECRET": ""}
    with running(env, tmp_path / "server.log") as (base, _):
        status = post(f"{base}/webhooks/telegram/webhook",
                      json.dumps(telegram_update("hello")).encode(),
                      {"Content-Type": "application/json", SECRET_HEADER: derived_secret(TOKEN)})
    assert status == 200
    assert "could not send the technical-problem reply" in (tmp_path / "server.log").read_text()
