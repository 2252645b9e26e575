"""The Telegram door of a real assistant (trained model, action server, Rasa) against a fake Bot
API on loopback (bot/channels/telegram.py).

The fake starts switched off: with Telegram's API unreachable the assistant must start and serve
REST; an update without the webhook's secret header gets 403 and runs nothing; once the API is
back, the webhook is set in the background with the secret, and a signed update is answered.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from bot.channels.telegram import SECRET_HEADER, derived_secret
from tests.conftest import free_port

pytestmark = pytest.mark.conversation

BOT_NAME = "zax_test_bot"
WEBHOOK_URL = "https://bot.example/webhooks/telegram/webhook"


class FakeBotApi:
    """Telegram's Bot API as aiogram calls it: POST /bot<token>/<method>, form-encoded."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    self._reply(401, {"ok": False, "error_code": 401,
                                      "description": "Unauthorized"})
                    return
                method = self.path[len(prefix):]
                fields = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                fake.calls.append((method, fields))
                if method == "sendMessage":
                    result: object = {"message_id": len(fake.calls), "date": int(time.time()),
                                      "chat": {"id": int(fields["chat_id"]), "type": "private"},
                                      "text": fields.get("text", "")}
                elif method == "getMe":
                    result = {"id": 1, "is_bot": True, "first_name": "ZAX",
                              "username": BOT_NAME}
                else:
                    result = True
                self._reply(200, {"ok": True, "result": result})

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @classmethod
    def serving(cls, token: str) -> Iterator[FakeBotApi]:
        """A started fake on a free port for a module-scoped fixture, stopped after."""
        api = cls(free_port(), token)
        api.start()
        yield api
        api.stop()

    def wait_for(self, method: str, timeout: float = 30) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [fields for name, fields in self.calls if name == method]
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"no {method} call within {timeout}s: {self.calls}")


@pytest.fixture(scope="module")
def telegram(trained_model, tmp_path_factory):
    """(stack, fake Bot API not yet started, bot token)."""
    from bot.ops import launcher

    tmp = tmp_path_factory.mktemp("telegram")
    token = f"{secrets.randbelow(10**9) + 10**8}:{secrets.token_urlsafe(26)}"
    api = FakeBotApi(free_port(), token)
    overrides = {"TELEGRAM_ACCESS_TOKEN": token, "TELEGRAM_BOT_NAME": BOT_NAME,
                 "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL,
                 "TELEGRAM_API_URL": f"http://127.0.0.1:{api.port}",
                 "TELEGRAM_WEBHOOK_RETRY_MAX_SECONDS": "2"}
    try:
        with launcher.scratch_stack(trained_model, tmp, overrides=overrides, web=False) as stack:
            yield stack, api, token, tmp
    finally:
        api.stop()


def update(chat_id: int, text: str) -> bytes:
    return json.dumps({"update_id": secrets.randbelow(10**6), "message": {
        "message_id": 7, "date": int(time.time()), "text": text,
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Mary"}}}).encode()


def post_update(stack, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/telegram/webhook", data=body,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def conversations(tmp) -> set[str]:
    db = sqlite3.connect(tmp / "tracker.db")
    try:
        return {row[0] for row in db.execute("select distinct sender_id from events")}
    finally:
        db.close()


def test_starts_and_serves_rest_while_telegrams_api_is_unreachable(telegram) -> None:
    from bot.ops.launcher import rest_send

    stack, _, _, _ = telegram
    assert "rasa" not in stack.dead()
    replies = rest_send(f"{stack.rasa_url}/webhooks/rest/webhook", "tg-rest-1", "hello")
    assert replies and replies[0].get("text")
    assert "could not set the Telegram webhook" in stack.log_tail("rasa", 400)


def test_an_update_without_the_secret_header_gets_403_and_runs_nothing(telegram) -> None:
    stack, _, token, tmp = telegram
    assert post_update(stack, update(555001, "hello"), None) == 403
    assert post_update(stack, update(555001, "hello"), "wrong") == 403
    assert post_update(stack, update(555001, "hello"), token) == 403  # the bot token is not it
    assert not {"555001", "telegram:555001"} & conversations(tmp)


def test_the_webhook_is_set_with_its_secret_once_the_api_is_back(telegram) -> None:
    stack, api, token, _ = telegram
    api.start()
    [call, *_] = api.wait_for("setWebhook", timeout=30)
    assert call == {"url": WEBHOOK_URL, "secret_token": derived_secret(token)}
    assert "rasa" not in stack.dead()


def test_an_update_with_the_secret_is_answered_through_the_bot_api(telegram) -> None:
    stack, api, token, tmp = telegram
    if api.server is None:
        api.start()
    assert post_update(stack, update(555002, "hello"), derived_secret(token)) == 200
    sent = api.wait_for("sendMessage")
    assert any(fields["chat_id"] == "555002" and fields["text"] for fields in sent)
    # The conversation is kept in Telegram's namespace (bot/channels/identity); Telegram gets
    # the bare chat id.
    assert "telegram:555002" in conversations(tmp)
