"""A long conversation read back as its latest turns plus the state before them.

Rasa reads the whole session back at every message, replays every event into a tracker,
recomputes the dialogue state at every past action for each policy prediction and sends every
event to the action server: at turn 500 of one conversation a turn cost 8x turn 10 (371 ms
against 46 ms, `make bench`), 40 % of it in the policy's state history, 30 % reading and
replaying, 15 % the action server's payload (cProfile).

What a turn needs is bounded: the rules look a few states back, follow-ups two user messages
(bot/patches/understanding.py), the hand-over after two failures, the feedback cadence back to
the last "did this help?" (actions/knowledge.py); slots and the active form are state. So a
session longer than `window_turns + step_turns` user messages is handed out as

    synthetic snapshot (SlotSet for every slot not at its initial value, the active loop with
    its interrupted/rejected flags) + the stored events of the latest `window_turns` to
    `window_turns + step_turns` user messages,

the snapshot being the state of Rasa's own replay of every earlier event (the "prefix"). The
prefix is replayed once and kept per conversation in this process, then moved forward by
`step_turns` at a time, so a turn reads and replays O(window) events whatever the length.

Correct with several replicas on one database: the latest turns are always read from the
database, and the kept prefix is used only while the database still holds exactly the rows it
was built from (their count and last id, and no new session since); otherwise it is rebuilt
from the database. What is stored is unchanged: the store writes only the events after the
window (`stored_count`), never the snapshot. Ticket transcripts hold the window's turns.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# Set on the first event of a tracker handed out by a window: how many of its leading events
# are already stored or synthetic (the store writes only those after). Copies of the tracker
# share the event objects, so they carry it too.
STORED_MARK = "_customs_window_stored"
# Events a kept prefix tracker holds (its state is in its slots and loop, not its events): the
# memory of a long conversation stays bounded. Only a revert event (`action_back`, unused here)
# would replay from them.
PREFIX_EVENTS = 100


@dataclass
class Prefix:
    """Rasa's replay of a session's events up to the row `cut_id` (kept between turns)."""

    first_id: int  # first row of the session
    cut_id: int  # last row replayed into `tracker`
    count: int  # rows of the session with first_id <= id <= cut_id
    tracker: Any  # DialogueStateTracker


def user_turn_starts(events: list[Any]) -> list[int]:
    """Indexes of the `action_listen` events directly followed by a user message."""
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, UserUttered

    return [i for i in range(len(events) - 1)
            if isinstance(events[i], ActionExecuted)
            and events[i].action_name == ACTION_LISTEN_NAME
            and isinstance(events[i + 1], UserUttered)]


def snapshot(prefix: Any, timestamp: float) -> list[Any]:
    """Events that put a fresh tracker in the prefix tracker's state: slots and active loop."""
    from rasa.shared.core.events import (
        ActionExecutionRejected,
        ActiveLoop,
        LoopInterrupted,
        SlotSet,
    )

    events: list[Any] = []
    for name, slot in prefix.slots.items():
        if slot.value != slot.initial_value:
            events.append(SlotSet(name, slot.value, timestamp=timestamp))
    loop = prefix.active_loop
    if loop is not None and loop.name:
        events.append(ActiveLoop(loop.name, timestamp=timestamp))
        if loop.is_interrupted:
            events.append(LoopInterrupted(True, timestamp=timestamp))
        if loop.rejected:
            events.append(ActionExecutionRejected(loop.name, timestamp=timestamp))
    return events


