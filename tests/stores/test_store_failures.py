"""No silent in-memory fallback (bot/patches/store_failures.py, bot/stores/failures.py): when
the conversation store cannot save, the turn fails with the technical-problem reply, an error
in the log and a count; no InMemoryTrackerStore is made, so memory does not grow. Before,
Rasa's FailSafeTrackerStore kept each conversation in memory and said nothing to the user."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import patches
from bot.stores import failures
from bot.stores.tracker_store import RedactingSQLTrackerStore

DOMAIN = Domain.from_yaml('version: "3.1"\nintents: [greet]\n')


@pytest.fixture()
def store(tmp_path):
    patches.install()
    primary = RedactingSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    yield FailSafeTrackerStore(primary), primary
    primary.engine.dispose()


def break_table(primary: RedactingSQLTrackerStore) -> None:
    with primary.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE events RENAME TO events_gone"))


def tracker(sender: str, text: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
    return tracker


def scraped_failures(operation: str) -> float:
    from bot.metrics.registry import STORE_FAILURES

    return STORE_FAILURES.labels(operation)._value.get()


def test_a_failed_save_raises_counts_logs_and_keeps_nothing_in_memory(store, caplog):
    failsafe, primary = store
    asyncio.run(failsafe.save(tracker("ok", "hello")))
    break_table(primary)
    listened: list[str] = []
    failures.add_listener(lambda operation, error: listened.append(operation))
    before = failures.FAILURES["save"]
    scraped = scraped_failures("save")
    caplog.set_level(logging.ERROR, "bot.stores.failures")
    for n in range(20):
        with pytest.raises(failures.TrackerStoreUnavailable):
            asyncio.run(failsafe.save(tracker(f"down-{n}", "my tpin is 1002003004")))
    assert failures.FAILURES["save"] - before == 20
    assert listened.count("save") == 20
    assert scraped_failures("save") - scraped == 20  # the operator's alert sees them
    assert failsafe._fallback_tracker_store is None  # no in-memory store, nothing kept
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 20 and "RedactingSQLTrackerStore failed to save" in logged[0]
    assert "1002003004" not in " ".join(logged)


def test_a_failed_read_fails_the_turn_instead_of_starting_a_new_conversation(store):
    failsafe, primary = store
    asyncio.run(failsafe.save(tracker("mary", "hello")))
    break_table(primary)
    before = failures.FAILURES["retrieve"]
    with pytest.raises(failures.TrackerStoreUnavailable):
        asyncio.run(failsafe.retrieve("mary"))
    assert failures.FAILURES["retrieve"] == before + 1


def test_masking_a_structure_nested_100000_deep_needs_no_recursion():
    from bot.privacy import redact_value

    deep: object = "tpin 1002003004"
    for _ in range(100_000):
        deep = {"a": [deep]}
    masked = redact_value(deep)
    for _ in range(100_000):
        masked = masked["a"][0]
    assert masked == "tpin ******3004"


@pytest.mark.conversation
def test_the_running_assistant_answers_with_the_apology_while_the_store_is_down(bot_server):
    from bot.content.reader import read_knowledge

    kb, _ = read_knowledge(bot_server.knowledge_dir)
    assert bot_server.texts("store-down-1", "hello")
    db = sqlite3.connect(bot_server.tracker_db_path)
    # Reading still works, every write fails: the database is full, read-only, or gone mid-turn.
    db.execute("CREATE TRIGGER refuse_writes BEFORE INSERT ON events "
               "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    db.commit()
    try:
        replies = [bot_server.texts(f"store-down-{n}", "hello") for n in range(2, 12)]
        replies.append(bot_server.texts("store-down-1", "hello again"))
    finally:
        db.execute("DROP TRIGGER refuse_writes")
        db.commit()
        db.close()
    apology = kb.message("technical_problem")
    # What the turn said before its save failed is sent (WhatsApp has sent it already), then
    # the apology: the person knows to try again.
    assert all(reply.endswith(apology) for reply in replies), replies[0]
    log = (bot_server.stack.log_dir / "rasa.log").read_text("utf-8", "replace")
    assert "failed to save" in log and "nothing is kept in memory" in log
    assert "Falling back to use the 'InMemoryTrackerStore'" not in log
    assert bot_server.texts("store-down-after", "hello") != apology  # and it recovers
