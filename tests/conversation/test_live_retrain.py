"""New content live without a restart, over a real assistant on loopback started as `make run`
starts it (live retraining on): saving a new entry retrains in the background and the same Rasa
server answers it, while a conversation that keeps talking meanwhile loses no message; an
invalid edit keeps the current model answering and the retrain log says which file and line.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest

from bot.ops import launcher

pytestmark = pytest.mark.conversation

APOLOGY = "technical problem on our side"
MARKER = "Customs auctions of unclaimed and forfeited goods"
NEW_ENTRY = f"""
  - id: customs_auctions
    question: When are customs auctions held?
    examples:
      - when is the next customs auction
      - how do i buy goods at a customs auction
      - auction of seized goods by customs
      - where are unclaimed goods auctioned
      - can i bid on cars seized by customs
      - customs auction dates
      - public auction of forfeited goods
      - how to register as a bidder at the customs auction
      - buying unclaimed cargo from customs
      - list of items for the customs auction
    answer: "{MARKER} are announced in the national newspapers and on {{website}}."
    source: "Customs and Excise Act, unclaimed goods [test]"
    owner: Customs Support Unit
    reviewed: 2026-12-01
"""


class Conversation(threading.Thread):
    """One person who keeps chatting while the content changes."""

    QUESTIONS = ["hello", "what is the vat rate on imports", "how do i get a tpin", "thanks"]

    def __init__(self, rest_url: str) -> None:
        super().__init__(daemon=True)
        self.rest_url = rest_url
        self.sender = f"chat-{uuid.uuid4().hex[:8]}"
        self.stop = threading.Event()
        self.answered: list[str] = []
        self.failures: list[str] = []

    def run(self) -> None:
        i = 0
        while not self.stop.wait(0.4):
            text = self.QUESTIONS[i % len(self.QUESTIONS)]
            i += 1
            try:
                replies = launcher.rest_send(self.rest_url, self.sender, text)
            except Exception as error:  # noqa: BLE001 - a lost message is what the test counts
                self.failures.append(f"{text!r}: {type(error).__name__}: {error}")
                continue
            texts = " ".join(r.get("text", "") for r in replies)
            if not replies or APOLOGY in texts:
                self.failures.append(f"{text!r}: {replies!r}")
            else:
                self.answered.append(text)


@pytest.fixture()
def live_stack(trained_model, tmp_path):
    """An assistant with live retraining on, its own knowledge copy, build and models folders
    (the derived int8 encoder is shared rather than derived again)."""
    from bot.settings.paths import build_dir

    (tmp_path / "build").mkdir()
    if (build_dir() / "encoders").exists():
        os.symlink(build_dir() / "encoders", tmp_path / "build" / "encoders")
    overrides = {"BUILD_DIR": str(tmp_path / "build"), "MODELS_DIR": str(tmp_path / "models"),
                 "LIVE_RETRAIN_QUIET_SECONDS": "2",
                 # the chatting conversation and the probes are one client on loopback
                 "RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "0"}
    with launcher.scratch_stack(trained_model, tmp_path, web=False, live_retrain=True,
                                overrides=overrides) as stack:
        assert stack.retrainer is not None
        yield stack


def rest(stack) -> str:
    return f"{stack.rasa_url}/webhooks/rest/webhook"


def reply(stack, text: str) -> str:
    replies = launcher.rest_send(rest(stack), f"probe-{uuid.uuid4().hex[:8]}", text)
    return " ".join(r.get("text", "") for r in replies)


def user_messages_stored(tmp: Path, sender: str) -> int:
    with sqlite3.connect(tmp / "tracker.db") as db:
        return db.execute("select count(*) from events where sender_id = ? and "
                          "type_name = 'user'", (sender,)).fetchone()[0]


def test_a_new_entry_is_answered_without_restart_and_the_conversation_loses_nothing(
        live_stack, tmp_path):
    rasa = live_stack.procs["rasa"]
    assert MARKER not in reply(live_stack, "when is the next customs auction")
    chat = Conversation(rest(live_stack))
    chat.start()
    time.sleep(2)
    with open(tmp_path / "knowledge" / "travellers.yml", "a", encoding="utf-8") as out:
        out.write(NEW_ENTRY)
    saved = time.monotonic()
    while MARKER not in reply(live_stack, "when is the next customs auction"):
        assert time.monotonic() - saved < 420, live_stack.log_tail("retrain")
        assert not chat.failures, chat.failures
        time.sleep(1)
    time.sleep(3)  # the conversation goes on with the new model
    chat.stop.set()
    chat.join(70)
    assert chat.failures == []
    assert len(chat.answered) >= 20
    assert user_messages_stored(tmp_path, chat.sender) == len(chat.answered)
    assert live_stack.procs["rasa"] is rasa and rasa.poll() is None  # the same server
    assert "how do i get a tpin" in chat.answered[-4:]  # still answered after the switch
    assert "TPIN" in reply(live_stack, "how do i get a tpin")
    log = (live_stack.log_dir / "retrain.log").read_text("utf-8")
    assert "New model ready" in log and "now answers with model" in log


def test_an_invalid_edit_keeps_the_current_model_and_the_log_names_file_and_line(
        live_stack, tmp_path, trained_model):
    before = reply(live_stack, "what is the vat rate on imports")
    assert "16%" in before
    path = tmp_path / "knowledge" / "travellers.yml"
    broken = NEW_ENTRY.replace(f'"{MARKER} are announced in the national newspapers and on '
                               '{website}."', '""')
    text = path.read_text("utf-8")
    path.write_text(text + broken, "utf-8")
    line = (text + broken).splitlines().index('    answer: ""') + 1
    log = live_stack.log_dir / "retrain.log"
    deadline = time.monotonic() + 120
    while "Not trained" not in (log.read_text("utf-8") if log.exists() else ""):
        assert time.monotonic() < deadline, live_stack.log_tail("retrain")
        time.sleep(0.5)
    written = log.read_text("utf-8")
    assert f"travellers.yml:{line}: error: field 'answer' is empty" in written
    assert "the knowledge base has errors" in written
    assert "keeps answering with the current model" in written
    assert live_stack.retrainer.server.model == trained_model
    assert reply(live_stack, "what is the vat rate on imports") == before
    assert MARKER not in reply(live_stack, "when is the next customs auction")
