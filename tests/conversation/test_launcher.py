"""`python -m bot run` as a user runs it: starts everything, SIGTERM stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.conversation
ROOT = Path(__file__).resolve().parent.parent.parent


def processes_mentioning(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if token in cmdline and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def start_run(tmp_path: Path, ports: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    env = dict(os.environ, **ports, TRACKER_DB=str(tmp_path / "tracker.db"),
               CUSTOMS_DB_URL=f"sqlite:///{tmp_path / 'customs.db'}", VAR_DIR=str(tmp_path))
    log = tmp_path / "run.log"
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    return proc, log


def test_run_prints_addresses_and_sigterm_stops_every_process(trained_model, tmp_path):
    ports = {"RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()),
             "WEB_PORT": str(free_port())}
    proc, log = start_run(tmp_path, ports)
    deadline = time.monotonic() + 180
    while "Press Ctrl-C" not in log.read_text() and time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        time.sleep(0.5)
    output = log.read_text()
    assert "starting without training" in output  # the session's model is reused
    assert f"http://localhost:{ports['WEB_PORT']}/" in output
    assert f"http://127.0.0.1:{ports['RASA_PORT']}/webhooks/rest/webhook" in output
    children = processes_mentioning(f"--port {ports['RASA_PORT']}") + processes_mentioning(
        f"--port {ports['ACTION_PORT']}")
    assert len(children) >= 2
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)  # make forwards a second one; it must not break the stop
    assert proc.wait(30) == 0
    time.sleep(0.5)
    assert [p for p in children if Path(f"/proc/{p}").exists()] == []
    assert "Traceback" not in log.read_text()


def test_run_refuses_a_busy_port(trained_model, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc, log = start_run(tmp_path, {"RASA_PORT": str(port), "ACTION_PORT": str(free_port()),
                                         "WEB_PORT": str(free_port())})
        assert proc.wait(120) == 1
    assert f"port {port} (RASA_PORT) is already in use" in log.read_text()
