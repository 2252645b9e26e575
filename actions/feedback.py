"""Votes on knowledge answers ("did this help?"), stored with the entry that was answered.

The vote buttons send their own intents (`/feedback_helpful`, `/feedback_not_helpful`) rather
than affirm/deny, which other dialogues use ("check another declaration?"). The entry is taken
from the tracker: the latest `action_answer_knowledge` and the kb_ intent that triggered it.
Clicking twice on the same answer changes the vote instead of adding one.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._tracker import latest_intent
from bot.appdb.votes import last_answer, record_vote
from bot.metrics import registry as metrics
from bot.names import FEEDBACK_ACTION, FEEDBACK_HELPFUL

logger = logging.getLogger(__name__)


class ActionFeedback(Action):
    """Store the vote; after "no", offer to ask in other words or to reach a person."""

    def name(self) -> str:
        return FEEDBACK_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[dict[str, Any]]:
        from bot.content.live import get_knowledge

        kb = get_knowledge()
        intent = latest_intent(tracker)
        helpful = intent == FEEDBACK_HELPFUL
        answer = last_answer(tracker.events)
        if answer is None:
            # A stale button from an earlier session: nothing to attach the vote to.
            dispatcher.utter_message(text=kb.message("feedback_thanks"))
            return []
        metrics.VOTES.labels("helpful" if helpful else "not_helpful").inc()
        try:
            record_vote(tracker.sender_id, answer[0], answer[1], helpful)
        except Exception:  # a lost vote must not break the conversation
            logger.exception("could not store the vote on %s", answer[0])
        if helpful:
            dispatcher.utter_message(text=kb.message("feedback_thanks"))
        else:
            dispatcher.utter_message(
                text=kb.message("feedback_sorry"),
                buttons=[
                    {"title": kb.message("feedback_rephrase_button"), "payload": "/something_else"},
                    {"title": kb.message("feedback_person_button"), "payload": "/request_human"},
                ],
            )
        return []
