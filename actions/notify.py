"""The dialogue of status notifications (issue 14): offer after a lookup, opt in, stop.

After a lookup with a status that can still change, `after_lookup` offers "Tell me when it
changes" (a button, or a typed yes: the rules read the `notify_offered` slot) and keeps what
was offered in `notify_offer`. `action_notify_subscribe` records the subscription (channel,
conversation, canonical reference, the status just told, the wording shown; no TPIN);
`action_stop_notifications` works on every channel and ends every subscription of the
person's recipient there (their WhatsApp number, Telegram chat or widget conversation, whichever
conversation made them; channels cannot tell that two of them are one person). Wording:
knowledge/messages.yml, keys `notify_*`; storage: bot.appdb.notifications.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.declarations.backends.base import DeclarationStatus
from bot.appdb import notifications as store
from bot.channels.identity import is_widget_sender
from bot.content.live import get_knowledge
from bot.content.messages import LAST_RESORT
from bot.content.statuses import FINAL_STATUSES
from bot.names import (
    CHECK_DECLARATION_STATUS,
    DENY,
    NOTIFY_OFFER,
    NOTIFY_OFFERED,
    NOTIFY_SUBSCRIBE,
    NOTIFY_SUBSCRIBE_ACTION,
    STOP_NOTIFICATIONS_ACTION,
)

logger = logging.getLogger(__name__)

# Rasa's input channel -> the notification channel (the web widget talks REST).
CHANNELS = {"whatsapp": "whatsapp", "telegram": "telegram", "rest": "web"}


def say(key: str, **values: Any) -> str:
    try:
        kb = get_knowledge()
        return kb.message(key, contact=kb.message("handoff"), **values) or LAST_RESORT
    except Exception:
        logger.exception("notification message %r unavailable", key)
        return LAST_RESORT


def channel_of(tracker: Tracker) -> str | None:
    """The notification channel of this conversation, or None where none can reach it."""
    channel = CHANNELS.get(tracker.get_latest_input_channel() or "")
    if channel in ("whatsapp", "telegram") and not tracker.sender_id.startswith(f"{channel}:"):
        return None  # not a platform-verified identity: nowhere to send
    if channel == "web" and not is_widget_sender(tracker.sender_id):
        return None  # a REST id anyone could guess: its notifications would be anyone's
    return channel


def no_offer() -> list[EventType]:
    """Nothing offered (any lookup sets notify_offered, so the rules after it can read it)."""
    return [SlotSet(NOTIFY_OFFERED, False), SlotSet(NOTIFY_OFFER, None)]


def _another(dispatcher: CollectingDispatcher) -> list[EventType]:
    dispatcher.utter_message(text=say("declaration_another"), buttons=[
        {"title": say("declaration_another_yes_button"), "payload": "/affirm"},
        {"title": say("declaration_another_no_button"), "payload": f"/{DENY}"},
    ])
    return no_offer()


def after_lookup(dispatcher: CollectingDispatcher, tracker: Tracker,
                 found: DeclarationStatus | None) -> list[EventType]:
    """After a lookup: offer updates when the status can still change, else ask about
    another declaration."""
    if found is None or found.status in FINAL_STATUSES or channel_of(tracker) is None \
            or not store.settings().enabled:
        return _another(dispatcher)
    text = say("notify_offer", reference=found.reference, days=str(store.settings().days))
    dispatcher.utter_message(text=text, buttons=[
        {"title": say("notify_yes_button"), "payload": f"/{NOTIFY_SUBSCRIBE}"},
        {"title": say("declaration_another_yes_button"), "payload": f"/{CHECK_DECLARATION_STATUS}"},
        {"title": say("declaration_another_no_button"), "payload": f"/{DENY}"},
    ])
    offer = {"reference": found.reference, "status": found.status,
             "changed": found.last_changed.isoformat(), "text": text}
    return [SlotSet(NOTIFY_OFFERED, True), SlotSet(NOTIFY_OFFER, json.dumps(offer))]


def _offer(tracker: Tracker) -> dict[str, str] | None:
    try:
        offer = json.loads(tracker.get_slot(NOTIFY_OFFER) or "")
    except ValueError:
        return None
    if not isinstance(offer, dict) or not all(isinstance(offer.get(k), str)
                                              for k in ("reference", "status", "changed")):
        return None
    return offer


class ActionNotifySubscribe(Action):
    """Records the opt-in for the declaration just looked up."""

    def name(self) -> str:
        return NOTIFY_SUBSCRIBE_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        offer, channel = _offer(tracker), channel_of(tracker)
        done = no_offer()
        if offer is None or channel is None:
            dispatcher.utter_message(text=say("notify_nothing_offered"))
            return done
        try:
            result = store.subscribe(channel, tracker.sender_id, offer["reference"],
                                     offer["status"], datetime.fromisoformat(offer["changed"]),
                                     offer.get("text") or "")
        except Exception:  # the database is down: say so, keep the conversation going
            logger.exception("subscription not recorded")
            dispatcher.utter_message(text=say("notify_failed"))
            return done
        if result.outcome == "limit":
            dispatcher.utter_message(text=say("notify_limit",
                                              count=str(store.settings().max_per_person)))
        else:
            dispatcher.utter_message(text=say("notify_subscribed", reference=offer["reference"],
                                              days=str(store.settings().days)))
        return done


class ActionStopNotifications(Action):
    """"Stop notifications": ends every subscription of this recipient on this channel."""

    def name(self) -> str:
        return STOP_NOTIFICATIONS_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            ended = store.stop(tracker.sender_id)
        except Exception:
            logger.exception("subscriptions not stopped")
            dispatcher.utter_message(text=say("notify_failed"))
            return []
        dispatcher.utter_message(text=say("notify_stopped", count=str(ended)) if ended
                                 else say("notify_none_to_stop"))
        return no_offer()
