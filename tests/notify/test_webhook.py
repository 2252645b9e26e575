"""The customs status webhook over real servers on loopback: two replicas of the `customs`
channel on one database, the fake Graph API receiving WhatsApp messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from bot.appdb import notifications as store
from bot.appdb.engine import session_scope
from bot.appdb.models import NotifySubscription
from bot.notify.events import SIGNATURE_HEADER, sign
from tests.channels.whatsapp_fakes import PHONE_NUMBER_ID, FakeGraphApi
from tests.conftest import ROOT, free_port
from tests.notify.conftest import REFERENCE, subscribe

SECRET = "test-customs-secret"
USER = "whatsapp:260971234567"


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    from bot import appdb

    url = f"sqlite:///{tmp_path_factory.mktemp('customs') / 'app.db'}"
    os.environ["CUSTOMS_DB_URL"] = url
    appdb.dispose_engines()
    appdb.init_db()
    yield url
    appdb.dispose_engines()
    os.environ.pop("CUSTOMS_DB_URL", None)


def start(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.notify.customs_server", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/webhooks/customs/", timeout=1).ok:
                return process, base
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(process.stderr.read().decode()[-3000:])
        time.sleep(0.2)


@pytest.fixture(scope="module")
def replicas(graph, database) -> Iterator[list[str]]:
    env = {**os.environ, "CUSTOMS_WEBHOOK_SECRET": SECRET, "CUSTOMS_DB_URL": database,
           "WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_APP_SECRET": "s",
           "WHATSAPP_ACCESS_TOKEN": "token", "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
           "WHATSAPP_API_URL": graph.url, "NOTIFY_RETRY_SECONDS": "1",
           "CUSTOMS_WEBHOOK_MAX_BODY_BYTES": "4096"}
    started = [start(env), start(env)]
    yield [base for _, base in started]
    for process, _ in started:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def clean(request) -> None:
    if "replicas" in request.fixturenames:
        request.getfixturevalue("graph").reset()
        with session_scope() as session:
            for table in ("notify_notifications", "customs_status_events",
                          "notify_subscriptions"):
                session.execute(sa.text(f"delete from {table}"))


def event(event_id: str = "evt-1", status: str = "released", reference: str = REFERENCE,
          changed_at: str = "2026-12-01T09:30:00Z") -> dict:
    return {"event_id": event_id, "reference": reference, "status": status,
            "changed_at": changed_at}


def post(base: str, payload: object, secret: str | None = SECRET,
         header: str | None = None) -> requests.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[SIGNATURE_HEADER] = header
    elif secret is not None:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    return requests.post(f"{base}/webhooks/customs/status-changes", data=body,
                         headers=headers, timeout=10)


def outside_window(recipient: str = USER) -> None:
    """The person's last message was 25 hours ago: WhatsApp only takes a template now."""
    with session_scope() as session:
        session.execute(sa.update(NotifySubscription)
                        .where(NotifySubscription.recipient == recipient)
                        .values(last_inbound_at=datetime.now(timezone.utc) - timedelta(hours=25)))


def settle(graph: FakeGraphApi, seconds: float = 2.5) -> list[dict]:
    """Wait long enough for any (wrong) second send, retry rounds included."""
    time.sleep(seconds)
    return graph.successful()


def test_a_signed_change_reaches_the_subscriber_once_as_a_template(replicas, graph) -> None:
    subscribe()
    outside_window()
    reply = post(replicas[0], {"events": [event()]})
    assert reply.status_code == 200
    assert reply.json() == {"received": 1, "notifications": 1,
                            "events": [{"event_id": "evt-1", "outcome": "recorded"}]}
    (message,) = graph.wait_for(lambda bodies: len(bodies) >= 1)
    assert message["to"] == "260971234567" and message["type"] == "template"
    template = message["template"]
    assert template["name"] == "declaration_status_update"
    assert template["language"] == {"code": "en"}
    params = [p["text"] for p in template["components"][0]["parameters"]]
    assert params[0] == REFERENCE and params[1] == "released" and params[3] == "1 December 2026"
    assert "release order" in params[2]
    # The same event again, to both replicas, and the same change under a new id: nothing.
    assert post(replicas[0], {"events": [event()]}).json()["events"][0]["outcome"] == "duplicate"
    assert post(replicas[1], {"events": [event()]}).json()["events"][0]["outcome"] == "duplicate"
    assert post(replicas[1], {"events": [event("evt-2")]}).json()["notifications"] == 0
    assert len(settle(graph)) == 1


