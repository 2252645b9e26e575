"""bot/stores/tracker_window.py: a long session read back as its latest turns plus a snapshot is,
for everything a turn uses, the tracker Rasa reads whole (slots, the active form and its flags,
the latest states the policies see, the latest message); the store writes exactly the new
events, never the snapshot; a second replica's writes and deleted rows are seen."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, LoopInterrupted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.stores.tracker_store import RedactingSQLTrackerStore
from tests.stores.test_tracker_store import session, turn

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, kb_x]
slots:
  topic:
    type: text
    mappings: [{type: custom}]
  name:
    type: text
    mappings: [{type: custom}]
responses:
  utter_x: [{text: "x"}]
""")
WINDOW = 3
run = asyncio.run


def make_store(db: str, monkeypatch, window: int = WINDOW) -> RedactingSQLTrackerStore:
    monkeypatch.setenv("TRACKER_WINDOW_TURNS", str(window))
    return RedactingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)


def play(store: RedactingSQLTrackerStore, sender: str, events: list) -> None:
    """One turn as Rasa runs it: read the tracker, add the turn's events, save."""
    tracker = run(store.retrieve(sender)) or DialogueStateTracker(sender, DOMAIN.slots)
    for event in events:
        tracker.update(event)
    run(store.save(tracker))


def whole(store: RedactingSQLTrackerStore, sender: str) -> DialogueStateTracker:
    """The latest session as Rasa reads it (every event replayed)."""
    return run(SQLTrackerStore._retrieve(store, sender, fetch_events_from_all_sessions=False))


def assert_same_state(windowed: DialogueStateTracker, full: DialogueStateTracker) -> None:
    assert windowed.current_slot_values() == full.current_slot_values()
    assert windowed.active_loop == full.active_loop
    assert windowed.latest_message.text == full.latest_message.text
    assert windowed.latest_action_name == full.latest_action_name
    recent = 2 * WINDOW  # states of the latest WINDOW turns (rules look a few back)
    assert windowed.past_states(DOMAIN)[-recent:] == full.past_states(DOMAIN)[-recent:]


def long_conversation(store: RedactingSQLTrackerStore, sender: str, turns: int) -> list:
    start = time.time() - 1000
    first = [*session(start), SlotSet("name", "Chanda Mulenga", timestamp=start + 0.1),
             ActiveLoop("handover_form", timestamp=start + 0.2),
             LoopInterrupted(True, timestamp=start + 0.3)]
    played = list(first)
    play(store, sender, first)
    for n in range(turns):
        events = turn(f"question {n}", "kb_x" if n % 2 else "greet", start + 1 + n)
        played += events
        play(store, sender, events)
    return played


def test_a_long_session_is_windowed_and_keeps_its_state(tmp_path, monkeypatch) -> None:
    store = make_store(str(tmp_path / "t.db"), monkeypatch)
    played = long_conversation(store, "alice", 40)
    windowed, full = run(store.retrieve("alice")), whole(store, "alice")
    assert len(windowed.events) < len(full.events) / 4  # bounded, not the whole session
    users = [e.text for e in windowed.events if isinstance(e, UserUttered)]
    assert WINDOW <= len(users) <= WINDOW + 10 and users[-1] == "question 39"
    assert windowed.get_slot("name") == "Chanda Mulenga"  # set at the first turn
    assert windowed.active_loop_name == "handover_form"
    assert_same_state(windowed, full)
    # What is stored is what was played, each event once, no snapshot.
    stored = run(store.retrieve_full_tracker("alice"))
    assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in played]


def test_turns_after_the_window_are_stored_once_and_state_follows(tmp_path, monkeypatch) -> None:
    store = make_store(str(tmp_path / "t.db"), monkeypatch)
    played = long_conversation(store, "bob", 25)
    later = [*turn("which form?", "kb_x", time.time()), ActiveLoop(None, timestamp=time.time()),
             SlotSet("name", None, timestamp=time.time())]
    play(store, "bob", later)
    for n in range(15):  # the window moves forward past the form's end
        extra = turn(f"after {n}", "greet", time.time() + n)
        later += extra
        play(store, "bob", extra)
    stored = run(store.retrieve_full_tracker("bob"))
    assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in played + later]
    windowed = run(store.retrieve("bob"))
    assert windowed.active_loop_name is None and windowed.get_slot("name") is None
    assert_same_state(windowed, whole(store, "bob"))


