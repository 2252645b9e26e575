"""Rasa actions of the declaration status check: collect reference and TPIN, look up, answer.

Thin by design: parsing is in `reference`, lookups behind `backends`, limits in
bot.appdb.attempts, every sentence in knowledge/messages.yml (keys `declaration_*`) and the
status words in knowledge/statuses.yml (bot.content.statuses), both live-editable.

The tracker store masks TPINs, so a TPIN only exists in clear during the turn it was typed:
the form asks for the reference first and the TPIN last, the lookup runs in the turn the TPIN
arrives, and a TPIN left over from an earlier turn (masked) counts as not given.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._tracker import latest_intent, person
from actions.declarations.backends import get_backend
from actions.declarations.backends.base import DeclarationStatus, StatusServiceUnavailable
from actions.declarations.reference import (
    EXAMPLE_REFERENCE,
    InvalidReference,
    InvalidTpin,
    find_reference,
    find_tpin,
    is_tpin,
    parse_reference,
    parse_tpin,
)
from actions.interruptions import LEAVES, interruption, respond
from actions.notify import after_lookup, no_offer
from bot.appdb.attempts import AttemptLimiter
from bot.content.live import get_knowledge
from bot.content.messages import LAST_RESORT
from bot.content.statuses import StatusTexts, load_status_texts
from bot.metrics import registry as metrics
from bot.names import (
    AFFIRM,
    ASK_CAPABILITIES,
    BOT_CHALLENGE,
    BROWSE_CATEGORY,
    CANCEL_DECLARATION_ACTION,
    CHECK_DECLARATION_ACTION,
    CHECK_DECLARATION_STATUS,
    DECLARATION_FORM,
    DECLARATION_REFERENCE,
    DECLARATION_RETRY,
    DECLARATION_TPIN,
    DENY,
    GOODBYE,
    GREET,
    INTENT_PREFIX,
    NLU_FALLBACK,
    OUT_OF_SCOPE,
    REQUEST_HUMAN,
    SOMETHING_ELSE,
    STOP,
    STOP_NOTIFICATIONS,
    THANK,
    VALIDATE_DECLARATION_FORM,
)
from bot.privacy import install_log_redaction, mask_tpin
from bot.understanding.clauses import asks

logger = logging.getLogger(__name__)
install_log_redaction()

FORM = DECLARATION_FORM
SLOT_REFERENCE = DECLARATION_REFERENCE
SLOT_TPIN = DECLARATION_TPIN
SLOT_RETRY = DECLARATION_RETRY
REQUESTED_SLOT = "requested_slot"

# Messages that are an answer to the form's question even when they carry no digits.
ATTEMPT_INTENTS = frozenset({CHECK_DECLARATION_STATUS, "inform", NLU_FALLBACK})
# Core intents with their own rules: left alone unless the text parses as what was asked.
OTHER_INTENTS = frozenset({
    STOP, GREET, GOODBYE, THANK, BOT_CHALLENGE, ASK_CAPABILITIES, REQUEST_HUMAN,
    OUT_OF_SCOPE, AFFIRM, DENY, SOMETHING_ELSE, BROWSE_CATEGORY, STOP_NOTIFICATIONS,
})
MAX_CANDIDATE_LENGTH = 500
WRONG_ANSWER_WORDS = 4

# --- wording (support-staff content: knowledge/messages.yml and knowledge/statuses.yml) ------


def say(key: str, **values: str) -> str:
    """A declaration message from messages.yml; {contact} is the "handoff" message.

    `values` fill the message's own placeholders (see bot.content.messages.REQUIRED_MESSAGES).
    The knowledge base must never take a lookup reply down with it: if it cannot be read, or
    the message is missing, the user still gets a way to reach a person.
    """
    try:
        kb = get_knowledge()
        return kb.message(key, contact=kb.message("handoff"), **values) or LAST_RESORT
    except Exception:
        logger.exception("declaration message %r unavailable", key)
        return LAST_RESORT


def unavailable_text() -> str:
    return say("declaration_unavailable")


def limit_text() -> str:
    return say("declaration_limit")


def not_found_text(tpin: str) -> str:
    # The same words for an unknown reference and a wrong TPIN; the reference is not echoed.
    return say("declaration_not_found", tpin=mask_tpin(tpin))


def _date(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def status_text(result: DeclarationStatus, tpin: str, texts: StatusTexts) -> str:
    wording = texts.statuses[result.status]
    lines = [say("declaration_status", reference=result.reference, tpin=mask_tpin(tpin),
                 label=wording["label"].strip())]
    if result.lane:
        lines.append(say("declaration_status_lane", lane=texts.lanes[result.lane].strip()))
    lines.append(say("declaration_status_next", next=wording["next"].strip()))
    lines.append(say("declaration_status_action", action=wording["action"].strip()))
    lines.append(say("declaration_status_changed", date=_date(result.last_changed)))
    return "\n".join(lines)


def _clear_slots() -> list[EventType]:
    # notify_offered is always set after a lookup: the rules after one read it. A lookup that
    # found nothing sets the reference to retry after this (ActionCheckDeclaration).
    return [SlotSet(SLOT_TPIN, None), SlotSet(SLOT_REFERENCE, None), SlotSet(SLOT_RETRY, None),
            *no_offer()]


# --- the form ---------------------------------------------------------------------------------

def _latest_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") if tracker.latest_message else None
    return text if isinstance(text, str) else ""


def _is_attempt(tracker: Tracker) -> bool:
    """Whether the latest message is meant as an answer to the form's question. A few words
    the model puts outside customs and that ask nothing ("Peter Banda" at the TPIN) answer it
    wrongly: the person is told what is asked, not that only customs questions are answered."""
    intent = (tracker.latest_message or {}).get("intent", {}).get("name") or ""
    text = _latest_text(tracker)
    if intent == OUT_OF_SCOPE and len(text.split()) <= WRONG_ANSWER_WORDS and not asks(text):
        return True
    if intent.startswith(INTENT_PREFIX) or intent in OTHER_INTENTS:
        return False
    if intent in ATTEMPT_INTENTS:
        return True
    return any(ch.isdigit() for ch in _latest_text(tracker))


_TYPED_NUMBER = re.compile(r"[0-9](?:[0-9 \-]*[0-9])?")


def _typed_a_tpin(tracker: Tracker) -> bool:
    """At the TPIN question, a message of digits only (spaces and dashes between them allowed)
    is the TPIN, typed rightly or wrongly, whatever the model reads in it: it reads a bare
    number ("10020030041") as the contact-centre entry, a phone number. Its length is checked
    by the TPIN's own validation, which says what is wrong with it."""
    return (tracker.get_slot(REQUESTED_SLOT) == SLOT_TPIN
            and bool(_TYPED_NUMBER.fullmatch(_latest_text(tracker).strip())))


