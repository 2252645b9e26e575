"""Issue 14 end to end, over the real servers: the trained model behind the WhatsApp channel,
the action server, the customs status webhook and the poller, the fake Graph API on loopback.

Lookup over WhatsApp -> "yes" to the offer -> a signed status change -> one template message
with the right parameters; the same through `python -m bot notify poll` with the SQL backend;
a duplicate webhook and a second poller run send nothing more; after "stop notifications"
nothing is sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from bot.notify.events import SIGNATURE_HEADER
from bot.notify.events import sign as sign_event
from tests.channels.whatsapp_fakes import (
    PHONE_NUMBER_ID,
    USER,
    FakeGraphApi,
    button_reply,
    sign,
    text_message,
)
from tests.conftest import ROOT

APP_SECRET = "e2e-app-secret"
CUSTOMS_SECRET = "e2e-customs-secret"
WIDGET = "web-" + "e2e0" * 8  # the widget's own form (web/widget.js newSenderId)


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stack(trained_model, tmp_path_factory, graph):
    from bot.ops import launcher

    overrides = {"WHATSAPP_VERIFY_TOKEN": "verify", "WHATSAPP_APP_SECRET": APP_SECRET,
                 "WHATSAPP_ACCESS_TOKEN": "token", "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
                 "WHATSAPP_API_URL": graph.url, "CUSTOMS_WEBHOOK_SECRET": CUSTOMS_SECRET,
                 "DECLARATION_BACKEND": "sql", "NOTIFY_RETRY_SECONDS": "1"}
    with launcher.scratch_stack(trained_model, tmp_path_factory.mktemp("notify-e2e"),
                                overrides=overrides, web=False) as running:
        yield running


@pytest.fixture(scope="module")
def replica(stack, tmp_path_factory):
    """A second Rasa server on the same databases (what a second replica behind the proxy is)."""
    from bot.ops import launcher
    from tests.conftest import free_port, wait_healthy

    tmp = tmp_path_factory.mktemp("notify-replica")
    other = launcher.Stack(model=stack.model, env={**stack.env, "RASA_PORT": str(free_port())},
                           log_dir=tmp / "log", run_dir=tmp / "run")
    other.start_rasa()
    try:
        wait_healthy(other.procs["rasa"], f"{other.rasa_url}/webhooks/customs/",
                     tmp / "log" / "rasa.log", timeout=180)
        yield other
    finally:
        other.stop()


def say(stack, graph: FakeGraphApi, payload: dict, replies: int = 1) -> list[dict]:
    """One WhatsApp message in; the bot's new Graph API messages out."""
    before = len(graph.successful())
    body = json.dumps(payload).encode()
    reply = requests.post(f"{stack.rasa_url}/webhooks/whatsapp/webhook", data=body, timeout=10,
                          headers={"Content-Type": "application/json",
                                   "X-Hub-Signature-256": sign(body, APP_SECRET)})
    assert reply.status_code == 200
    return graph.wait_for(lambda b: len(b) >= before + replies, timeout=60)[before:]


def text_of(message: dict) -> str:
    if message["type"] == "text":
        return message["text"]["body"]
    if message["type"] == "interactive":
        return message["interactive"]["body"]["text"]
    return json.dumps(message)


def status_change(stack, event_id: str, reference: str, status: str) -> requests.Response:
    body = json.dumps({"events": [{"event_id": event_id, "reference": reference,
                                   "status": status,
                                   "changed_at": "2026-12-01T09:30:00Z"}]}).encode()
    return requests.post(f"{stack.rasa_url}/webhooks/customs/status-changes", data=body,
                         headers={SIGNATURE_HEADER: sign_event(CUSTOMS_SECRET, body)},
                         timeout=10)


def database(stack) -> sa.engine.Engine:
    return sa.create_engine(stack.env["CUSTOMS_DB_URL"], future=True)


def last_message_25_hours_ago(stack) -> None:
    with database(stack).begin() as conn:
        conn.execute(sa.text("update notify_subscriptions set last_inbound_at = :t"),
                     {"t": datetime.now(timezone.utc) - timedelta(hours=25)})


def poll(stack) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", "notify", "poll"], cwd=ROOT,
                          env=stack.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def template_params(message: dict) -> list[str]:
    assert message["type"] == "template", message
    return [p["text"] for p in message["template"]["components"][0]["parameters"]]


