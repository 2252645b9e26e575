"""A Telegram update delivered twice (Telegram sends it again when the webhook did not answer in
time) is answered once: real servers on loopback (the test server's stand-in agent echoes, no
trained model) against the fake Bot API, in one process from memory, and across two replicas
through Redis, as WhatsApp's duplicate filter does (bot/channels/dedup.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from bot.channels.telegram import SECRET_HEADER, derived_secret
from tests.channels.channels_server import running
from tests.channels.test_telegram import FakeBotApi, update

TOKEN = "987654321:telegram-duplicates-token"
REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    yield from FakeBotApi.serving(TOKEN)


def env(bot_api: FakeBotApi, tmp_path, redis_url: str = "") -> dict[str, str]:
    return {"TELEGRAM_ACCESS_TOKEN": TOKEN, "TELEGRAM_API_URL": f"http://127.0.0.1:{bot_api.port}",
            "TELEGRAM_DEDUP_REDIS_URL": redis_url, "WHATSAPP_APP_SECRET": "",
            "CUSTOMS_WEBHOOK_SECRET": "", "CUSTOMS_DB_URL": f"sqlite:///{tmp_path / 'app.db'}"}


def an_update(chat_id: int, text: str) -> bytes:
    """A Telegram update with an id no earlier run used (Redis remembers ids for a day)."""
    body = json.loads(update(chat_id, text))
    body["update_id"] = time.time_ns() // 1000 % 10**12
    return json.dumps(body).encode()


def post(base: str, body: bytes) -> int:
    return requests.post(f"{base}/webhooks/telegram/webhook", data=body, timeout=30, headers={
        "Content-Type": "application/json", SECRET_HEADER: derived_secret(TOKEN)}).status_code


def replies(bot_api: FakeBotApi, chat_id: int) -> list[str]:
    # The turn runs before the webhook answers, so every reply is in once the POST returned.
    return [fields.get("text", "") for method, fields in bot_api.calls
            if method == "sendMessage" and fields.get("chat_id") == str(chat_id)]


def test_the_same_update_delivered_twice_is_answered_once(bot_api, tmp_path) -> None:
    body = an_update(777001, "hello twice")
    with running(env(bot_api, tmp_path), tmp_path / "server.log") as (base, _):
        assert post(base, body) == 200
        assert post(base, body) == 200  # Telegram's re-delivery
        assert replies(bot_api, 777001) == ["You said: hello twice"]
        handled = requests.get(f"{base}/test/handled", timeout=10).json()
        assert [m["text"] for m in handled].count("hello twice") == 1
        # Another update with the same text is a new message, and answered.
        assert post(base, an_update(777001, "hello twice")) == 200
        assert len(replies(bot_api, 777001)) == 2


def test_a_redelivery_to_the_other_replica_is_answered_once_through_redis(bot_api,
                                                                          tmp_path) -> None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"Redis not reachable on 127.0.0.1:6379: {error}")
    body = an_update(777002, "hello replicas")
    with running(env(bot_api, tmp_path, REDIS_URL), tmp_path / "one.log") as (one, _), \
            running(env(bot_api, tmp_path, REDIS_URL), tmp_path / "two.log") as (two, _):
        assert post(one, body) == 200
        assert post(two, body) == 200  # re-delivered, and the proxy chose the other replica
        assert replies(bot_api, 777002) == ["You said: hello replicas"]
