"""The action server's `/metrics` and `/ready`, on a real server with two Sanic workers.

Calls and errors are counted per action whichever worker ran them (the multi-process files
added up), the door needs `METRICS_TOKEN` and never the action server's own secret, and
readiness follows the application database (behind a TCP proxy the test cuts and mends).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import ROOT, free_port, reachable, scratch_database, wait_healthy
from tests.ops.test_faults import TcpProxy

pytestmark = pytest.mark.postgres

ACTION_TOKEN = "action-secret"
METRICS_TOKEN = "metrics-secret"


def get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def call_action(url: str, name: str) -> int:
    body = json.dumps({"next_action": name, "sender_id": "s", "version": "3.6.2",
                       "tracker": {"sender_id": "s", "slots": {}, "latest_message": {},
                                   "events": [], "paused": False, "followup_action": None,
                                   "active_loop": {}, "latest_action_name": None},
                       "domain": {}}).encode()
    request = urllib.request.Request(f"{url}/webhook", data=body, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {ACTION_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def samples(text: str) -> dict[str, float]:
    return {key: float(value) for key, value in
            (line.rsplit(" ", 1) for line in text.splitlines()
             if line and not line.startswith("#"))}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    tmp = tmp_path_factory.mktemp("action-metrics")
    with scratch_database("actmetrics") as db:
        proxy = TcpProxy(5432)
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("ACTION_BIND_HOST", "CUSTOMS_DB_SCHEMA", "PROMETHEUS_MULTIPROC_DIR")}
        env.update(ACTION_SERVER_TOKEN=ACTION_TOKEN, METRICS_TOKEN=METRICS_TOKEN,
                   ACTION_SERVER_SANIC_WORKERS="2", VAR_DIR=str(tmp),
                   CUSTOMS_DB_URL=f"postgresql://postgres@127.0.0.1:{proxy.port}/{db}",
                   KNOWLEDGE_DIR=str(ROOT / "knowledge"), PYTHONWARNINGS="ignore")
        subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        log = open(tmp / "actions.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([sys.executable, "-m", "bot", "actions", "--port", str(port),
                                 "--actions", "tests.ops.failing_actions"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(proc, f"{url}/health", tmp / "actions.log")
            yield url, proxy, tmp / "metrics" / f"actions-{port}"
        finally:
            proc.terminate()
            proc.wait(20)
            log.close()
            proxy.cut()


def test_calls_and_errors_are_counted_across_workers(server) -> None:
    url, _, folder = server
    before = samples(get(f"{url}/metrics", METRICS_TOKEN)[1])
    statuses = [call_action(url, "action_fine") for _ in range(12)]
    statuses += [call_action(url, "action_explode") for _ in range(3)]
    statuses += [call_action(url, "action_made_up_1"), call_action(url, "action_made_up_2")]
    assert statuses == [200] * 12 + [500] * 3 + [404] * 2
    status, text = get(f"{url}/metrics", METRICS_TOKEN)
    assert status == 200
    after = samples(text)

    def moved(key: str) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert moved('customs_action_calls_total{action="action_fine"}') == 12
    assert moved('customs_action_calls_total{action="action_explode"}') == 3
    assert moved('customs_action_errors_total{action="action_explode"}') == 3
    assert moved('customs_action_errors_total{action="action_fine"}') == 0
    # Made-up names share one series: a caller cannot grow the number of series.
    assert moved('customs_action_calls_total{action="unknown"}') == 2
    assert not any("made_up" in key for key in after)
    assert moved('customs_action_seconds_count{action="action_fine"}') == 12
    assert moved('customs_action_seconds_bucket{action="action_fine",le="+Inf"}') == 12
    # The files of more than one process were read: the master and both workers wrote.
    assert len(list(folder.glob("counter_*.db"))) >= 3


def test_metrics_need_the_metrics_token_not_the_action_secret(server) -> None:
    url, _, _ = server
    for token in (None, "wrong", ACTION_TOKEN):
        status, body = get(f"{url}/metrics", token)
        assert status == 401 and "customs_" not in body, token
        assert json.loads(body)["error"] == "unauthorized"


def test_ready_follows_the_database_and_liveness_does_not(server) -> None:
    url, proxy, _ = server
    status, body = get(f"{url}/ready")
    assert status == 200 and json.loads(body) == {
        "ready": True, "checks": {"database": "ok", "knowledge": "ok"}}
    proxy.cut()
    try:
        status, body = get(f"{url}/ready")
        assert status == 503, body
        answer = json.loads(body)
        assert answer["ready"] is False and answer["reason"] == "database: unreachable"
        assert "5432" not in body and "postgres" not in body  # no address, no error text
        assert get(f"{url}/health")[0] == 200
    finally:
        proxy.mend()
    deadline = time.monotonic() + 10
    while get(f"{url}/ready")[0] != 200:
        assert time.monotonic() < deadline, "not ready again after the database came back"
        time.sleep(0.2)