def test_inside_the_24_hour_window_it_is_a_text_with_how_to_stop(replicas, graph) -> None:
    subscribe()
    assert post(replicas[1], {"events": [event(status="query")]}).status_code == 200
    (message,) = graph.wait_for(lambda bodies: len(bodies) >= 1)
    assert message["type"] == "text"
    body = message["text"]["body"]
    assert REFERENCE in body and "in query" in body and "stop notifications" in body
    assert "1002003004" not in body and "3004" not in body


def test_the_same_event_at_both_replicas_at_once_is_sent_once(replicas, graph) -> None:
    for n in range(5):
        subscribe(recipient=f"whatsapp:26097000000{n}")
        outside_window(f"whatsapp:26097000000{n}")
    payload = {"events": [event("evt-race", "paid")]}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda base: post(base, payload), replicas * 2))
    assert all(r.status_code == 200 for r in replies)
    assert sum(r.json()["notifications"] for r in replies) == 5
    assert sorted(b["to"] for b in settle(graph)) == [f"26097000000{n}" for n in range(5)]


@pytest.mark.parametrize("header", [None, "", "sha256=" + "0" * 64, "md5=abc", "sha256=zz"])
def test_unsigned_or_wrongly_signed_is_refused_and_records_nothing(replicas, graph,
                                                                    header) -> None:
    subscribe()
    reply = post(replicas[0], {"events": [event()]}, secret=None, header=header)
    assert reply.status_code == 403 and reply.json() == {"error": "forbidden"}
    other = post(replicas[0], {"events": [event()]}, secret="another-secret")
    assert other.status_code == 403
    assert settle(graph, 1.5) == [] and store.due() == []
    assert store.open_subscriptions()[0].last_status == "assessed"


def test_a_signature_of_another_body_is_refused(replicas) -> None:
    signed = json.dumps({"events": [event(status="paid")]}).encode()
    body = json.dumps({"events": [event(status="released")]}).encode()
    reply = requests.post(f"{replicas[0]}/webhooks/customs/status-changes", data=body,
                          headers={SIGNATURE_HEADER: sign(SECRET, signed)}, timeout=10)
    assert reply.status_code == 403


@pytest.mark.parametrize("payload, field", [
    (b"not json", "not JSON"),
    ([], "events"),
    ({"events": []}, "events"),
    ({"events": [event(status="lost")]}, "events[0].status"),
    ({"events": [event(reference="LSK 10452")]}, "events[0].reference"),
    ({"events": [event(changed_at="yesterday")]}, "events[0].changed_at"),
    ({"events": [event(changed_at="2026-12-01T09:30:00")]}, "events[0].changed_at"),
    ({"events": [event(changed_at="0001-01-01T00:00:00+05:00")]}, "events[0].changed_at"),
    ({"events": [event(event_id="")]}, "events[0].event_id"),
    ({"events": [event(), "x"]}, "events[1]"),
])
def test_a_malformed_event_is_a_400_json_error_and_nothing_is_recorded(replicas, graph,
                                                                        payload, field) -> None:
    subscribe()
    reply = post(replicas[0], payload)
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_event" and field in reply.json()["detail"]
    assert store.due() == [] and settle(graph, 0.5) == []