def test_lookup_opt_in_webhook_poller_and_stop_over_whatsapp(stack, replica, graph) -> None:
    assert "reference" in text_of(say(stack, graph, text_message("wamid.n1",
                                                                  "where is my declaration"))[0])
    say(stack, graph, text_message("wamid.n2", "2026 LSK C 10452"))
    answer, offer = say(stack, graph, text_message("wamid.n3", "1002003004"), replies=2)
    assert "assessed" in text_of(answer) and "1002003004" not in text_of(answer)
    assert "tell you here when declaration 2026 LSK C 10452 changes" in text_of(offer)
    assert offer["type"] == "interactive"
    buttons = offer["interactive"]["action"]["buttons"]
    assert buttons[0]["reply"]["title"] == "Notify me of changes"
    (done,) = say(stack, graph, text_message("wamid.n4", "yes"))
    assert "I'll tell you here when declaration 2026 LSK C 10452 changes" in text_of(done)

    # Pushed: a signed status change, outside the 24-hour window -> one template.
    last_message_25_hours_ago(stack)
    before = len(graph.successful())
    reply = status_change(stack, "evt-paid", "2026 LSK C 10452", "paid")
    assert reply.status_code == 200 and reply.json()["notifications"] == 1
    (note,) = graph.wait_for(lambda b: len(b) > before, timeout=20)[before:]
    assert note["to"] == USER and note["template"]["name"] == "declaration_status_update"
    assert template_params(note)[:2] == ["2026 LSK C 10452", "paid"]
    assert template_params(note)[3] == "1 December 2026"
    # The same event again, at this server and at the second replica; the same change under
    # another id there: nothing more.
    for server in (stack, replica):
        assert status_change(server, "evt-paid", "2026 LSK C 10452", "paid").json()[
            "events"] == [{"event_id": "evt-paid", "outcome": "duplicate"}]
    assert status_change(replica, "evt-paid-2", "2026 LSK C 10452", "paid").json()[
        "events"] == [{"event_id": "evt-paid-2", "outcome": "no_change"}]
    time.sleep(2.5)  # both servers' retry rounds
    assert len(graph.successful()) == before + 1

    # Polled: the customs database says released -> one template; a second run, nothing.
    with database(stack).begin() as conn:
        conn.execute(sa.text("update declarations set status = 'released', last_changed = :t "
                             "where reference = '2026 LSK C 10452'"),
                     {"t": datetime(2026, 12, 1, 11, 0, tzinfo=timezone.utc)})
    assert "1 sent" in poll(stack)
    released = graph.successful()[-1]
    assert template_params(released)[:2] == ["2026 LSK C 10452", "released"]
    count = len(graph.successful())
    assert "notifications: none" in poll(stack)

    # A second declaration, opted in by the button; "stop notifications"; then nothing.
    say(stack, graph, text_message("wamid.n5", "check 2026 KZL C 3310"))
    answer, offer = say(stack, graph, text_message("wamid.n6", "2003004005"), replies=2)
    assert "red lane" in text_of(answer).lower()
    (done,) = say(stack, graph, button_reply("wamid.n7", "/notify_subscribe",
                                             "Notify me of changes"))
    assert "2026 KZL C 3310" in text_of(done)
    (stopped,) = say(stack, graph, text_message("wamid.n8", "stop notifications"))
    assert "stopped the updates (1 declaration(s))" in text_of(stopped)
    count = len(graph.successful())
    assert status_change(stack, "evt-3310", "2026 KZL C 3310", "released").json()[
        "notifications"] == 0
    time.sleep(2.5)  # a retry round of the Rasa server
    assert len(graph.successful()) == count


def notifications(stack, sender: str, after: str = "0", **headers) -> requests.Response:
    return requests.get(f"{stack.rasa_url}/webhooks/rest/notifications",
                        params={"sender": sender, "after": after}, headers=headers, timeout=10)


def test_the_widget_endpoint_serves_only_that_conversations_notifications(stack) -> None:
    from bot.ops.launcher import rest_send

    rest = f"{stack.rasa_url}/webhooks/rest/webhook"
    rest_send(rest, WIDGET, "check 2026 NAK C 77")
    offer = rest_send(rest, WIDGET, "2003004005")[-1]
    assert offer["buttons"][0]["payload"] == "/notify_subscribe"
    assert "I'll tell you here" in rest_send(rest, WIDGET, "/notify_subscribe")[0]["text"]
    assert notifications(stack, WIDGET).json() == {"notifications": []}
    assert status_change(stack, "evt-nak", "2026 NAK C 77", "paid").json()["notifications"] == 1
    deadline = time.monotonic() + 10
    while not (found := notifications(stack, WIDGET).json()["notifications"]):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    (note,) = found
    assert note["text"].startswith("Update on declaration 2026 NAK C 77: paid.")
    assert "stop notifications" in note["text"] and "2003004005" not in note["text"]
    assert notifications(stack, WIDGET, str(note["id"])).json() == {"notifications": []}
    assert notifications(stack, "web-" + "0" * 32).json() == {"notifications": []}
    # a REST sender anyone could guess is offered nothing and reads nothing
    guessed = notifications(stack, "web-someone-else")
    assert guessed.status_code == 404 and guessed.json()["error"] == "not_found"
    assert notifications(stack, "1").status_code == 404
    rest_send(rest, "1", "check 2026 NAK C 77")
    assert all(b["payload"] != "/notify_subscribe"
               for m in rest_send(rest, "1", "2003004005") for b in m.get("buttons", []))
    origin = stack.env["WEB_ALLOWED_ORIGINS"].split()[0]
    allowed = notifications(stack, WIDGET, Origin=origin)
    assert allowed.headers.get("Access-Control-Allow-Origin") == origin
    assert allowed.headers.get("Cache-Control") == "no-store"


@pytest.mark.parametrize("sender, after", [("whatsapp:260971234567", "0"), ("", "0"),
                                           ("web-" + "x" * 100, "0"), ("a b", "0"),
                                           ("web-1", "-1"), ("web-1", "abc"),
                                           ("web-1", "9" * 20)])
def test_the_widget_endpoint_refuses_bad_input_with_json(stack, sender, after) -> None:
    reply = notifications(stack, sender, after)
    assert reply.status_code == 400
    assert reply.json()["error"] in {"invalid_sender", "invalid_after"}
