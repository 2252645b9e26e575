"""Answer votes, tested the rasa-sdk way: Tracker from a dict, CollectingDispatcher."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import ActionFeedback
from actions.knowledge import ActionAnswerKnowledge, offer_feedback
from bot import appdb
from bot.appdb.models import Vote
from bot.appdb.votes import last_answer, vote_counts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def env(private_knowledge, app_db):
    return private_knowledge


def user(intent: str, ts: float) -> dict:
    return {"event": "user", "text": "x", "timestamp": ts,
            "parse_data": {"intent": {"name": intent}}}


def action(name: str, ts: float) -> dict:
    return {"event": "action", "name": name, "timestamp": ts}


def answered(entry: str, ts: float) -> list[dict]:
    return [user(f"kb_{entry}", ts), action("action_answer_knowledge", ts + 0.1),
            action("action_listen", ts + 0.2)]


def tracker(intent: str, events: list[dict], sender: str = "u1",
            loop: dict | None = None) -> Tracker:
    latest = {"text": f"/{intent}", "intent": {"name": intent, "confidence": 1.0}}
    return Tracker(sender, {}, latest, events, False, None, loop or {}, "action_listen")


def votes() -> list[tuple[str, str, bool]]:
    with appdb.session_scope() as session:
        return [(v.conversation_id, v.entry_id, v.helpful)
                for v in session.execute(sa.select(Vote).order_by(Vote.id)).scalars()]


def test_last_answer_is_the_entry_of_the_latest_knowledge_answer():
    events = answered("import_vat_rate", 10) + answered("what_is_tpin", 20)
    assert last_answer(events) == ("what_is_tpin", 20.1)
    # An answer action not caused by a kb_ intent is skipped, the earlier one counts.
    events += [user("greet", 30), action("action_answer_knowledge", 30.1)]
    assert last_answer(events) == ("what_is_tpin", 20.1)
    assert last_answer([user("greet", 1)]) is None


def test_not_helpful_vote_is_stored_with_the_entry_and_offers_a_person():
    events = answered("import_vat_rate", 10) + [user("feedback_not_helpful", 11)]
    dispatcher = CollectingDispatcher()
    ActionFeedback().run(dispatcher, tracker("feedback_not_helpful", events), {})
    assert votes() == [("u1", "import_vat_rate", False)]
    payloads = [b["payload"] for m in dispatcher.messages for b in m.get("buttons") or []]
    assert payloads == ["/something_else", "/request_human"]


def test_second_click_on_the_same_answer_changes_the_vote():
    events = answered("import_vat_rate", 10) + [user("feedback_not_helpful", 11)]
    ActionFeedback().run(CollectingDispatcher(), tracker("feedback_not_helpful", events), {})
    events += [user("feedback_helpful", 12)]
    ActionFeedback().run(CollectingDispatcher(), tracker("feedback_helpful", events), {})
    assert votes() == [("u1", "import_vat_rate", True)]
    # A later answer gets its own vote.
    events += answered("what_is_tpin", 20) + [user("feedback_not_helpful", 21)]
    ActionFeedback().run(CollectingDispatcher(), tracker("feedback_not_helpful", events), {})
    assert votes() == [("u1", "import_vat_rate", True), ("u1", "what_is_tpin", False)]
    assert vote_counts() == {"import_vat_rate": {"helpful": 1, "not_helpful": 0},
                             "what_is_tpin": {"helpful": 0, "not_helpful": 1}}


def test_vote_without_an_answer_stores_nothing():
    dispatcher = CollectingDispatcher()
    ActionFeedback().run(dispatcher, tracker("feedback_helpful", [user("greet", 1)]), {})
    assert votes() == []
    assert dispatcher.messages


def test_feedback_is_offered_on_the_first_answer_then_every_third():
    session = [{"event": "session_started", "timestamp": 1}]
    offered = []
    events = list(session)
    for n in range(7):
        offered.append(offer_feedback(tracker("kb_import_vat_rate", events)))
        events += answered("import_vat_rate", 10 + n)
    assert offered == [True, False, False, True, False, False, True]
    # A new session starts counting again; never inside a form.
    assert offer_feedback(tracker("kb_x", events + session))
    assert not offer_feedback(tracker("kb_x", session, loop={"name": "handover_form"}))


def test_feedback_cadence_is_the_same_on_the_latest_turns_only():
    """The conversation store may hand actions only the latest turns of a long conversation
    (bot/stores/tracker_window.py): the answers that ask are the same as with the whole session,
    answers inside a form counting without asking."""
    offer = {"event": "bot", "text": "Did this answer help?", "timestamp": 0,
             "data": {"buttons": [{"title": "Yes", "payload": "/feedback_helpful"},
                                  {"title": "No", "payload": "/feedback_not_helpful"}]}}
    events = [{"event": "session_started", "timestamp": 1}]
    whole, cut = [], []
    for n in range(40):
        in_form = n % 11 in (4, 5)
        loop = {"name": "handover_form"} if in_form else None
        whole.append(offer_feedback(tracker("kb_x", events, loop=loop)))
        cut.append(offer_feedback(tracker("kb_x", events[-60:], loop=loop)))
        events = events + answered("import_vat_rate", 10 + n)
        if whole[-1]:
            events.append({**offer, "timestamp": 10.15 + n})
    assert cut == whole
    assert whole[:4] == [True, False, False, True] and sum(whole) >= 10


def test_feedback_cadence_holds_on_a_window_that_misses_the_latest_ask():
    """The answers since the latest "did this help?" are kept in a slot (state the tracker
    window keeps), so a window of the latest two turns asks where the whole session does, even
    when the latest ask lies before the window (a dozen answers inside a form, then more)."""
    def answer(events: list[dict], slots: dict, loop: dict | None) -> tuple[bool, dict]:
        t = Tracker("u1", slots, {"text": "/kb_what_is_tpin",
                               "intent": {"name": "kb_what_is_tpin"}}, events,
                    False, None, loop or {}, "action_listen")
        dispatcher = CollectingDispatcher()
        returned = ActionAnswerKnowledge().run(dispatcher, t, {})
        asked = any(b.get("payload") == "/feedback_helpful" for m in dispatcher.messages
                    for b in m.get("buttons") or [])
        bot = [{"event": "bot", "text": m.get("text"), "timestamp": 0,
                "data": {"buttons": m.get("buttons")}} for m in dispatcher.messages]
        return asked, {"events": bot, "slots": {e["name"]: e["value"] for e in returned}}

    events: list[dict] = [{"event": "session_started", "timestamp": 1}]
    slots: dict = {}
    whole, windowed, counted = [], [], []
    for n in range(30):
        loop = {"name": "handover_form"} if 3 <= n < 15 else None
        asked, out = answer(events, {}, loop)  # the whole session, counted from its events
        window_asked, window_out = answer(events[-8:], slots, loop)
        slots = {**slots, **window_out["slots"]}
        whole.append(asked)
        windowed.append(window_asked)
        counted.append(offer_feedback(tracker("kb_x", events[-8:], loop=loop)))
        events = events + answered("what_is_tpin", 10 + n)[:2] + out["events"] + [
            action("action_listen", 10.3 + n)]
    assert windowed == whole
    assert whole[:4] == [True, False, False, False] and sum(whole) >= 5
    # Counted from the window's events alone, the cadence slips after the long form.
    assert counted != whole


def test_answer_carries_the_vote_buttons_when_offered():
    dispatcher = CollectingDispatcher()
    ActionAnswerKnowledge().run(dispatcher, tracker("kb_import_vat_rate", []), {})
    assert [b["payload"] for b in dispatcher.messages[-1]["buttons"]] == [
        "/feedback_helpful", "/feedback_not_helpful"]
    dispatcher = CollectingDispatcher()
    ActionAnswerKnowledge().run(dispatcher, tracker("kb_import_vat_rate",
                                                    answered("what_is_tpin", 1)), {})
    assert len(dispatcher.messages) == 1
