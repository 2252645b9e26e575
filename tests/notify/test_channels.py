"""The channels' side of notifications over a real server on loopback (no trained model: the
test server's stand-in agent echoes): an inbound WhatsApp or Telegram message restarts the
24-hour window of that person's subscriptions, and a database that is down costs the turn
nothing; the widget's notifications are served only to the widget's unguessable ids."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from bot.appdb import notifications as store
from bot.appdb.engine import session_scope
from bot.appdb.models import NotifySubscription
from bot.channels.telegram import SECRET_HEADER, derived_secret
from bot.notify.events import SIGNATURE_HEADER, sign
from tests.channels.channels_server import running
from tests.channels.test_telegram import FakeBotApi, update
from tests.channels.whatsapp_fakes import PHONE_NUMBER_ID, FakeGraphApi, text_message
from tests.channels.whatsapp_fakes import sign as sign_whatsapp
from tests.notify.conftest import REFERENCE, subscribe

APP_SECRET = "notify-channels-app-secret"
CUSTOMS_SECRET = "notify-channels-customs-secret"
TOKEN = "123456789:notify-channels-token"
WHATSAPP_USER = "whatsapp:260971234567"  # whatsapp_fakes' USER, as a conversation id
WIDGET = "web-" + "0f1e2d3c4b5a6978" * 2
LONG_AGO = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    yield from FakeBotApi.serving(TOKEN)


def channel_env(graph: FakeGraphApi, bot_api: FakeBotApi, db_url: str) -> dict[str, str]:
    return {"CUSTOMS_DB_URL": db_url, "WHATSAPP_VERIFY_TOKEN": "v",
            "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_ACCESS_TOKEN": "token",
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID, "WHATSAPP_API_URL": graph.url,
            "WHATSAPP_DEDUP_REDIS_URL": "", "TELEGRAM_ACCESS_TOKEN": TOKEN,
            "TELEGRAM_API_URL": f"http://127.0.0.1:{bot_api.port}",
            "CUSTOMS_WEBHOOK_SECRET": CUSTOMS_SECRET, "NOTIFY_RETRY_SECONDS": "1"}


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Iterator[str]:
    import os

    from bot import appdb

    url = f"sqlite:///{tmp_path_factory.mktemp('notify-channels') / 'app.db'}"
    before = os.environ.get("CUSTOMS_DB_URL")
    os.environ["CUSTOMS_DB_URL"] = url
    appdb.dispose_engines()
    appdb.init_db()
    yield url
    appdb.dispose_engines()
    if before is None:
        os.environ.pop("CUSTOMS_DB_URL", None)
    else:
        os.environ["CUSTOMS_DB_URL"] = before


@pytest.fixture(scope="module")
def server(graph, bot_api, database, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("notify-channels-log") / "server.log"
    with running(channel_env(graph, bot_api, database), log) as (base, _):
        yield base


def last_inbound(recipient: str) -> datetime:
    with session_scope() as session:
        return store.aware(session.execute(sa.select(NotifySubscription.last_inbound_at).where(
            NotifySubscription.recipient == recipient)).scalar_one())


def wrote_long_ago(recipient: str) -> None:
    with session_scope() as session:
        session.execute(sa.update(NotifySubscription).where(
            NotifySubscription.recipient == recipient).values(last_inbound_at=LONG_AGO))


def wait_until_recent(recipient: str, started: datetime) -> datetime:
    deadline = time.monotonic() + 10
    while (seen := last_inbound(recipient)) < started:
        assert time.monotonic() < deadline, f"last_inbound_at still {seen}"
        time.sleep(0.1)
    return seen


def post_whatsapp(base: str, message_id: str, text: str) -> requests.Response:
    body = json.dumps(text_message(message_id, text)).encode()
    return requests.post(f"{base}/webhooks/whatsapp/webhook", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign_whatsapp(body, APP_SECRET)})


def test_a_whatsapp_message_restarts_the_window_so_the_next_notice_is_text(server, graph):
    subscribe(recipient=WHATSAPP_USER, reference="2026 KZL C 3310")
    wrote_long_ago(WHATSAPP_USER)
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert post_whatsapp(server, f"wamid.touch.{time.monotonic_ns()}", "hello").status_code == 200
    graph.wait_for(lambda bodies: any("You said: hello" in json.dumps(b) for b in bodies))
    wait_until_recent(WHATSAPP_USER, started)
    graph.reset()
    body = json.dumps({"events": [{"event_id": "evt-touch", "reference": "2026 KZL C 3310",
                                   "status": "paid",
                                   "changed_at": "2026-12-01T09:30:00Z"}]}).encode()
    answer = requests.post(f"{server}/webhooks/customs/status-changes", data=body, timeout=10,
                           headers={SIGNATURE_HEADER: sign(CUSTOMS_SECRET, body)})
    assert answer.json()["notifications"] == 1
    (message,) = graph.wait_for(lambda bodies: any(b.get("to") == "260971234567"
                                                   for b in bodies))
    assert message["type"] == "text"  # inside the window: no template


def test_a_telegram_message_restarts_the_window(server):
    subscribe(recipient="telegram:4242", channel="telegram")
    wrote_long_ago("telegram:4242")
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    answer = requests.post(f"{server}/webhooks/telegram/webhook", data=update(4242, "hi"),
                           timeout=30, headers={"Content-Type": "application/json",
                                                SECRET_HEADER: derived_secret(TOKEN)})
    assert answer.status_code == 200
    wait_until_recent("telegram:4242", started)


def test_with_the_app_database_down_the_message_is_still_answered(graph, bot_api,
                                                                   tmp_path) -> None:
    env = channel_env(graph, bot_api, "postgresql://nobody@127.0.0.1:9/none")
    env.pop("CUSTOMS_WEBHOOK_SECRET")
    graph.reset()
    with running(env, tmp_path / "server.log") as (base, _):
        assert post_whatsapp(base, f"wamid.down.{time.monotonic_ns()}", "still").status_code \
            == 200
        graph.wait_for(lambda bodies: any("You said: still" in json.dumps(b) for b in bodies))
    assert "last message time of a conversation not recorded" in (
        tmp_path / "server.log").read_text()


def test_note_inbound_never_raises_and_logs_when_the_database_is_down(monkeypatch, caplog):
    from bot import appdb
    from bot.channels import inbound

    monkeypatch.setenv("CUSTOMS_DB_URL", "postgresql://nobody@127.0.0.1:9/none")
    appdb.dispose_engines()
    with caplog.at_level(logging.WARNING, logger="bot.channels.inbound"):
        inbound.note_inbound("whatsapp:260970000042")
        inbound._worker.submit(lambda: None).result(timeout=30)  # the update has run
    assert "not recorded (OperationalError)" in caplog.text
    assert "whatsapp:260970000042" not in inbound._last  # tried again at the next message
    appdb.dispose_engines()


def notifications(base: str, sender: str) -> requests.Response:
    return requests.get(f"{base}/webhooks/rest/notifications",
                        params={"sender": sender, "after": "0"}, timeout=10)


@pytest.mark.parametrize("sender", ["1", "web-1", "web-e2e-1", "web-" + "ab" * 15,
                                    WIDGET.upper()])
def test_a_guessable_sender_has_no_web_notifications(server, sender) -> None:
    subscribe(recipient=sender, channel="web")  # even if one were recorded somehow
    store.record_change(REFERENCE, "query", datetime.now(timezone.utc), "webhook",
                        f"evt-guess-{sender}")
    from bot.notify.outbox import Notifier

    Notifier.from_env().deliver_due()
    assert store.inbox(sender)  # it is there ...
    reply = notifications(server, sender)  # ... and not served
    assert reply.status_code == 404
    assert reply.json()["error"] == "not_found"


def test_the_widget_id_gets_its_notifications(server) -> None:
    subscribe(recipient=WIDGET, channel="web", reference="2026 NAK C 77")
    store.record_change("2026 NAK C 77", "paid", datetime.now(timezone.utc), "webhook",
                        "evt-widget")
    from bot.notify.outbox import Notifier

    Notifier.from_env().deliver_due()
    reply = notifications(server, WIDGET)
    assert reply.status_code == 200
    (note,) = reply.json()["notifications"]
    assert note["text"].startswith("Update on declaration 2026 NAK C 77")