def _locked_out(tracker: Tracker) -> bool:
    try:
        return AttemptLimiter().locked_out(tracker.sender_id, person(tracker))
    except Exception as error:  # the database is down: the lookup itself will say so
        logger.warning("lookup limits unavailable (%s)", type(error).__name__)
        return False


def _just_not_found(tracker: Tracker) -> bool:
    """The bot's turn before the latest message was a lookup (the one that found nothing):
    a TPIN typed later, after other questions, starts a check of its own."""
    users = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            users += 1
            if users > 1:
                return False
        elif users == 1 and kind == "action" and event.get("name") == CHECK_DECLARATION_ACTION:
            return True
    return False


def _retried_reference(tracker: Tracker) -> str | None:
    """The reference the bot's last turn found nothing for, when the message starting the
    form is a TPIN alone ("sorry wrong tpin, its 1002003004", bot.understanding.numbers):
    checked again with it. The attempt limits count it as any other lookup."""
    notes = (tracker.latest_message or {}).get("understanding") or {}
    retry = tracker.get_slot(SLOT_RETRY)
    if (tracker.get_slot(REQUESTED_SLOT) is None and isinstance(notes, dict)
            and notes.get("tpin_only") and isinstance(retry, str) and _just_not_found(tracker)):
        try:
            return parse_reference(retry).canonical
        except InvalidReference:
            return None
    return None


