"""bot/patches/replay.py: which stored replies answer a repeated message id."""

from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.rest_limits import BadRequest, parse_body
from bot.patches.replay import ReusedMessageId, earlier_replies
from bot.settings.rest import RestLimits

BUTTONS = [{"title": "Yes", "payload": "/affirm"}]


def tracker() -> DialogueStateTracker:
    events = [
        UserUttered("hello", {"name": "greet"}, message_id="m1"),
        ActionExecuted("action_reply"),
        BotUttered("Hello!", {"buttons": BUTTONS}),
        BotUttered("How can I help?"),
        ActionExecuted("action_listen"),
        UserUttered("duty on cars", {"name": "kb_x"}, message_id="m2"),
        ActionExecuted("action_answer"),
        BotUttered("Cars pay duty."),
        ActionExecuted("action_listen"),
        UserUttered("silence", {"name": "x"}, message_id="m3"),
        ActionExecuted("action_listen"),
    ]
    return DialogueStateTracker.from_events("s", events, Domain.empty().slots)


def test_replies_of_a_stored_message_are_the_bot_messages_after_it() -> None:
    t = tracker()
    assert earlier_replies(t, "m1") == [{"text": "Hello!", "buttons": BUTTONS},
                                        {"text": "How can I help?"}]
    assert earlier_replies(t, "m2") == [{"text": "Cars pay duty."}]


def test_unknown_or_unanswered_messages_are_not_replayed() -> None:
    t = tracker()
    assert earlier_replies(t, "m9") is None
    assert earlier_replies(None, "m1") is None
    # Stored without any answer (a turn that ended in silence): run it again, not silence.
    assert earlier_replies(t, "m3") is None


def test_an_id_stored_for_other_words_is_refused_not_replayed() -> None:
    """A client that reuses an id for a new question would otherwise get the old answer."""
    t = tracker()
    assert earlier_replies(t, "m2", "duty on cars") == [{"text": "Cars pay duty."}]
    with pytest.raises(ReusedMessageId):
        earlier_replies(t, "m2", "duty on trucks")
    assert earlier_replies(t, "m9", "anything") is None  # a new id is a new message


def test_the_words_are_compared_as_the_store_keeps_them() -> None:
    """The SQL store masks TPINs, so the retry of a message with a TPIN is still the same."""
    events = [UserUttered("my tpin is ******3004", {"name": "x"}, message_id="m1"),
              BotUttered("Thank you.")]
    t = DialogueStateTracker.from_events("s", events, Domain.empty().slots)
    assert earlier_replies(t, "m1", "my tpin is 1002003004") == [{"text": "Thank you."}]
    with pytest.raises(ReusedMessageId):
        earlier_replies(t, "m1", "my tpin is 1002003005")


@pytest.mark.parametrize("bad", ["", "x" * 101, "has space", "<script>", 5, ["a"]])
def test_bad_message_ids_are_refused_with_a_clear_error(bad: object) -> None:
    body = {"sender": "s", "message": "hi", "message_id": bad}
    import json

    with pytest.raises(BadRequest) as refused:
        parse_body(json.dumps(body).encode(), RestLimits())
    assert refused.value.status == 400
    assert refused.value.body()["error"] == "invalid_message_id"


def test_good_message_ids_are_kept() -> None:
    import json

    fields = parse_body(json.dumps({"sender": "s", "message": "hi",
                                    "message_id": "web-1f2e:3.4_5"}).encode(), RestLimits())
    assert fields["message_id"] == "web-1f2e:3.4_5"
    assert parse_body(b'{"sender": "s", "message": "hi"}', RestLimits())["message_id"] is None


def test_the_check_read_is_handed_to_the_turn_once(tmp_path) -> None:
    """A message with an id costs one read of the conversation: the turn gets the tracker the
    repeat check just read, once, and only for that conversation."""
    import asyncio

    from bot.patches import replay
    from bot.stores.tracker_store import RedactingSQLTrackerStore

    store = RedactingSQLTrackerStore(domain=Domain.empty(), dialect="sqlite",
                                     db=str(tmp_path / "t.db"))
    asyncio.run(store.save(tracker()))
    checked = tracker()

    async def turn() -> None:
        replay._prefetched.set(("s", checked))
        assert await store.retrieve("other") is None  # another conversation: not handed over
        assert await store.retrieve("s") is checked  # the turn's own read
        again = await store.retrieve("s")  # any later read comes from the store
        assert again is not checked and len(again.events) == len(checked.events)

    asyncio.run(turn())
    assert replay.take_prefetched("s") is None  # nothing leaks out of the task
