"""Each setting in one place: the notification senders use the channels' settings (the
WhatsApp channel's own client inside the Rasa server), variables are read where they are
declared, the last-resort sentence exists once, and the compose file delivers what the
assistant offers."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import ROOT


@pytest.fixture()
def no_channel_env(monkeypatch):
    for name in ("WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_ACCESS_TOKEN",
                 "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_API_URL", "TELEGRAM_ACCESS_TOKEN",
                 "TELEGRAM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    import bot.channels.whatsapp.webhook as webhook

    monkeypatch.setattr(webhook, "_active_client", None)


def test_whatsapp_notices_use_the_channels_configured_client(no_channel_env) -> None:
    """Settings given in credentials.yml only (no variables): the channel works, so its
    notifications must too, through the same client."""
    from bot.channels.whatsapp import WhatsAppInput
    from bot.notify.whatsapp import WhatsAppSender

    assert WhatsAppSender.from_env() is None  # nothing configured anywhere
    channel = WhatsAppInput.from_credentials({
        "verify_token": "v", "app_secret": "s", "access_token": "from-credentials",
        "phone_number_id": "4242", "api_url": "http://127.0.0.1:9/graph"})
    sender = WhatsAppSender.from_env()
    assert sender is not None and sender.client is channel.client
    assert sender.client.url == "http://127.0.0.1:9/graph/4242/messages"


def test_the_poller_builds_its_whatsapp_client_from_the_channels_variables(
        no_channel_env, monkeypatch) -> None:
    from bot.notify.whatsapp import WhatsAppSender

    for name, value in (("WHATSAPP_VERIFY_TOKEN", "v"), ("WHATSAPP_APP_SECRET", "s"),
                        ("WHATSAPP_ACCESS_TOKEN", "t"), ("WHATSAPP_PHONE_NUMBER_ID", "77"),
                        ("WHATSAPP_API_URL", "http://127.0.0.1:9/v")):
        monkeypatch.setenv(name, value)
    assert WhatsAppSender.from_env().client.url == "http://127.0.0.1:9/v/77/messages"


def test_telegram_notices_read_the_declared_settings(no_channel_env, monkeypatch) -> None:
    from bot.notify.telegram import TelegramSender

    assert TelegramSender.from_env() is None
    monkeypatch.setenv("TELEGRAM_ACCESS_TOKEN", " 1:abc ")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:9/tg/")
    assert TelegramSender.from_env()._url == "http://127.0.0.1:9/tg/bot1:abc/sendMessage"


def test_channel_variables_are_read_only_where_they_are_declared() -> None:
    """bot/settings/credentials.py declares the WhatsApp and Telegram variables; the
    notification senders go through it instead of reading the environment themselves."""
    from bot.settings.credentials import (
        TELEGRAM_OPTIONAL,
        TELEGRAM_REQUIRED,
        WHATSAPP_OPTIONAL,
        WHATSAPP_REQUIRED,
    )

    names = {*TELEGRAM_REQUIRED.values(), *TELEGRAM_OPTIONAL.values(),
             *WHATSAPP_REQUIRED.values(), *WHATSAPP_OPTIONAL.values()}
    for path in sorted((ROOT / "bot" / "notify").glob("*.py")):
        code = path.read_text("utf-8")
        read = re.findall(r"environ(?:\.get)?\(\s*[\"']([A-Z_]+)|environ\[[\"']([A-Z_]+)",
                          code)
        assert not names & {a or b for a, b in read}, path.name


def test_the_last_resort_sentence_exists_once() -> None:
    from bot.content.messages import LAST_RESORT

    files = [p for p in (*ROOT.glob("actions/**/*.py"), *ROOT.glob("bot/**/*.py"))
             if LAST_RESORT in p.read_text("utf-8")]
    assert [p.relative_to(ROOT).as_posix() for p in files] == ["bot/content/messages.py"]


def test_compose_delivers_what_the_assistant_offers() -> None:
    services = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text("utf-8"))[
        "services"]
    for name in ("rasa1", "rasa2"):
        assert services[name]["environment"]["CUSTOMS_WEBHOOK_SECRET"] == \
            "${CUSTOMS_WEBHOOK_SECRET:-}"
    notify = services["notify"]
    assert notify["command"] == ["python", "-m", "bot", "notify", "poll", "--every", "5m"]
    env = notify["environment"]
    assert env["CUSTOMS_DB_URL"] == services["actions"]["environment"]["CUSTOMS_DB_URL"]
    assert env["PRIVACY_HASH_KEY"] == services["rasa1"]["environment"]["PRIVACY_HASH_KEY"]
    assert {"WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID",
            "TELEGRAM_ACCESS_TOKEN"} <= set(env)
    assert "backend" in notify["networks"] and "postgres" in notify["depends_on"]
    assert services["actions"]["environment"]["NOTIFY_ENABLED"] == "${NOTIFY_ENABLED:-on}"
    deployment = (ROOT / "docs" / "deployment.md").read_text("utf-8")
    assert "**Notifications**" in deployment and "NOTIFY_ENABLED" in deployment