class ValidateDeclarationForm(FormValidationAction):
    """Extracts reference and TPIN from any message (also the one that starts the form)."""

    def name(self) -> str:
        return VALIDATE_DECLARATION_FORM

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        asked = tracker.get_slot(REQUESTED_SLOT)
        if asked is None and _locked_out(tracker):
            # The person's own lookup limits are reached as the form starts: it ends at once
            # and the lookup says so, instead of asking a reference and a TPIN it would refuse.
            return [SlotSet(REQUESTED_SLOT, None)]
        text = _latest_text(tracker)
        if (asked and latest_intent(tracker) not in LEAVES and find_reference(text) is None
                and find_tpin(text) is None and not _typed_a_tpin(tracker)):
            kind = interruption(tracker, asked)
            if kind is not None:
                # Not an answer: say what fits, keep the slot empty, the form asks again.
                respond(kind, dispatcher, tracker, get_knowledge())
                return [SlotSet(asked, None)]
        events = await super().run(dispatcher, tracker, domain)
        tpin = tracker.get_slot(SLOT_TPIN)
        if tpin is not None and (not is_tpin(tpin) or tracker.get_slot(SLOT_REFERENCE) is None):
            # A masked TPIN from an earlier turn, or a TPIN that came before the reference: it
            # would be masked by the next turn, so it is asked for again after the reference.
            if is_tpin(tpin):
                dispatcher.utter_message(text=say("declaration_reference_first"))
            events.append(SlotSet(SLOT_TPIN, None))
        return events

    async def extract_declaration_reference(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _latest_text(tracker)
        found = find_reference(text)
        if found:
            return {SLOT_REFERENCE: found[0].canonical}
        retry = _retried_reference(tracker)
        if retry is not None:
            dispatcher.utter_message(text=say("declaration_retry", reference=retry))
            return {SLOT_REFERENCE: retry}
        if (
            tracker.get_slot(REQUESTED_SLOT) == SLOT_REFERENCE
            and _is_attempt(tracker)
            and find_tpin(text) is None
        ):
            return {SLOT_REFERENCE: text[:MAX_CANDIDATE_LENGTH]}  # validated (and rejected) next
        return {}

    async def extract_declaration_tpin(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _latest_text(tracker)
        found = find_reference(text)
        rest = text[: found[1][0]] + " " + text[found[1][1] :] if found else text
        tpin = find_tpin(rest)
        if tpin:
            return {SLOT_TPIN: tpin}
        if _typed_a_tpin(tracker) or (
            tracker.get_slot(REQUESTED_SLOT) == SLOT_TPIN and _is_attempt(tracker) and not found
        ):
            return {SLOT_TPIN: text[:MAX_CANDIDATE_LENGTH]}
        return {}

    def validate_declaration_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {SLOT_REFERENCE: None}
        try:
            return {SLOT_REFERENCE: parse_reference(str(value)).canonical}
        except InvalidReference as error:
            if not any(ch.isdigit() for ch in str(value)):
                text = say("declaration_reference_missing", example=EXAMPLE_REFERENCE)
            else:
                text = say("declaration_reference_invalid", reason=error.reason,
                           example=EXAMPLE_REFERENCE)
            dispatcher.utter_message(text=text)
            return {SLOT_REFERENCE: None}

    def validate_declaration_tpin(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {SLOT_TPIN: None}
        try:
            return {SLOT_TPIN: parse_tpin(str(value))}
        except InvalidTpin as error:
            dispatcher.utter_message(text=say("declaration_tpin_invalid", reason=error.reason))
            return {SLOT_TPIN: None}


# --- lookup and cancel ------------------------------------------------------------------------

class ActionCheckDeclaration(Action):
    """Looks the declaration up, answers in plain words, and clears both slots."""

    def name(self) -> str:
        return CHECK_DECLARATION_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        tpin = tracker.get_slot(SLOT_TPIN)
        raw_reference = tracker.get_slot(SLOT_REFERENCE)
        try:
            reference = parse_reference(str(raw_reference)).canonical
        except InvalidReference:
            reference = None
        if (reference is None or not is_tpin(tpin)) and _locked_out(tracker):
            metrics.LOOKUPS.labels("limited").inc()  # the form asked for nothing
            dispatcher.utter_message(text=limit_text())
            return _clear_slots()
        if reference is None or not is_tpin(tpin):
            metrics.LOOKUPS.labels("incomplete").inc()
            dispatcher.utter_message(text=say("declaration_start_over"))
            return _clear_slots()
        try:
            text, found, limited = self._answer(tracker.sender_id, person(tracker), reference,
                                                tpin)
            dispatcher.utter_message(text=text)
            # Updates offered for a status that can still change (actions/notify.py).
            if limited:
                return _clear_slots()  # told the limit: no "check another?"
            retry = SlotSet(SLOT_RETRY, reference if found is None else None)
            return _clear_slots() + [retry] + after_lookup(dispatcher, tracker, found)
        except _Blocked:
            metrics.LOOKUPS.labels("limited").inc()
            dispatcher.utter_message(text=limit_text())
        except Exception as error:  # the user gets a message, never a stack trace
            metrics.LOOKUPS.labels("unavailable").inc()
            if not isinstance(error, StatusServiceUnavailable):
                logger.exception("declaration lookup failed")
            dispatcher.utter_message(text=unavailable_text())
        return _clear_slots()

    @staticmethod
    def _answer(conversation_id: str, client: str, reference: str,
                tpin: str) -> tuple[str, DeclarationStatus | None, bool]:
        """The reply, the status found, and whether a limit is now reached (said in the reply)."""
        limiter = AttemptLimiter()
        # Counted as a failure before the backend is asked, in the transaction that checks
        # the limits: parallel lookups cannot all pass before the first miss is written.
        reservation = limiter.reserve(conversation_id, reference, client, tpin)
        if reservation is None:
            raise _Blocked()
        try:
            texts = load_status_texts()
            result = get_backend().lookup(reference, tpin)
        except BaseException:
            limiter.release(reservation)  # not answered: no failure of the person's
            raise
        metrics.LOOKUPS.labels("not_found" if result is None else "found").inc()
        if result is not None:
            limiter.release(reservation)
            return status_text(result, tpin, texts), result, False
        if not limiter.allowed(conversation_id, reference, client, tpin):
            return not_found_text(tpin) + "\n\n" + limit_text(), None, True
        return not_found_text(tpin), None, False


class _Blocked(Exception):
    """A limit of failed lookups was already reached before this lookup."""


class ActionCancelDeclaration(Action):
    """Stops the form on "stop" / "never mind" and forgets what was typed."""

    def name(self) -> str:
        return CANCEL_DECLARATION_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=say("declaration_cancelled"))
        return [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None), *_clear_slots()]
