"""The one schema step on a fresh PostgreSQL, as the Compose action service runs it:
`python -m bot db init && python -m bot actions`, then a declaration lookup through the action
server answers. Before the step existed, a fresh database had no declarations table and the
first lookup ended in "service unavailable"."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.request

import pytest
import sqlalchemy as sa

from bot.content.reader import read_knowledge
from tests.conftest import ROOT, free_port, scratch_database, wait_healthy

pytestmark = pytest.mark.postgres


def lookup_call(reference: str, tpin: str) -> bytes:
    """The request Rasa sends when the declaration form is complete."""
    tracker = {"sender_id": "compose-check", "slots": {"declaration_reference": reference,
                                                       "declaration_tpin": tpin},
               "latest_message": {"text": tpin, "intent": {"name": "inform"}}, "events": [],
               "paused": False, "followup_action": None, "active_loop": {},
               "latest_action_name": None}
    return json.dumps({"next_action": "action_check_declaration", "sender_id": "compose-check",
                       "tracker": tracker, "domain": {}, "version": "3.6.2"}).encode()


def test_fresh_postgres_plus_the_compose_commands_answer_a_declaration_lookup(tmp_path):
    token = secrets.token_urlsafe(16)
    with scratch_database("compose") as name:
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert "declarations" not in sa.inspect(conn).get_table_names()
        env = {k: v for k, v in os.environ.items() if k != "CUSTOMS_DB_SCHEMA"}
        env.update(CUSTOMS_DB_URL=url, ACTION_SERVER_TOKEN=token, VAR_DIR=str(tmp_path),
                   KNOWLEDGE_DIR=str(ROOT / "knowledge"), PYTHONWARNINGS="ignore")
        port = free_port()
        command = f"python -m bot db init && exec {sys.executable} -m bot actions --port {port}"
        log = open(tmp_path / "actions.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(["sh", "-c", command.replace("python ", f"{sys.executable} ", 1)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            wait_healthy(proc, f"http://127.0.0.1:{port}/health", tmp_path / "actions.log")
            with engine.connect() as conn:
                tables = set(sa.inspect(conn).get_table_names())
            assert {"declarations", "declaration_failed_lookups", "support_tickets",
                    "answer_votes"} <= tables
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/webhook", data=lookup_call("2026 LSK C 10452",
                                                                     "1002003004"),
                headers={"Content-Type": "application/json",
                         "Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=30) as response:
                said = [r.get("text") or "" for r in json.loads(response.read())["responses"]]
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(20)
            log.close()
            engine.dispose()
    kb, _ = read_knowledge(ROOT / "knowledge")
    assert said and "2026 LSK C 10452" in said[0]
    assert "assessed" in said[0].lower()
    assert not said[0].startswith(kb.message("declaration_unavailable").split(".")[0])
