"""TPINs are masked in text, in logs, and in the rows of the tracker store."""

import asyncio
import logging
import sqlite3

import pytest

from bot.privacy import install_log_redaction, mask_tpin, redact_tpins, redact_value

TPINS = ["1002003004", "2003004005", "3004005006"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my tpin is 1002003004", "my tpin is ******3004"),
        ("tpin:1002003004.", "tpin:******3004."),
        ("abc1002003004xyz", "abc******3004xyz"),
        ("100 200 3004", "******3004"),
        ("100-200-3004 ok", "******3004 ok"),
        ("1002 003 004", "******3004"),
        ("2026 LSK C 10452 tpin 1002003004", "2026 LSK C 10452 tpin ******3004"),
        ("a 13-digit 1234567890123", "a 13-digit ******0123"),
    ],
)
def test_tpins_are_masked(text, expected):
    assert redact_tpins(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026 LSK C 10452", "call 5993 now", "K500.10 fee", "on 2026-11-29 at 10:15",
        "******3004", "",
    ],
)
def test_other_text_is_unchanged(text):
    assert redact_tpins(text) == text


def test_mask_tpin_keeps_last_four():
    assert mask_tpin("1002003004") == "******3004"
    assert mask_tpin(None) == "******"


def test_redact_value_walks_structures():
    data = {"text": "1002003004", "slots": [{"v": 2003004005}], "ts": 1732872000.25, "ok": True}
    assert redact_value(data) == {
        "text": "******3004", "slots": [{"v": "******4005"}], "ts": 1732872000.25, "ok": True
    }


def test_log_records_are_redacted(caplog):
    install_log_redaction()
    logger = logging.getLogger("test.redaction")
    with caplog.at_level(logging.INFO):
        logger.info("user said %s", "my tpin is 1002003004")
    assert "1002003004" not in caplog.text
    assert "******3004" in caplog.text


def test_tracker_store_rows_hold_no_tpin(tmp_path):
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.stores.tracker_store import RedactingSQLTrackerStore

    domain = Domain.from_yaml(
        """
version: "3.1"
intents: [check_declaration_status]
slots:
  declaration_tpin: {type: text, influence_conversation: false, mappings: [{type: custom}]}
  declaration_reference: {type: text, influence_conversation: false, mappings: [{type: custom}]}
"""
    )
    db = tmp_path / "tracker.db"
    store = RedactingSQLTrackerStore(domain=domain, dialect="sqlite", db=str(db))
    tracker = DialogueStateTracker.from_events(
        "user-1",
        [
            ActionExecuted("action_listen"),
            UserUttered(
                "has 2026 LSK C 10452 been released? tpin 1002003004",
                intent={"name": "check_declaration_status", "confidence": 0.9},
                entities=[{"entity": "tpin", "value": "1002003004", "start": 41, "end": 51}],
                parse_data={
                    "text": "has 2026 LSK C 10452 been released? tpin 1002003004",
                    "intent": {"name": "check_declaration_status", "confidence": 0.9},
                    "entities": [{"entity": "tpin", "value": "1002003004"}],
                },
            ),
            SlotSet("declaration_reference", "2026 LSK C 10452"),
            SlotSet("declaration_tpin", "1002003004"),
            BotUttered("Checked for TPIN 1002003004", metadata={"tpin": 2003004005}),
            UserUttered("and 100 200 3004 and 3004005006"),
        ],
        domain.slots,
    )
    asyncio.run(store.save(tracker))

    raw = sqlite3.connect(db)
    rows = raw.execute("SELECT sender_id, type_name, intent_name, action_name, data FROM events")
    dump = "\n".join(" ".join(str(c) for c in row) for row in rows)
    raw.close()
    assert dump.count("******3004") >= 4
    for tpin in TPINS:
        assert tpin not in dump
    assert "100 200 3004" not in dump
    assert "2026 LSK C 10452" in dump  # references are not secret and stay readable

    # Rasa reads its own table back: the conversation continues with masked values.
    loaded = asyncio.run(store.retrieve("user-1"))
    assert loaded.get_slot("declaration_tpin") == "******3004"
    assert loaded.get_slot("declaration_reference") == "2026 LSK C 10452"
    assert len(loaded.events) == len(tracker.events)

    # A second save appends only the new events (Rasa counts stored events).
    tracker.update(UserUttered("2003004005"))
    asyncio.run(store.save(tracker))
    raw = sqlite3.connect(db)
    count, = raw.execute("SELECT count(*) FROM events").fetchone()
    texts = [r[0] for r in raw.execute("SELECT data FROM events")]
    raw.close()
    assert count == len(tracker.events)
    assert not any("2003004005" in t for t in texts)


def test_whole_second_timestamps_are_kept_as_numbers():
    from bot.privacy import redact_value

    event = {"event": "user", "timestamp": 1795900000.0, "text": "tpin 1002003004",
             "metadata": {"n": 1002003004}}
    redacted = redact_value(event)
    assert redacted["timestamp"] == 1795900000.0
    assert "1002003004" not in str(redacted)


def test_message_ids_are_kept_so_repeats_are_recognised():
    from bot.privacy import redact_value

    event = {"event": "user", "message_id": "replica-8004594059-5", "text": "tpin 1002003004",
             "metadata": {"note": "id 8004594059"}}
    redacted = redact_value(event)
    assert redacted["message_id"] == "replica-8004594059-5"
    assert "1002003004" not in str(redacted) and "8004594059" not in str(redacted["metadata"])


def test_sqlite_store_uses_write_ahead_log(tmp_path):
    import sqlite3

    from rasa.shared.core.domain import Domain

    from bot.stores.tracker_store import RedactingSQLTrackerStore

    db = tmp_path / "wal.db"
    store = RedactingSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