class TrackerWindows:
    """The prefixes of this process's long conversations, least recently used dropped."""

    def __init__(self, window_turns: int = 20, step_turns: int = 10, keep: int = 256) -> None:
        self.window_turns, self.step_turns, self.keep = window_turns, step_turns, keep
        self._prefixes: OrderedDict[str, Prefix] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.window_turns > 0

    def forget(self, sender_id: str) -> None:
        self._prefixes.pop(sender_id, None)

    def _keep(self, sender_id: str, prefix: Prefix) -> None:
        self._prefixes[sender_id] = prefix
        self._prefixes.move_to_end(sender_id)
        while len(self._prefixes) > self.keep:
            self._prefixes.popitem(last=False)

    def tracker(self, sender_id: str, read: Any, slots: Any) -> Any:
        """The tracker of the latest session, windowed when it is long; None if there are no
        events. `read` is the store's reader (`WindowReader`)."""
        from rasa.shared.core.events import Event
        from rasa.shared.core.trackers import DialogueStateTracker

        prefix = self._prefixes.get(sender_id)
        if prefix is not None and not read.still_holds(sender_id, prefix):
            self.forget(sender_id)
            prefix = None
        if prefix is None:
            rows = read.session_rows(sender_id)
            if not rows:
                return None
            events = [Event.from_parameters(json.loads(data)) for _, data in rows]
            starts = user_turn_starts(events)
            if len(starts) <= self.window_turns + self.step_turns:
                return DialogueStateTracker.from_events(sender_id, events, slots)
            cut = starts[-self.window_turns]  # the tail begins at this action_listen
            prefix = Prefix(first_id=rows[0][0], cut_id=rows[cut - 1][0], count=cut,
                            tracker=DialogueStateTracker.from_events(
                                sender_id, events[:cut], slots, PREFIX_EVENTS))
            tail_rows, tail = rows[cut:], events[cut:]
        else:
            tail_rows = read.rows_after(sender_id, prefix.cut_id)
            tail = [Event.from_parameters(json.loads(data)) for _, data in tail_rows]
            if any(e.type_name == "session_started" for e in tail):
                self.forget(sender_id)  # a new session: read it as Rasa does
                return self.tracker(sender_id, read, slots)
            starts = user_turn_starts(tail)
            if len(starts) > self.window_turns + self.step_turns:
                cut = starts[-self.window_turns]
                for event in tail[:cut]:
                    prefix.tracker.update(event)
                prefix.cut_id, prefix.count = tail_rows[cut - 1][0], prefix.count + cut
                tail_rows, tail = tail_rows[cut:], tail[cut:]
        self._keep(sender_id, prefix)
        synthetic = snapshot(prefix.tracker, tail[0].timestamp if tail else 0.0)
        tracker = DialogueStateTracker.from_events(sender_id, synthetic + tail, slots)
        loop, kept = tracker.active_loop, prefix.tracker.active_loop
        if loop is not None and kept is not None and loop.name == kept.name and not any(
                e.type_name == "active_loop" for e in tail):
            loop.trigger_message = kept.trigger_message  # not carried by an event
        if tracker.events:
            setattr(tracker.events[0], STORED_MARK, len(synthetic) + len(tail))
        return tracker


def stored_count(tracker: Any) -> int | None:
    """How many leading events of this tracker the store must not write (a windowed tracker
    or a copy of one); None for a tracker read whole."""
    events = tracker.events
    return getattr(events[0], STORED_MARK, None) if events else None


class WindowReader:
    """The three reads a window needs, in plain SQL on Rasa's events table."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _execute(self, sql: str, **params: Any) -> list:
        import sqlalchemy

        with self.store.session_scope() as session:
            return session.execute(sqlalchemy.text(sql), params).all()

    @property
    def table(self) -> str:
        return self.store.SQLEvent.__tablename__

    def session_rows(self, sender_id: str) -> list[tuple[int, str]]:
        """(id, data) of the latest session, as Rasa's query selects them."""
        from rasa.shared.core.events import SessionStarted

        sql = self.store._session_events_sql("id, data", all_sessions=False).text
        return [tuple(r) for r in self._execute(sql, sender_id=sender_id,
                                                started=SessionStarted.type_name)]

    def rows_after(self, sender_id: str, after_id: int) -> list[tuple[int, str]]:
        return [tuple(r) for r in self._execute(
            f"SELECT id, data FROM {self.table} WHERE sender_id = :sender_id AND id > :after "
            "ORDER BY id", sender_id=sender_id, after=after_id)]

    def still_holds(self, sender_id: str, prefix: Prefix) -> bool:
        """Whether the database still has exactly the rows the prefix was replayed from."""
        (count, last), = self._execute(
            f"SELECT count(*), max(id) FROM {self.table} WHERE sender_id = :sender_id "
            "AND id >= :first AND id <= :cut", sender_id=sender_id, first=prefix.first_id,
            cut=prefix.cut_id)
        return count == prefix.count and last == prefix.cut_id
