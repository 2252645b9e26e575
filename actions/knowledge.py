"""Actions that answer from the knowledge base, read live from knowledge/ at every request.

The model only decides *which* entry (intent kb_<id>); the words come from the YAML that support
staff edit, so an answer edit is live without retraining.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._tracker import intent_of, latest_intent
from bot.content.answers import answer_text
from bot.content.live import get_knowledge
from bot.content.model import KnowledgeBase
from bot.names import (
    ANSWER_ACTION,
    ASK_CAPABILITIES,
    BROWSE_ACTION,
    BROWSE_CATEGORY,
    CATEGORY_ENTITY,
    CHECK_DECLARATION_STATUS,
    CLARIFY_ACTION,
    FEEDBACK_COUNT,
    HANDOVER_FORM,
    INTENT_PREFIX,
    NLU_FALLBACK,
    OUT_OF_SCOPE,
    REPLY_ACTION,
    REQUEST_HUMAN,
    SOMETHING_ELSE,
)

logger = logging.getLogger(__name__)

# Offer a topic as a "did you mean" suggestion only above this confidence.
SUGGESTION_MIN_CONFIDENCE = 0.05
MAX_SUGGESTIONS = 3
# Intents that count as "the bot did not understand" for the hand-over rule; "something else"
# (the user declining the suggestions) neither counts nor breaks the run.
NOT_UNDERSTOOD = {NLU_FALLBACK, OUT_OF_SCOPE}
TRANSPARENT = {SOMETHING_ELSE}
# "Did this help?" follows the 1st knowledge answer of a session, then every Nth one (4th,
# 7th...): enough votes for the support unit without asking on every turn. Not inside a form.
FEEDBACK_EVERY_N_ANSWERS = 3


def _button(title: str, payload: str) -> dict[str, str]:
    return {"title": title, "payload": payload}


def entry_button(kb: KnowledgeBase, entry_id: str) -> dict[str, str] | None:
    entry = kb.entries.get(entry_id)
    if entry is None:
        return None
    return _button(kb.fill(entry.question), f"/{INTENT_PREFIX}{entry.id}")


class ActionAnswerKnowledge(Action):
    """Answer the knowledge entry named by the latest intent, offering related entries."""

    def name(self) -> str:
        return ANSWER_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[dict[str, Any]]:
        kb = get_knowledge()
        # Two questions in one message (bot.understanding): every entry, in the order asked.
        intents = (tracker.latest_message or {}).get("compound") or [latest_intent(tracker)]
        entries = [kb.entry_for_intent(intent) for intent in intents]
        if not any(entries):
            # The model knows an entry that knowledge/ no longer has (removed or renamed
            # without a retrain): say so honestly rather than answer something else.
            logger.warning("no knowledge entry for intent %s: retrain after removing entries",
                           intents)
            dispatcher.utter_message(text=kb.message("answer_unavailable"))
            return []
        answered = [e for e in entries if e is not None]
        offered = _offered(kb, tracker, {e.id for e in answered})
        for i, entry in enumerate(answered):
            last = i == len(answered) - 1
            related = [r for r in entry.related if r not in offered] if last else []
            buttons = [b for b in (entry_button(kb, r) for r in related) if b]
            dispatcher.utter_message(text=answer_text(kb, entry.id), buttons=buttons or None)
        if offered:
            # Another question of the message, not clear enough to answer: a button to tap.
            dispatcher.utter_message(text=kb.message("offer_also_asked"), buttons=[
                b for b in (entry_button(kb, o) for o in offered) if b])
        count = answers_since_feedback(tracker)
        asks = offer_feedback(tracker, count)
        if asks:
            dispatcher.utter_message(text=kb.message("feedback_ask"), buttons=[
                _button(kb.message("feedback_yes_button"), "/feedback_helpful"),
                _button(kb.message("feedback_no_button"), "/feedback_not_helpful"),
            ])
        return [SlotSet(FEEDBACK_COUNT, 0 if asks else count + 1)]


def _offered(kb: KnowledgeBase, tracker: Tracker, answered: set[str]) -> list[str]:
    """The entries bot.understanding offers beside the answer (parse "offer"): those the
    knowledge base still has, not answered."""
    offer = (tracker.latest_message or {}).get("offer") or []
    entries = [kb.entry_for_intent(intent) for intent in offer]
    return [e.id for e in entries if e is not None and e.id not in answered]


def _asks_feedback(event: dict[str, Any]) -> bool:
    buttons = (event.get("data") or {}).get("buttons") or []
    return any(b.get("payload") == "/feedback_helpful" for b in buttons if isinstance(b, dict))


def answers_since_feedback(tracker: Tracker) -> int:
    """Knowledge answers since the latest "did this help?" (FEEDBACK_EVERY_N_ANSWERS - 1 more
    when none asked yet this session, so the session's first answer asks).

    Kept in a slot, since the conversation store may hand the actions only the latest turns of
    a long conversation (bot/stores/tracker_window.py), which need not reach back to the latest
    ask; the slot is state the window keeps. Without it (a session started before the slot
    existed) it is counted from the events, back to the latest answer that asked."""
    kept = tracker.get_slot(FEEDBACK_COUNT)
    if kept is not None:
        return int(kept)
    since = 0  # answers after the latest one that asked
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "session_started":
            break
        if kind == "bot" and _asks_feedback(event):
            return since
        if kind == "action" and event.get("name") == ANSWER_ACTION:
            since += 1
    return since + FEEDBACK_EVERY_N_ANSWERS - 1


def offer_feedback(tracker: Tracker, count: int | None = None) -> bool:
    """Whether this answer asks "did this help?": the session's first answer and every
    FEEDBACK_EVERY_N_ANSWERS-th after it (answers inside a form count, but never ask).
    `count`: `answers_since_feedback(tracker)`, when the caller has it already."""
    if (tracker.active_loop or {}).get("name"):
        return False
    if count is None:
        count = answers_since_feedback(tracker)
    return count % FEEDBACK_EVERY_N_ANSWERS == FEEDBACK_EVERY_N_ANSWERS - 1


def _hand_over(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Second failure in a row: say so, then start the hand-over form (name, question, contact)."""
    dispatcher.utter_message(text=kb.message("still_not_understood"))
    dispatcher.utter_message(text=kb.message("handoff_intro"))
    return [FollowupAction(HANDOVER_FORM)]


def _consecutive_not_understood(tracker: Tracker) -> int:
    """How many of the user's latest messages in a row the bot could not place."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        name = intent_of(event)
        if name in TRANSPARENT:
            continue
        if name in NOT_UNDERSTOOD:
            count += 1
        else:
            break
    return count


class ActionReply(Action):
    """The bot's own messages (greeting, thanks, hand-over...), by the latest intent."""

    def name(self) -> str:
        return REPLY_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[dict[str, Any]]:
        kb = get_knowledge()
        intent = latest_intent(tracker)
        if intent == ASK_CAPABILITIES:
            buttons = [_button(c.name, f"/{BROWSE_CATEGORY}{json.dumps({CATEGORY_ENTITY: c.name})}")
                       for c in kb.categories if c.entry_ids]
            if CHECK_DECLARATION_STATUS in domain.get("intents", []):
                buttons.append(_button(kb.message("check_status_button"),
                                       "/check_declaration_status"))
            dispatcher.utter_message(text=kb.message("capabilities"), buttons=buttons)
            return []
        if intent in (OUT_OF_SCOPE, SOMETHING_ELSE) and _consecutive_not_understood(
            tracker
        ) >= 2:
            return _hand_over(dispatcher, kb)
        key = {REQUEST_HUMAN: "handoff"}.get(intent, intent)
        text = kb.message(key) or kb.message(SOMETHING_ELSE)
        dispatcher.utter_message(text=text)
        return []


class ActionClarify(Action):
    """Not sure: offer the likeliest topics as buttons instead of guessing."""

    def name(self) -> str:
        return CLARIFY_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[dict[str, Any]]:
        kb = get_knowledge()
        if _consecutive_not_understood(tracker) >= 2:
            return _hand_over(dispatcher, kb)
        ranking = tracker.latest_message.get("intent_ranking") or []
        buttons = []
        for item in ranking:
            name = item.get("name") or ""
            if (name.startswith(INTENT_PREFIX)
                    and (item.get("confidence") or 0) >= SUGGESTION_MIN_CONFIDENCE):
                button = entry_button(kb, name[len(INTENT_PREFIX):])
                if button:
                    buttons.append(button)
            if len(buttons) == MAX_SUGGESTIONS:
                break
        if not buttons:
            dispatcher.utter_message(text=kb.message(OUT_OF_SCOPE))
            return []
        buttons.append(_button(kb.message("something_else_button"), "/something_else"))
        dispatcher.utter_message(text=kb.message("clarify"), buttons=buttons)
        return []


class ActionBrowseCategory(Action):
    """List a category's questions as buttons (reached from the "what can you do" menu)."""

    def name(self) -> str:
        return BROWSE_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[dict[str, Any]]:
        kb = get_knowledge()
        wanted = next(tracker.get_latest_entity_values(CATEGORY_ENTITY), None)
        category = next((c for c in kb.categories
                         if wanted and c.name.lower() == str(wanted).lower()), None)
        if category is None:
            return ActionReply().run(dispatcher, _as_capabilities(tracker), domain)
        buttons = [b for b in (entry_button(kb, i) for i in category.entry_ids) if b]
        dispatcher.utter_message(text=kb.message("category_intro").replace(
            "{category}", category.name), buttons=buttons)
        return []


def _as_capabilities(tracker: Tracker) -> Tracker:
    latest = dict(tracker.latest_message)
    latest["intent"] = {"name": ASK_CAPABILITIES, "confidence": 1.0}
    return Tracker(tracker.sender_id, tracker.slots, latest, tracker.events,
                   tracker.is_paused(), tracker.followup_action, tracker.active_loop,
                   tracker.latest_action_name)
