"""`/metrics` answers only with the metrics token, and adds up every worker process."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.metrics import DIR_ENV, TOKEN_ENV, prepare_dir
from bot.metrics.exposition import authorised, metrics_reply
from tests.conftest import ROOT


def test_metrics_are_off_until_a_token_is_chosen() -> None:
    status, body, content_type, _ = metrics_reply("Bearer anything", env={})
    assert status == 403 and b"metrics_off" in body and content_type == "application/json"
    assert b"customs_" not in body


def test_a_wrong_or_missing_token_gets_401_and_no_metrics() -> None:
    env = {TOKEN_ENV: "s3cret"}
    for header in (None, "", "Bearer wrong", "s3cret", "Basic s3cret", "Bearer s3cret "):
        status, body, _, headers = metrics_reply(header, env=env)
        assert status == 401 and b"customs_" not in body, header
        assert headers == {"WWW-Authenticate": "Bearer"}
    status, body, content_type, _ = metrics_reply("Bearer s3cret", env=env)
    assert status == 200 and content_type.startswith("text/plain")
    assert b"# TYPE customs_messages_total counter" in body
    assert authorised("Bearer s3cret", "s3cret") and not authorised("Bearer s3cre", "s3cret")


def test_prepare_dir_forgets_a_previous_run(tmp_path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old")
    (folder / "notes.txt").write_text("kept")
    env: dict[str, str] = {}
    assert prepare_dir(folder, env) == folder
    assert env == {DIR_ENV: str(folder)}
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


WORKER = """
from bot.metrics import registry as m
m.start_series("rasa")
for _ in range({n}):
    m.MESSAGES.labels("rest").inc()
    m.TURN_SECONDS.labels("rest").observe(0.02)
m.OUTCOMES.labels("answered").inc({n})
"""
SCRAPE = """
import os
from bot.metrics.exposition import metrics_reply
print(metrics_reply("Bearer t", env={"METRICS_TOKEN": "t"})[1].decode())
"""


def test_values_of_every_process_are_added_up(tmp_path) -> None:
    """Three processes write, as three Sanic workers do; a fourth scrapes all of them."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    prepare_dir(tmp_path / "mp", env)
    for n in (1, 2, 4):
        subprocess.run([sys.executable, "-c", WORKER.format(n=n)], cwd=ROOT, env=env,
                       check=True)
    out = subprocess.run([sys.executable, "-c", SCRAPE], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    lines = dict(line.rsplit(" ", 1) for line in out.splitlines()
                 if line and not line.startswith("#"))
    assert float(lines['customs_messages_total{channel="rest"}']) == 7
    assert float(lines['customs_message_outcomes_total{outcome="answered"}']) == 7
    assert float(lines['customs_turn_seconds_count{channel="rest"}']) == 7
    assert float(lines['customs_turn_seconds_bucket{channel="rest",le="0.025"}']) == 7
    assert float(lines['customs_turn_seconds_bucket{channel="rest",le="0.01"}']) == 0
