"""Rasa actions of the declaration status check: collect reference and TPIN, look up, answer.

Thin by design: parsing is in `reference`, lookups behind `backends`, limits in
bot.appdb.attempts, wording in knowledge/statuses.yml and knowledge/messages.yml.

The tracker store masks TPINs, so a TPIN only exists in clear during the turn it was typed:
the form asks for the reference first and the TPIN last, the lookup runs in the turn the TPIN
arrives, and a TPIN left over from an earlier turn (masked) counts as not given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.declarations.backends.base import (
    LANES,
    STATUSES,
    DeclarationStatus,
    StatusServiceUnavailable,
    get_backend,
)
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
from bot.appdb.attempts import AttemptLimiter
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
    DECLARATION_TPIN,
    DENY,
    GOODBYE,
    GREET,
    NLU_FALLBACK,
    OUT_OF_SCOPE,
    REQUEST_HUMAN,
    SOMETHING_ELSE,
    STOP,
    THANK,
    VALIDATE_DECLARATION_FORM,
)
from bot.privacy import install_log_redaction, mask_tpin
from bot.settings.paths import knowledge_dir

logger = logging.getLogger(__name__)
install_log_redaction()

FORM = DECLARATION_FORM
SLOT_REFERENCE = DECLARATION_REFERENCE
SLOT_TPIN = DECLARATION_TPIN
REQUESTED_SLOT = "requested_slot"

# Messages that are an answer to the form's question even when they carry no digits.
ATTEMPT_INTENTS = frozenset({CHECK_DECLARATION_STATUS, "inform", NLU_FALLBACK})
# Core intents with their own rules: left alone unless the text parses as what was asked.
OTHER_INTENTS = frozenset({
    STOP, GREET, GOODBYE, THANK, BOT_CHALLENGE, ASK_CAPABILITIES, REQUEST_HUMAN,
    OUT_OF_SCOPE, AFFIRM, DENY, SOMETHING_ELSE, BROWSE_CATEGORY,
})
MAX_CANDIDATE_LENGTH = 500

# --- status wording (support-staff content) -------------------------------------------------

class StatusTextError(ValueError):
    """knowledge/statuses.yml is missing or malformed; the message says where."""


@dataclass(frozen=True)
class StatusTexts:
    statuses: dict[str, dict[str, str]]
    lanes: dict[str, str]


def statuses_file() -> Path:
    return knowledge_dir() / "statuses.yml"


def load_status_texts(path: Path | None = None) -> StatusTexts:
    """Read and check the status and lane wording (read at every use, so edits are live)."""
    path = path or statuses_file()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise StatusTextError(f"{path}: cannot read the file ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise StatusTextError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise StatusTextError(f"{path}: expected 'statuses:' and 'lanes:' sections")
    statuses, lanes = data.get("statuses"), data.get("lanes")
    if not isinstance(statuses, dict) or not isinstance(lanes, dict):
        raise StatusTextError(f"{path}: expected 'statuses:' and 'lanes:' sections")
    for code in STATUSES:
        texts = statuses.get(code)
        if not isinstance(texts, dict):
            raise StatusTextError(f"{path}: status '{code}' is missing")
        for field in ("label", "next", "action"):
            if not isinstance(texts.get(field), str) or not texts[field].strip():
                raise StatusTextError(f"{path}: status '{code}' needs a text for '{field}'")
    for lane in LANES:
        if not isinstance(lanes.get(lane), str) or not lanes[lane].strip():
            raise StatusTextError(f"{path}: lane '{lane}' needs an explanation")
    return StatusTexts(statuses=statuses, lanes=lanes)


# --- contact centre and replies ---------------------------------------------------------------

def contact_text() -> str:
    """How to reach a person, from knowledge/settings.yml (via messages.yml 'handoff')."""
    try:
        from bot.content.live import get_knowledge

        kb = get_knowledge()
        text = kb.message("handoff") or kb.fill(
            "Please contact the {authority_short} contact centre: call {contact_phone} or "
            "e-mail {contact_email} ({contact_hours})."
        )
        if text:
            return text
    except Exception:  # the knowledge base must never take the lookup reply down with it
        logger.exception("contact details unavailable")
    return "Please contact the customs contact centre."


def unavailable_text() -> str:
    return (
        "Sorry, the declaration status service is unavailable at the moment, please try again "
        "later. " + contact_text()
    )


def limit_text() -> str:
    return (
        "For your security, I can't check this declaration online after several unsuccessful "
        "tries. Please try again later, or ask a person: " + contact_text()
    )


def not_found_text(tpin: str) -> str:
    # The same words for an unknown reference and a wrong TPIN; the reference is not echoed.
    return (
        f"I couldn't find a declaration with that reference for TPIN {mask_tpin(tpin)}. "
        "Please check both: the TPIN must be the declarant's or the consignee's."
    )


def _date(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def status_text(result: DeclarationStatus, tpin: str, texts: StatusTexts) -> str:
    wording = texts.statuses[result.status]
    lines = [
        f"Declaration {result.reference} (TPIN {mask_tpin(tpin)}): {wording['label'].strip()}.",
    ]
    if result.lane:
        lines.append(f"Lane: {texts.lanes[result.lane].strip()}")
    lines.append(f"What happens next: {wording['next'].strip()}")
    lines.append(f"What you should do: {wording['action'].strip()}")
    lines.append(f"Last change: {_date(result.last_changed)}.")
    return "\n".join(lines)


ANOTHER_BUTTONS = [
    {"title": "Yes, check another", "payload": "/affirm"},
    {"title": "No, thanks", "payload": "/deny"},
]


def _clear_slots() -> list[EventType]:
    return [SlotSet(SLOT_TPIN, None), SlotSet(SLOT_REFERENCE, None)]


# --- the form ---------------------------------------------------------------------------------

def _latest_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") if tracker.latest_message else None
    return text if isinstance(text, str) else ""


def _is_attempt(tracker: Tracker) -> bool:
    """Whether the latest message is meant as an answer to the form's question."""
    intent = (tracker.latest_message or {}).get("intent", {}).get("name") or ""
    if intent.startswith("kb_") or intent in OTHER_INTENTS:
        return False
    if intent in ATTEMPT_INTENTS:
        return True
    return any(ch.isdigit() for ch in _latest_text(tracker))


