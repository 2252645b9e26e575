"""What became of one user message: answered, clarified, declined, handed over, or other.

Decided in the Rasa server from the events of the turn (the user's message and what followed
it), because every answer is a custom action whose name says what the bot did:

- handed_over: the hand-over started (`action_start_handover`, or the hand-over form activated
  after a second message the bot could not place);
- answered: a knowledge answer was given, or a declaration lookup was answered (found or
  not, limited or unavailable: `customs_declaration_lookups_total` says which), as the
  support report counts it;
- clarified: "did you mean" buttons were offered (`action_clarify` with buttons);
- declined: out of scope, another language, a domestic-tax question (answered by
  `action_reply`; inside a form such a message is the answer to the form's question), or
  `action_clarify` without a likely topic;
- other: greetings, thanks, votes, answers to a form's questions, a repeated message.

The channel adds `failed` when the turn got the technical-problem apology. A patch on Rasa's
prediction loop (bot/patches/observe.py) classifies each turn and notes the result here for
the channel's turn (`bot.channels.turns.run_turn`), which counts it once.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping
from typing import Any

from bot.names import (
    ANSWER_ACTION,
    CHECK_DECLARATION_ACTION,
    CLARIFY_ACTION,
    DOMESTIC_TAX,
    HANDOVER_FORM,
    OTHER_LANGUAGE,
    OUT_OF_SCOPE,
    REPLY_ACTION,
    START_HANDOVER_ACTION,
)

ANSWERED, CLARIFIED, DECLINED, HANDED_OVER, OTHER, FAILED = (
    "answered", "clarified", "declined", "handed_over", "other", "failed")
DECLINED_INTENTS = frozenset({OUT_OF_SCOPE, OTHER_LANGUAGE, DOMESTIC_TAX})
ANSWER_ACTIONS = frozenset({ANSWER_ACTION, CHECK_DECLARATION_ACTION})

_noted: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "turn_outcome", default=None)


def classify(turn: Iterable[Mapping[str, Any]]) -> str:
    """The outcome of a turn from its events in rasa-sdk form ({"event": "user" | "action" |
    "active_loop" | "bot", ...}): the user's message and what followed it."""
    intent = None
    actions: set[str] = set()
    loops: set[str] = set()
    buttons = False
    for event in turn:
        kind = event.get("event")
        if kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        elif kind == "action":
            actions.add(event.get("name") or "")
        elif kind == "active_loop":
            loops.add(event.get("name") or "")
        elif kind == "bot":
            buttons = buttons or bool((event.get("data") or {}).get("buttons"))
    if START_HANDOVER_ACTION in actions or HANDOVER_FORM in loops:
        return HANDED_OVER
    if actions & ANSWER_ACTIONS:
        return ANSWERED
    if CLARIFY_ACTION in actions:
        return CLARIFIED if buttons else DECLINED
    if intent in DECLINED_INTENTS and REPLY_ACTION in actions:
        return DECLINED  # not inside a form, where the message answers the form's question
    return OTHER


def begin() -> tuple[list[str], contextvars.Token]:
    """Open the note for the turn about to run in this context (the channel calls this)."""
    note: list[str] = []
    return note, _noted.set(note)


def end(token: contextvars.Token) -> None:
    _noted.reset(token)


def note(outcome: str) -> None:
    """Record the outcome of the turn running in this context (nothing outside a turn)."""
    current = _noted.get()
    if current is not None:
        current.append(outcome)
