"""The actions the rules choose, run in-process on a Rasa tracker: what a user would be sent.

For `python -m bot ask`, which tries the trained bot without servers. The real actions run, so
the reply shown is the one users get; they live here, beside the in-process evaluation, because
the support layer never imports `actions` (it would pull rasa_sdk into every staff tool).
Imported lazily: rasa and rasa_sdk are loaded only when an action runs.
"""

from __future__ import annotations

from typing import Any

from bot.names import INTENT_PREFIX, NLU_FALLBACK, REQUEST_HUMAN


def action_for(intent: str) -> Any:
    """The action data/core/rules.yml runs for an intent (the answer action for kb_ intents)."""
    from actions.handoff import ActionStartHandover
    from actions.knowledge import ActionAnswerKnowledge, ActionClarify, ActionReply

    if intent.startswith(INTENT_PREFIX):
        return ActionAnswerKnowledge()
    if intent == NLU_FALLBACK:
        return ActionClarify()
    if intent == REQUEST_HUMAN:
        return ActionStartHandover()
    return ActionReply()


def handover_first_question() -> Any:
    """The hand-over form's first question (what the form asks once it starts)."""
    from actions.handoff import ActionAskHandoverName

    return ActionAskHandoverName()


def run(action: Any, tracker: Any, domain: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """(messages sent, events returned) of one action run on a Rasa DialogueStateTracker."""
    from rasa.shared.core.trackers import EventVerbosity
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    state = tracker.current_state(EventVerbosity.ALL)
    events = action.run(dispatcher, Tracker.from_dict(state), domain) or []
    return dispatcher.messages, [e for e in events if isinstance(e, dict)]
