"""`python -m bot notify poll` and `notify list` as operators run them, against the SQL status
backend and the fake Graph API on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.appdb import notifications as store
from bot.appdb.engine import session_scope
from bot.appdb.models import Declaration
from tests.channels.whatsapp_fakes import PHONE_NUMBER_ID, FakeGraphApi
from tests.conftest import ROOT
from tests.notify.conftest import REFERENCE, subscribe
from tests.notify.test_webhook import outside_window


@pytest.fixture()
def graph() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi().start()
    yield fake
    fake.stop()


@pytest.fixture()
def env(tmp_path, monkeypatch, graph) -> dict[str, str]:
    from bot import appdb

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("CUSTOMS_DB_URL", url)
    appdb.dispose_engines()
    values = {**os.environ, "CUSTOMS_DB_URL": url, "DECLARATION_BACKEND": "sql",
              "WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_APP_SECRET": "s",
              "WHATSAPP_ACCESS_TOKEN": "token", "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
              "WHATSAPP_API_URL": graph.url, "NOTIFY_POLL_SECONDS": "300"}
    subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=ROOT, env=values,
                   check=True, capture_output=True)
    yield values
    appdb.dispose_engines()


def bot(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", "notify", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def change(status: str) -> None:
    with session_scope() as session:
        session.execute(sa.update(Declaration).where(Declaration.reference == REFERENCE)
                        .values(status=status, last_changed=datetime.now(timezone.utc)))


def test_the_poller_tells_a_change_once_however_often_it_runs(env, graph) -> None:
    subscribe(changed=datetime(2026, 11, 26, 9, 40, tzinfo=timezone.utc))
    outside_window()
    assert "asked about 1 reference(s)" in bot(env, "poll")  # nothing changed yet
    assert graph.successful() == []
    change("paid")
    with session_scope() as session:  # as if the last poll was an interval ago
        session.execute(sa.text("update notify_subscriptions set last_polled_at = :t"),
                        {"t": datetime.now(timezone.utc) - timedelta(minutes=6)})
    out = bot(env, "poll")
    assert "1 change(s) to tell" in out and "1 sent" in out
    (message,) = graph.successful()
    assert message["type"] == "template" and message["to"] == "260971234567"
    params = [p["text"] for p in message["template"]["components"][0]["parameters"]]
    assert params[:2] == [REFERENCE, "paid"]
    again = bot(env, "poll")
    assert "(1 asked recently" in again and len(graph.successful()) == 1


def test_two_pollers_at_once_ask_once_and_send_once(env, graph) -> None:
    for n in range(3):
        subscribe(recipient=f"whatsapp:26097000000{n}")
    change("query")
    with ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(lambda _: bot(env, "poll"), range(2)))
    assert sum("asked about 1 reference" in o for o in outputs) == 1
    time.sleep(0.5)
    assert sorted(b["to"] for b in graph.successful()) == [f"26097000000{n}" for n in range(3)]
    assert all(b["type"] == "text" for b in graph.successful())  # they wrote just now


def test_every_keeps_polling_and_unknown_references_are_reported(env, graph) -> None:
    subscribe(reference="2026 LSK C 424242")
    from bot.notify import poller

    lines: list[str] = []
    waits: list[float] = []
    poller.poll_forever(60, rounds=2, sleep=waits.append, report=lines.append)
    assert "1 unknown" in lines[0] and "(1 asked recently" in lines[1]
    assert len(waits) == 1 and 59 < waits[0] <= 60


def test_list_shows_open_subscriptions_with_recipients_masked(env) -> None:
    subscribe()
    subscribe(recipient="telegram:987654321", channel="telegram", reference="2026 KZL C 3310")
    out = bot(env, "list")
    assert REFERENCE in out and "2026 KZL C 3310" in out and "2 open subscription(s)" in out
    assert "whatsapp:********4567" in out and "260971234567" not in out
    assert "987654321" not in out
    store.stop("whatsapp:260971234567")
    assert REFERENCE not in bot(env, "list")


def test_a_bad_interval_is_a_sentence(env) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "notify", "poll", "--every", "soon"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "is not an interval like 30s, 5m or 1h" in done.stdout


def test_a_change_time_from_the_future_is_not_told_as_its_date(env, graph) -> None:
    """The status API's clock said 2999: the person was told of a change on that day."""
    subscribe(changed=datetime(2026, 11, 26, 9, 40, tzinfo=timezone.utc))
    outside_window()
    with session_scope() as session:
        session.execute(sa.update(Declaration).where(Declaration.reference == REFERENCE)
                        .values(status="paid",
                                last_changed=datetime(2999, 1, 1, tzinfo=timezone.utc)))
    assert "1 sent" in bot(env, "poll")
    (message,) = graph.successful()
    told = " ".join(p["text"] for p in message["template"]["components"][0]["parameters"])
    assert "2999" not in told
    assert str(datetime.now(timezone.utc).year) in told
