"""Delivery latency of status notifications: signed webhook received -> Graph API call.

Starts the `customs` webhook channel (tests/notify/customs_server.py, the same code a Rasa
server mounts) on a scratch SQLite database with the fake Graph API on loopback, subscribes N
WhatsApp numbers to N declarations, posts one signed status change per declaration, one at a
time, and prints the time from sending the POST to the fake Graph API receiving the message
(median, p95, max), and the webhook's own answer time.

    .venv/bin/python scripts/bench_notify.py [--events 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import appdb  # noqa: E402
from bot.appdb import notifications as store  # noqa: E402
from bot.notify.events import SIGNATURE_HEADER, sign  # noqa: E402
from tests.channels.whatsapp_fakes import PHONE_NUMBER_ID, FakeGraphApi  # noqa: E402
from tests.conftest import free_port  # noqa: E402

SECRET = "bench-secret"


class Stamped(list):
    """The fake's list of received requests, with the arrival time of each."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, item) -> None:
        self.times.append(time.perf_counter())
        super().append(item)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    graph = FakeGraphApi()
    graph.received = Stamped()
    graph.start()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/app.db"
        os.environ["CUSTOMS_DB_URL"] = url
        appdb.dispose_engines()
        appdb.init_db()
        past = datetime.now(timezone.utc) - timedelta(hours=25)
        for n in range(args.events):
            store.subscribe("whatsapp", f"whatsapp:2609700{n:05d}", f"2026 LSK C {n + 1}",
                            "assessed", past, "bench")
        port = free_port()
        env = {**os.environ, "CUSTOMS_WEBHOOK_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": "v",
               "WHATSAPP_APP_SECRET": "s", "WHATSAPP_ACCESS_TOKEN": "t",
               "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID, "WHATSAPP_API_URL": graph.url}
        server = subprocess.Popen([sys.executable, "-m", "tests.notify.customs_server",
                                   str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}/webhooks/customs"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(base + "/", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    time.sleep(0.2)
                if time.monotonic() > deadline:
                    raise SystemExit("the webhook server did not start")
            session = requests.Session()
            delivery, answer = [], []
            for n in range(args.events):
                body = json.dumps({"events": [{
                    "event_id": f"bench-{n}", "reference": f"2026 LSK C {n + 1}",
                    "status": "paid", "changed_at": "2026-12-01T09:30:00Z"}]}).encode()
                count = len(graph.received)
                started = time.perf_counter()
                reply = session.post(base + "/status-changes", data=body,
                                     headers={SIGNATURE_HEADER: sign(SECRET, body)}, timeout=10)
                answered = time.perf_counter()
                assert reply.status_code == 200 and reply.json()["notifications"] == 1, reply.text
                while len(graph.received) <= count:
                    if time.perf_counter() - started > 10:
                        raise SystemExit(f"event {n} never reached the Graph API")
                    time.sleep(0.0005)
                delivery.append((graph.received.times[count] - started) * 1000)
                answer.append((answered - started) * 1000)
        finally:
            server.terminate()
            server.wait(timeout=10)
            graph.stop()
    print(f"{args.events} status changes, one at a time, SQLite, fake Graph API on loopback:")
    for label, values in (("webhook received -> Graph API call", delivery),
                          ("webhook answered (recorded)", answer)):
        print(f"  {label}: median {statistics.median(values):.1f} ms, "
              f"p95 {percentile(values, 0.95):.1f} ms, max {max(values):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