class ValidateDeclarationForm(FormValidationAction):
    """Extracts reference and TPIN from any message (also the one that starts the form)."""

    def name(self) -> str:
        return VALIDATE_DECLARATION_FORM

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        tpin = tracker.get_slot(SLOT_TPIN)
        if tpin is not None and (not is_tpin(tpin) or tracker.get_slot(SLOT_REFERENCE) is None):
            # A masked TPIN from an earlier turn, or a TPIN that came before the reference: it
            # would be masked by the next turn, so it is asked for again after the reference.
            if is_tpin(tpin):
                dispatcher.utter_message(
                    text="Thanks. First I need the declaration reference; "
                    "I'll ask for the TPIN after that."
                )
            events.append(SlotSet(SLOT_TPIN, None))
        return events

    async def extract_declaration_reference(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _latest_text(tracker)
        found = find_reference(text)
        if found:
            return {SLOT_REFERENCE: found[0].canonical}
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
        if tracker.get_slot(REQUESTED_SLOT) == SLOT_TPIN and _is_attempt(tracker) and not found:
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
            example = (
                f"It looks like {EXAMPLE_REFERENCE}: the year, the office code, "
                "the series letter and the number."
            )
            if not any(ch.isdigit() for ch in str(value)):
                dispatcher.utter_message(text=f"I need the declaration reference. {example}")
            else:
                dispatcher.utter_message(
                    text=f"Sorry, that reference doesn't look right: {error.reason}. {example}"
                )
            return {SLOT_REFERENCE: None}

    def validate_declaration_tpin(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {SLOT_TPIN: None}
        try:
            return {SLOT_TPIN: parse_tpin(str(value))}
        except InvalidTpin as error:
            dispatcher.utter_message(
                text=f"Sorry, {error.reason}. Please type the 10-digit TPIN of the declarant "
                "or the consignee."
            )
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
        if reference is None or not is_tpin(tpin):
            dispatcher.utter_message(
                text="Sorry, I need the declaration reference and the TPIN again. "
                "Say \"check my declaration\" to start over."
            )
            return _clear_slots()
        try:
            dispatcher.utter_message(text=self._answer(tracker.sender_id, reference, tpin))
            dispatcher.utter_message(
                text="Would you like to check another declaration?", buttons=ANOTHER_BUTTONS
            )
        except _Blocked:
            dispatcher.utter_message(text=limit_text())
        except Exception as error:  # the user gets a message, never a stack trace
            if not isinstance(error, StatusServiceUnavailable):
                logger.exception("declaration lookup failed")
            dispatcher.utter_message(text=unavailable_text())
        return _clear_slots()

    @staticmethod
    def _answer(conversation_id: str, reference: str, tpin: str) -> str:
        limiter = AttemptLimiter()
        if not limiter.allowed(conversation_id, reference):
            raise _Blocked()
        texts = load_status_texts()
        result = get_backend().lookup(reference, tpin)
        if result is not None:
            return status_text(result, tpin, texts)
        limiter.record_failure(conversation_id, reference)
        if not limiter.allowed(conversation_id, reference):
            return not_found_text(tpin) + "\n\n" + limit_text()
        return not_found_text(tpin)


class _Blocked(Exception):
    """A limit of failed lookups was already reached before this lookup."""


class ActionCancelDeclaration(Action):
    """Stops the form on "stop" / "never mind" and forgets what was typed."""

    def name(self) -> str:
        return CANCEL_DECLARATION_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            text="Okay, I've stopped the declaration check. What else can I help you with?"
        )
        return [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None), *_clear_slots()]
