"""Rasa's HTTP API (`/conversations/...`, `/model/...`, `/status`) is for operators: off unless
RASA_API_TOKEN is set (bot/ops/launcher.py), and then only with the token."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.conversation


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_without_rasa_api_token_the_api_is_not_enabled(bot_server):
    assert "RASA_API_TOKEN" not in bot_server.env
    bot_server.send("api-off", "hello")
    for path in ("/conversations/api-off/tracker", "/status", "/domain"):
        status, _ = get(f"{bot_server.rasa_url}{path}")
        assert status == 404, path
        status, _ = get(f"{bot_server.rasa_url}{path}?token=anything")
        assert status == 404, path


def test_with_rasa_api_token_only_the_token_opens_it(trained_model, tmp_path):
    from bot.ops import launcher

    token = secrets.token_urlsafe(24)
    with launcher.scratch_stack(trained_model, tmp_path, web=False,
                                overrides={"RASA_API_TOKEN": token}) as stack:
        base = stack.rasa_url
        launcher.rest_send(f"{base}/webhooks/rest/webhook", "api-on", "hello")
        tracker = f"{base}/conversations/api-on/tracker"
        for url in (tracker, f"{tracker}?token=wrong", f"{tracker}?token=",
                    f"{base}/status", f"{base}/domain?token={token[:-1]}"):
            status, _ = get(url)
            assert status in (401, 403), url
        status, body = get(f"{tracker}?token={token}")
        assert status == 200
        assert json.loads(body)["sender_id"] == "api-on"
        status, _ = get(f"{base}/status?token={token}")
        assert status == 200
