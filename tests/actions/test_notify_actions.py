"""The notification dialogue's actions the rasa-sdk way: a Tracker from a dict, a
CollectingDispatcher, the events and messages asserted (issue 14)."""

from __future__ import annotations

import asyncio
import json

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.declarations.form import ActionCheckDeclaration
from actions.notify import ActionNotifySubscribe, ActionStopNotifications
from bot.appdb import notifications as store
from bot.appdb.demo_data import seed_demo_declarations

WHATSAPP = "whatsapp:260971234567"
WIDGET = "web-" + "5f3a9c0e" * 4  # the widget's form: 128 random bits (web/widget.js)


@pytest.fixture(autouse=True)
def database(app_db, private_knowledge):
    seed_demo_declarations()


def tracker(slots=None, sender=WHATSAPP, channel="whatsapp", text="1002003004") -> Tracker:
    return Tracker.from_dict({
        "sender_id": sender,
        "slots": {"declaration_reference": None, "declaration_tpin": None,
                  "notify_offered": None, "notify_offer": None, **(slots or {})},
        "latest_message": {"text": text, "intent": {"name": "inform", "confidence": 0.9},
                           "entities": []},
        "events": [{"event": "user", "text": text, "input_channel": channel}],
        "paused": False, "followup_action": None, "active_loop": {},
        "latest_action_name": "action_listen",
    })


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return slots, dispatcher.messages


def lookup(reference: str, tpin: str = "1002003004", **kw):
    return run(ActionCheckDeclaration(), tracker(
        {"declaration_reference": reference, "declaration_tpin": tpin}, **kw))


def test_a_status_that_can_change_gets_the_offer_with_a_button():
    slots, messages = lookup("2026 LSK C 10452")
    assert "assessed" in messages[0]["text"]
    assert messages[1]["text"].startswith("Would you like me to tell you here when declaration "
                                          "2026 LSK C 10452 changes?")
    assert [b["payload"] for b in messages[1]["buttons"]] == [
        "/notify_subscribe", "/check_declaration_status", "/deny"]
    assert messages[1]["buttons"][0]["title"] == "Notify me of changes"
    assert slots["notify_offered"] is True
    offer = json.loads(slots["notify_offer"])
    assert offer["reference"] == "2026 LSK C 10452" and offer["status"] == "assessed"
    assert "1002003004" not in slots["notify_offer"]


@pytest.mark.parametrize("reference, tpin", [("2026 CHR C 20871", "1002003004"),
                                             ("2025 LSK C 99881", "3004005006"),
                                             ("2026 LSK C 10452", "9999999999")])
def test_a_final_status_or_no_match_gets_no_offer(reference, tpin):
    slots, messages = lookup(reference, tpin)
    assert slots["notify_offered"] is False
    assert all(b["payload"] != "/notify_subscribe" for m in messages for b in m["buttons"])


def test_a_rest_client_claiming_a_whatsapp_id_gets_no_offer():
    slots, _ = lookup("2026 LSK C 10452", sender="260971234567")
    assert slots["notify_offered"] is False


def test_yes_records_the_subscription_without_the_tpin():
    slots, _ = lookup("2026 LSK C 10452")
    _, messages = run(ActionNotifySubscribe(), tracker(slots, text="yes"))
    assert "I'll tell you here when declaration 2026 LSK C 10452 changes" in messages[0]["text"]
    (sub,) = store.open_subscriptions()
    assert (sub.channel, sub.recipient, sub.reference, sub.last_status) == (
        "whatsapp", WHATSAPP, "2026 LSK C 10452", "assessed")
    assert sub.consent_text.startswith("Would you like me to tell you")
    assert "1002003004" not in " ".join(str(v) for v in vars(sub).values())


def test_the_widget_subscribes_on_the_web_channel():
    slots, _ = lookup("2026 KZL C 3310", "2003004005", sender=WIDGET, channel="rest")
    run(ActionNotifySubscribe(), tracker(slots, sender=WIDGET, channel="rest"))
    assert [s.channel for s in store.open_subscriptions()] == ["web"]


@pytest.mark.parametrize("sender", ["1", "web-abc", "web-" + "5f3a9c0e" * 3, WIDGET.upper(),
                                    "web-5f3a9c0e-5f3a-4c0e-9f3a-9c0e5f3a9c0e"])
def test_a_rest_sender_anyone_could_guess_gets_no_web_offer(sender):
    slots, messages = lookup("2026 KZL C 3310", "2003004005", sender=sender, channel="rest")
    assert slots["notify_offered"] is False
    assert all(b["payload"] != "/notify_subscribe" for m in messages for b in m["buttons"])
    _, messages = run(ActionNotifySubscribe(), tracker(
        {"notify_offer": json.dumps({"reference": "2026 KZL C 3310", "status": "assessed",
                                     "changed": "2026-11-26T09:40:00+00:00"})},
        sender=sender, channel="rest"))
    assert "first check a declaration" in messages[0]["text"]
    assert store.open_subscriptions() == []


@pytest.mark.parametrize("value", ["off", "false", "0"])
def test_no_offer_when_notifications_are_off(monkeypatch, value):
    monkeypatch.setenv("NOTIFY_ENABLED", value)
    slots, messages = lookup("2026 LSK C 10452")
    assert slots["notify_offered"] is False
    assert "assessed" in messages[0]["text"]  # the lookup itself is answered
    assert all(b["payload"] != "/notify_subscribe" for m in messages for b in m["buttons"])
    monkeypatch.setenv("NOTIFY_ENABLED", "on")
    assert lookup("2026 LSK C 10452")[0]["notify_offered"] is True


def test_subscribing_without_an_offer_says_how():
    slots, messages = run(ActionNotifySubscribe(), tracker(text="tell me when it changes"))
    assert "first check a declaration" in messages[0]["text"]
    assert store.open_subscriptions() == [] and slots["notify_offered"] is False


def test_the_limit_per_person_is_said(monkeypatch):
    monkeypatch.setenv("NOTIFY_MAX_PER_PERSON", "1")
    run(ActionNotifySubscribe(), tracker(lookup("2026 LSK C 10452")[0]))
    slots, _ = lookup("2026 NAK C 77", "2003004005")
    _, messages = run(ActionNotifySubscribe(), tracker(slots))
    assert "already get updates about 1 declarations" in messages[0]["text"]
    assert len(store.open_subscriptions()) == 1


def test_stop_notifications_ends_them_all():
    run(ActionNotifySubscribe(), tracker(lookup("2026 LSK C 10452")[0]))
    run(ActionNotifySubscribe(), tracker(lookup("2026 KZL C 3310", "2003004005")[0]))
    _, messages = run(ActionStopNotifications(), tracker(text="stop notifications"))
    assert "stopped the updates (2 declaration(s))" in messages[0]["text"]
    assert store.open_subscriptions() == []
    _, messages = run(ActionStopNotifications(), tracker(text="stop notifications"))
    assert messages[0]["text"] == "You have no declaration updates to stop."


def test_database_down_is_said_not_raised(monkeypatch):
    slots, _ = lookup("2026 LSK C 10452")
    monkeypatch.setenv("CUSTOMS_DB_URL", "postgresql://nobody@127.0.0.1:9/none")
    from bot import appdb

    appdb.dispose_engines()
    _, messages = run(ActionNotifySubscribe(), tracker(slots))
    assert "technical problem" in messages[0]["text"]
    _, messages = run(ActionStopNotifications(), tracker())
    assert "technical problem" in messages[0]["text"]