def test_a_second_replica_and_deleted_rows_are_seen(tmp_path, monkeypatch) -> None:
    db = str(tmp_path / "t.db")
    one = make_store(db, monkeypatch)
    long_conversation(one, "carol", 30)
    run(one.retrieve("carol"))  # `one` keeps the prefix of carol's session
    two = make_store(db, monkeypatch)
    play(two, "carol", turn("asked on the other replica", "kb_x", time.time()))
    seen = run(one.retrieve("carol"))
    assert seen.latest_message.text == "asked on the other replica"
    assert_same_state(seen, whole(one, "carol"))
    play(one, "carol", [SlotSet("topic", "from one", timestamp=time.time())])
    assert run(two.retrieve("carol")).get_slot("topic") == "from one"

    # Rows before the window deleted (retention): the kept prefix no longer holds, it is rebuilt.
    with one.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM events WHERE id IN (SELECT id FROM events "
                             "WHERE type_name = 'slot' AND action_name = 'name')"))
    rebuilt = run(one.retrieve("carol"))
    assert rebuilt.get_slot("name") is None
    assert_same_state(rebuilt, whole(one, "carol"))


def test_window_off_reads_the_whole_session(tmp_path, monkeypatch) -> None:
    store = make_store(str(tmp_path / "t.db"), monkeypatch, window=0)
    long_conversation(store, "dan", 20)
    tracker = run(store.retrieve("dan"))
    assert [e.as_dict() for e in tracker.events] == [
        e.as_dict() for e in whole(store, "dan").events]


@pytest.mark.parametrize("turns", [5, 13])
def test_short_sessions_are_read_whole(tmp_path, monkeypatch, turns: int) -> None:
    store = make_store(str(tmp_path / "t.db"), monkeypatch)
    long_conversation(store, "erin", turns)
    assert [e.as_dict() for e in run(store.retrieve("erin")).events] == [
        e.as_dict() for e in whole(store, "erin").events]


@pytest.mark.postgres
def test_two_replicas_on_postgresql(scratch_postgres, monkeypatch) -> None:
    monkeypatch.setenv("TRACKER_WINDOW_TURNS", str(WINDOW))

    def replica() -> RedactingSQLTrackerStore:
        return RedactingSQLTrackerStore(domain=DOMAIN, dialect="postgresql", host="127.0.0.1",
                                        port=5432, db=scratch_postgres, username="postgres")

    one, two = replica(), replica()
    played = long_conversation(one, "frank", 30)
    for n, store in enumerate((two, one, two)):
        events = turn(f"replica turn {n}", "kb_x", time.time() + n)
        played += events
        play(store, "frank", events)
        assert_same_state(run(one.retrieve("frank")), whole(two, "frank"))
    assert run(one.retrieve("frank")).get_slot("name") == "Chanda Mulenga"
    stored = run(two.retrieve_full_tracker("frank"))
    assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in played]
    one.engine.dispose()
    two.engine.dispose()


def test_an_event_broker_gets_each_new_event_once(tmp_path, monkeypatch) -> None:
    class Broker:
        def __init__(self) -> None:
            self.published: list[dict] = []

        def publish(self, body: dict) -> None:
            self.published.append(body)

    monkeypatch.setenv("TRACKER_WINDOW_TURNS", str(WINDOW))
    broker = Broker()
    store = RedactingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"),
                                     event_broker=broker)
    played = long_conversation(store, "gina", 30)
    last = turn("my tpin is 1002003004", "kb_x", time.time())
    play(store, "gina", last)
    assert [b["event"] for b in broker.published] == [e.type_name for e in played + last]
    assert "1002003004" not in str(broker.published[-len(last):])  # redacted, as the rows
