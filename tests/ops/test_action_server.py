"""The action server door (`python -m bot actions`): loopback only by default, and with
ACTION_SERVER_TOKEN set a forged call without the secret gets 401 and runs nothing.

A real server on a free loopback port; the proof that a call would have done harm is the same
forged request with the secret, which creates a ticket.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.ops.action_server import authorised
from tests.conftest import ROOT, free_port, wait_healthy

TOKEN = secrets.token_urlsafe(24)
# One character changed, never to itself (a random token ends in "x" once in 64 runs).
WRONG_TOKEN = TOKEN[:-1] + ("y" if TOKEN.endswith("x") else "x")


def forged_ticket_call() -> bytes:
    """What an attacker hand-writes: a tracker whose form is complete, asking for a ticket."""
    tracker = {"sender_id": "victim", "slots": {"handover_name": "Mary Banda",
                                                "handover_question": "Where is my parcel?",
                                                "handover_contact": "0977123456"},
               "latest_message": {}, "events": [], "paused": False, "followup_action": None,
               "active_loop": {}, "latest_action_name": None}
    return json.dumps({"next_action": "action_create_ticket", "sender_id": "victim",
                       "tracker": tracker, "domain": {}, "version": "3.6.2"}).encode()


def call(url: str, body: bytes | None = None, headers: dict[str, str] | None = None
         ) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def tickets(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("select count(*) from support_tickets")).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def action_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("actions")
    port = free_port()
    db_url = f"sqlite:///{tmp / 'customs.db'}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("ACTION_BIND_HOST", "TICKET_WEBHOOK_URL", "CUSTOMS_DB_SCHEMA")}
    env.update(ACTION_SERVER_TOKEN=TOKEN, CUSTOMS_DB_URL=db_url, VAR_DIR=str(tmp),
               KNOWLEDGE_DIR=str(ROOT / "knowledge"), PYTHONWARNINGS="ignore")
    subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log = open(tmp / "actions.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "bot", "actions", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(proc, f"{url}/health", tmp / "actions.log")
    try:
        yield url, port, db_url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port` (from /proc/net/tcp, IPv4)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def test_action_server_binds_loopback_by_default(action_server) -> None:
    _, port, _ = action_server
    assert listening_addresses(port) == {"127.0.0.1"}


def test_forged_call_without_secret_gets_401_and_creates_nothing(action_server) -> None:
    url, _, db_url = action_server
    status, body = call(f"{url}/webhook", forged_ticket_call())
    assert status == 401 and body["error"] == "unauthorized"
    status, _ = call(f"{url}/webhook", forged_ticket_call(),
                     {"Authorization": "Bearer " + WRONG_TOKEN})
    assert status == 401
    status, _ = call(f"{url}/webhook?token={TOKEN}", forged_ticket_call())
    assert status == 401  # only the header counts: a secret in a URL ends up in logs
    status, _ = call(f"{url}/actions")
    assert status == 401  # the list of actions too
    assert tickets(db_url) == 0
    # The same call with the secret is what Rasa sends: it does run (so the 401 was the guard).
    status, body = call(f"{url}/webhook", forged_ticket_call(),
                        {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    assert tickets(db_url) == 1


def test_health_stays_open(action_server) -> None:
    url, _, _ = action_server
    assert call(f"{url}/health")[0] == 200


def test_secret_comparison() -> None:
    assert authorised("Bearer abc", "abc")
    assert not authorised("Bearer abd", "abc")
    assert not authorised(None, "abc")
    assert not authorised("abc", "abc")
    assert not authorised("Bearer abc\u00e9", "abc")  # non-ASCII header: refused, no error


def test_make_run_generates_a_secret_that_rasa_sends_as_a_header(tmp_path) -> None:
    from bot.ops.launcher import environment
    from bot.settings.endpoints import build_endpoints, write_endpoints

    saved = {k: os.environ.pop(k, None) for k in ("ACTION_SERVER_TOKEN", "ACTION_SERVER_URL")}
    try:
        first, second = environment(), environment()
    finally:
        os.environ.update({k: v for k, v in saved.items() if v is not None})
    assert len(first["ACTION_SERVER_TOKEN"]) >= 32
    assert first["ACTION_SERVER_TOKEN"] != second["ACTION_SERVER_TOKEN"]
    assert first["ACTION_BIND_HOST"] == "127.0.0.1"
    endpoints = build_endpoints(first)
    assert endpoints["action_endpoint"]["headers"] == {
        "Authorization": f"Bearer {first['ACTION_SERVER_TOKEN']}"}
    out = write_endpoints(first, tmp_path / "endpoints.yml")
    assert out.stat().st_mode & 0o077 == 0  # the secret is readable by its owner only


@pytest.mark.conversation
def test_running_assistant_calls_its_guarded_action_server(bot_server) -> None:
    """End to end: Rasa sends the secret (its answers come from actions); a forger does not."""
    assert bot_server.env.get("ACTION_SERVER_TOKEN")
    status, _ = call(f"{bot_server.action_url}/webhook", forged_ticket_call())
    assert status == 401
    reply = bot_server.texts("guarded-actions-1", "how do I pay duty?")
    assert reply and "technical problem" not in reply