def test_an_unknown_reference_is_accepted_and_told_to_nobody(replicas, graph) -> None:
    subscribe()
    reply = post(replicas[0], {"events": [event(reference="2026 LSK C 999999")]})
    assert reply.status_code == 200
    assert reply.json()["events"] == [{"event_id": "evt-1", "outcome": "no_subscribers"}]
    assert settle(graph, 1.0) == []


def test_a_body_over_the_limit_is_413(replicas) -> None:
    events = [event(f"evt-{n}") for n in range(60)]
    reply = post(replicas[0], {"events": events})
    assert reply.status_code == 413 and reply.json()["error"] == "too_large"


def test_graph_api_down_is_retried_nothing_lost_nothing_twice(replicas, graph) -> None:
    subscribe()
    outside_window()
    # 3 failures per try (1 + 2 retries of the client) for the first two rounds.
    graph.statuses.extend([503] * 6)
    assert post(replicas[0], {"events": [event()]}).status_code == 200
    bodies = graph.wait_for(lambda b: len(b) >= 1, timeout=20)
    assert len(bodies) == 1
    assert len([r for r in graph.received if r["status"] == 503]) == 6
    assert len(settle(graph)) == 1
    with session_scope() as session:
        attempts = session.execute(sa.text("select attempts, state from notify_notifications")
                                   ).all()
    assert attempts == [(3, "sent")]


def test_after_stop_notifications_nothing_is_sent(replicas, graph) -> None:
    subscribe()
    assert store.stop(USER) == 1
    reply = post(replicas[0], {"events": [event()]})
    assert reply.json()["events"][0]["outcome"] == "no_subscribers"
    assert settle(graph, 1.5) == []


FAR_FUTURE = "2999-01-01T05:00:00Z"  # a typo or a broken clock in the customs system


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_event_from_the_future_is_refused_and_later_changes_still_reach_the_subscriber(
        replicas, graph) -> None:
    subscribe()
    reply = post(replicas[0], {"events": [event("evt-typo", "paid", changed_at=FAR_FUTURE)]})
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_event"
    detail = reply.json()["detail"]
    assert detail.startswith("events[0].changed_at:") and "evt-typo" in detail
    assert "future" in detail
    assert store.due() == [] and settle(graph, 0.5) == []
    assert store.open_subscriptions()[0].last_status == "assessed"
    # The real change that follows is told, with its own date.
    real = datetime.now(timezone.utc) - timedelta(hours=1)
    reply = post(replicas[1], {"events": [event("evt-real", "paid", changed_at=iso(real))]})
    assert reply.status_code == 200
    assert reply.json()["events"] == [{"event_id": "evt-real", "outcome": "recorded"}]
    (message,) = graph.wait_for(lambda bodies: len(bodies) >= 1)
    assert "2999" not in json.dumps(message)
    assert f"{real.day} {real:%B %Y}" in message["text"]["body"]


def test_one_event_from_the_future_refuses_the_whole_body(replicas, graph) -> None:
    subscribe()
    now = datetime.now(timezone.utc)
    good = event("evt-good", "paid", changed_at=iso(now - timedelta(minutes=10)))
    bad = event("evt-bad", "released", changed_at=iso(now + timedelta(days=1)))
    reply = post(replicas[0], {"events": [good, bad]})
    assert reply.status_code == 400
    assert reply.json()["detail"].startswith("events[1].changed_at:")
    assert "evt-bad" in reply.json()["detail"]
    assert store.due() == [] and settle(graph, 0.5) == []
    # All or none: the good event was not recorded, so sent again alone it is new.
    again = post(replicas[0], {"events": [good]})
    assert again.json()["events"] == [{"event_id": "evt-good", "outcome": "recorded"}]


def test_a_clock_a_little_ahead_is_tolerated(replicas, graph) -> None:
    subscribe()
    ahead = datetime.now(timezone.utc) + timedelta(minutes=1)
    reply = post(replicas[0], {"events": [event("evt-ahead", "paid", changed_at=iso(ahead))]})
    assert reply.status_code == 200
    assert reply.json()["events"] == [{"event_id": "evt-ahead", "outcome": "recorded"}]
