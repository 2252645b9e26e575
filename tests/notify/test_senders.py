"""The senders and the webhook body, without servers: WhatsApp text or template, Telegram's
Bot API call, the signature and the event parser, the channel in the credentials."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.notify.base import Notice
from bot.notify.events import InvalidEvents, parse_events, sign, verify
from bot.notify.whatsapp import WhatsAppSender
from bot.settings.credentials import CUSTOMS_CHANNEL, build_credentials
from bot.settings.errors import SettingError
from bot.settings.notify import TemplateSettings, template_settings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
NOTICE = Notice("Update on declaration 2026 LSK C 10452: released.",
                {"reference": "2026 LSK C 10452", "status": "released", "next": "N.",
                 "action": "A.", "date": "1 December 2026"})


class Client:
    def __init__(self) -> None:
        self.payloads: list[dict] = []

    def deliver(self, payload: dict) -> tuple[str, str]:
        self.payloads.append(payload)
        return "sent", ""


def test_whatsapp_is_text_within_24_hours_and_the_template_after() -> None:
    sender = WhatsAppSender(Client())
    inside = sender.payload("whatsapp:260971234567", NOTICE, NOW - timedelta(hours=23), NOW)
    assert inside["type"] == "text" and inside["to"] == "260971234567"
    assert inside["text"]["body"] == NOTICE.text
    outside = sender.payload("whatsapp:260971234567", NOTICE, NOW - timedelta(hours=24), NOW)
    assert outside["type"] == "template"
    assert outside["template"] == {
        "name": "declaration_status_update", "language": {"code": "en"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": v}
            for v in ("2026 LSK C 10452", "released", "A.", "1 December 2026")]}]}


def test_the_template_name_language_and_parameter_order_are_settings() -> None:
    template = template_settings({"WHATSAPP_NOTIFY_TEMPLATE": "customs_update",
                                  "WHATSAPP_NOTIFY_TEMPLATE_LANGUAGE": "en_GB",
                                  "WHATSAPP_NOTIFY_TEMPLATE_PARAMS": "date, reference,status"})
    assert template == TemplateSettings("customs_update", "en_GB",
                                        ("date", "reference", "status"))
    client = Client()
    delivery = WhatsAppSender(client, template).send("whatsapp:1", NOTICE, NOW - timedelta(days=2))
    assert delivery.outcome == "sent" and delivery.via == "template"
    sent = client.payloads[0]["template"]
    assert sent["name"] == "customs_update" and sent["language"] == {"code": "en_GB"}
    assert [p["text"] for p in sent["components"][0]["parameters"]] == [
        "1 December 2026", "2026 LSK C 10452", "released"]
    with pytest.raises(SettingError, match="unknown field"):
        template_settings({"WHATSAPP_NOTIFY_TEMPLATE_PARAMS": "reference,amount"})


def test_telegram_sends_through_the_bot_api(monkeypatch) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from bot.notify.telegram import TelegramSender

    got: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((self.path, json.loads(body)))
            data = b'{"ok": true, "result": {}}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setenv("TELEGRAM_ACCESS_TOKEN", "123:abc")
        monkeypatch.setenv("TELEGRAM_API_URL", url)
        sender = TelegramSender.from_env()
        assert sender.send("telegram:4242", NOTICE, NOW).outcome == "sent"
        assert got == [("/bot123:abc/sendMessage", {"chat_id": "4242", "text": NOTICE.text})]
    finally:
        server.shutdown()
        server.server_close()
    down = TelegramSender("123:abc", url, timeout=1, retries=0).send("telegram:1", NOTICE, NOW)
    assert down.outcome == "failed" and "abc" not in down.error


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"events": []}'
    good = sign("s3cret", body)
    assert good.startswith("sha256=") and len(good) == 71
    assert verify("s3cret", body, good) and verify("s3cret", body, good.upper().replace(
        "SHA256=", "sha256="))
    assert not verify("s3cret", body + b" ", good)
    assert not verify("other", body, good)
    assert not verify("", body, sign("", body))
    assert not verify("s3cret", body, None) and not verify("s3cret", body, good[7:])


def test_events_are_parsed_to_canonical_references() -> None:
    body = json.dumps({"events": [{"event_id": "e-1", "reference": "LSK/2026/C/10452",
                                   "status": "paid", "changed_at": "2026-12-01T09:30:00+02:00"}]})
    (event,) = parse_events(body.encode())
    assert event.reference == "2026 LSK C 10452" and event.status == "paid"
    assert event.changed_at.utcoffset() == timedelta(hours=2)
    with pytest.raises(InvalidEvents, match="at most 2 events"):
        parse_events(json.dumps({"events": [{}] * 3}).encode(), max_events=2)


def test_the_customs_channel_is_on_when_its_secret_is_set() -> None:
    assert CUSTOMS_CHANNEL not in build_credentials({})
    assert build_credentials({"CUSTOMS_WEBHOOK_SECRET": " s "})[CUSTOMS_CHANNEL] == {"secret": "s"}
