"""Hand-over to a person: a short form (name, question, phone or e-mail) that creates a ticket.

The contact is asked LAST and the ticket is created in the same turn it arrives. The redacting
tracker store masks every run of 10 digits, so a Zambian phone number (0977123456) typed in one
turn comes back as `******3456` in the next: read from a slot a turn later it would be useless.
The ticket table keeps the contact in clear (staff must call back); the transcript is masked.

Slots use custom mappings filled here only when they are the slot being asked for, so "stop"
(which extracts nothing) rejects the form and the "stop" rule cancels it, while any other text,
even one the model takes for a knowledge question, is an answer to the form's question.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions._tracker import latest_intent, latest_reading, latest_text, person
from actions.declarations.reference import find_reference
from actions.interruptions import (
    LEAVES,
    interruption,
    is_pause,
    knowledge_entry,
    looks_like_gibberish,
    respond,
)
from bot.appdb.tickets import TicketLimitReached, create_ticket, post_webhook, transcript
from bot.metrics import registry as metrics
from bot.names import (
    CANCEL_HANDOVER_ACTION,
    CHECK_DECLARATION_STATUS,
    CREATE_TICKET_ACTION,
    HANDOVER_CONTACT,
    HANDOVER_NAME,
    HANDOVER_QUESTION,
    START_HANDOVER_ACTION,
    VALIDATE_HANDOVER_FORM,
)
from bot.privacy import MASK
from bot.understanding.clauses import asks
from bot.understanding.spelling import abbreviations

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"
MAX_TEXT = 1000

# Zambian numbers: 0 + 9 digits (mobile 07x/09x, landline 02x), or +260 / 260 + the same 9.
_PHONE = re.compile(r"(?<![\d+])(?:\+?260|0)([279]\d{8})(?!\d)")
# Numbers from abroad (a trader or a traveller outside Zambia: +27 82 123 4567, 0044 20 7946
# 0958): + or 00, then the country code and the number, 10 to 15 digits in all (E.164 has at
# most 15; at least 10 keeps every number taken here masked by the conversation store, which
# masks runs of 10 digits or more, bot/privacy.py). +260 is Zambia: checked above, never here.
# Not before ":" and a digit: "+2026-01-06 06:24" is a time.
_INTERNATIONAL = re.compile(r"(?<![\w+])(?:\+|00)(?!260)([1-9]\d{9,14})(?!\d|:\d)")
_TRUNK_ZERO = re.compile(r"((?:\+|(?<![\w+])00)\s*\d{1,3})\s*\(0\)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# An address spelled out, as people type one to dodge a keyboard or spam filters:
# "john at gmail dot com", "john[at]gmail[dot]com", "john (at) gmail (dot) com".
# The address is one run of address characters and spelled dots before the "at", and its
# domain is not followed by another "at": "contact me at mary dot banda at gmail dot com" is
# mary.banda@gmail.com, not me@mary.banda. A word before it that does not lead to an address
# makes it unsure: "email me at mary banda at gmail dot com" is no address (not banda@...).
_S_AT = r"(?:\s*[\[(]\s*at\s*[\])]\s*|\s+at\s+)"
_S_DOT = r"(?:\s*[\[(]\s*dot\s*[\])]\s*|\s+dot\s+|\.)"
_S_PART = r"[A-Za-z0-9_%+\-]+"
_SPELLED_EMAIL = re.compile(
    rf"(?<![A-Za-z0-9_%+.\-])(?P<local>{_S_PART}(?:{_S_DOT}{_S_PART})*){_S_AT}"
    rf"(?P<domain>{_S_PART}(?:{_S_DOT}{_S_PART})+)(?!{_S_DOT}?{_S_AT}|[A-Za-z0-9_%+\-])",
    re.IGNORECASE)
_SPELLED_DOT = re.compile(_S_DOT, re.IGNORECASE)
_WORD_BEFORE = re.compile(r"([A-Za-z'\-]+)\s+$")
_LEADS_TO_ADDRESS = frozenset(
    "is me at to on us via use its it's mail email e-mail address here reach contact write "
    "send".split())
_NAME = re.compile(r"[^\W\d_][^\W\d_ .'\-]*(?:[ .'\-]+[^\W\d_]+)*\.?")
_GREETING_LEAD = re.compile(r"^(?:hello|hi|hie|hey|good (?:morning|afternoon|evening)|dear)"
                            r"\b[\s,.!]*", re.IGNORECASE)  # "hi, my name is Mary Banda"
_NAME_LEADS = re.compile(r"^(?:my name is|my names are|name is|name:|i am|i'm|im|it's|its|"
                         r"it is|this is|call me)\s+", re.IGNORECASE)
# Replies that are not names, whatever the classifier made of them.
_NOT_NAMES = {"yes", "no", "ok", "okay", "hi", "hello", "hey", "bye", "goodbye", "thanks",
              "thank you", "stop", "cancel", "help", "person", "a person", "human", "agent",
              "nothing", "none", "why", "what", "no thanks"}
# Words no name has: a support question typed as the name ("goods stuck at the border", "my
# refund is late") is not stored as the name.
_NOT_NAME_WORDS = {"person", "human", "agent", "talk", "speak", "customs", "duty", "tpin",
                   "declaration", "want", "need", "please", "help", "my", "the", "is", "are",
                   "was", "am", "have", "has", "not", "with", "for", "about", "at", "on", "of",
                   "why", "how", "what", "where", "when", "can", "does", "did", "me", "you",
                   "your", "it", "this", "that", "goods", "stuck", "border", "problem", "refund",
                   "payment", "paid", "pay", "import", "export", "clearance", "car"}
# A reply made only of these words (as the model read it: "ok thank u" is "ok thank you") is a
# greeting, thanks or a sound, not a name ("hello there", "ok thanks sir", "hmm").
_CHAT_WORDS = {"hello", "hi", "hie", "hey", "there", "good", "morning", "afternoon", "evening",
               "day", "thanks", "thank", "you", "ok", "okay", "sir", "madam", "bye", "yes", "no",
               "dear", "team", "much", "a", "lot", "so", "cheers", "very", "sure", "alright",
               "fine", "great", "nice", "cool", "noted", "yeah", "yep", "hmm", "hmmm", "mmm",
               "ah", "oh", "eh", "um", "lol", "please"}


def find_contact(text: str) -> tuple[str, str] | None:
    """(normalised contact, "phone" | "email") found in free text, or None.

    Zambian phones are normalised to +260XXXXXXXXX, numbers from abroad to + and their digits
    (`+27 82 123 4567` -> `+27821234567`); spaces, dashes and brackets inside a number are
    allowed (`0977 123 456`, `+260-97-7123456`).
    """
    if not isinstance(text, str):
        return None
    email = _EMAIL.search(text)
    if email:
        return email.group(0).lower(), "email"
    # "+44 (0)20 7946 0958": the (0) after the country code is dialled only inside the country;
    # read without it first, as typed if that is no number ("+1 (0)23456789").
    without_trunk = _TRUNK_ZERO.sub(r"\1", text)
    for spelling in dict.fromkeys((without_trunk, text)):
        squeezed = re.sub(r"(?<=[\d+])[\s\-().]+(?=\d)", "", spelling)
        phone = _PHONE.search(squeezed)
        if phone:
            return f"+260{phone.group(1)}", "phone"
        abroad = _INTERNATIONAL.search(squeezed)
        if abroad:
            return f"+{abroad.group(1)}", "phone"
    for spelled in _SPELLED_EMAIL.finditer(text):
        before = _WORD_BEFORE.search(text[: spelled.start()])
        if before and before.group(1).lower() not in _LEADS_TO_ADDRESS:
            continue  # "mary banda at gmail dot com": which part is the address is unsure
        address = (_SPELLED_DOT.sub(".", spelled.group("local")) + "@"
                   + _SPELLED_DOT.sub(".", spelled.group("domain")))
        email = _EMAIL.fullmatch(address)
        if email:
            return email.group(0).lower(), "email"
    return None


def clean_name(text: str) -> str | None:
    """The person's name from a reply like "my name is Mary Banda"; None if it is not a name."""
    if not isinstance(text, str):
        return None
    name = _NAME_LEADS.sub("", _GREETING_LEAD.sub("", " ".join(text.split()))).strip(" ,.!")
    if not 2 <= len(name) <= 80 or not _NAME.fullmatch(name):
        return None
    words = name.lower().split()
    if (len(words) > 5 or name.lower() in _NOT_NAMES or _NOT_NAME_WORDS & set(words)
            or set(words) <= _CHAT_WORDS):
        return None
    return name


def clean_question(text: str) -> str | None:
    if not isinstance(text, str):
        return None
    question = " ".join(text.split())
    if len(question) < 8 or len(re.findall(r"\w+", question)) < 2:
        return None
    return question[:MAX_TEXT]


def is_chat(reading: str) -> bool:
    """Only greeting, thanks and yes/no words ("ok thank u", "hello there"), SMS spellings
    read as the words they stand for."""
    table = abbreviations()
    words = {w for typed in re.findall(r"[a-z']+", reading.lower())
             for w in table.get(typed, typed).split()}
    return bool(words) and words <= _CHAT_WORDS


def is_plain_answer(slot: str, tracker: Tracker) -> bool:
    """A contact where a contact is asked, a name where a name is asked: taken as the answer
    whatever the model made of it ("call me on 0977 123 456", "Chanda Mulenga" read as a
    greeting). Not a name: a question, keyboard mashing, "just a minute", or what the model
    reads as a knowledge question ("vat rate": the model reads no name as one)."""
    text = latest_text(tracker)
    if slot == HANDOVER_CONTACT:
        return find_contact(text) is not None
    if slot == HANDOVER_NAME:
        return (clean_name(text) is not None and not asks(text) and not knowledge_entry(tracker)
                and not looks_like_gibberish(text) and not is_pause(text)
                and not is_chat(latest_reading(tracker)))
    return False


def _kb():
    from bot.content.live import get_knowledge

    return get_knowledge()


def wants_a_status_check(slot: str, tracker: Tracker) -> bool:
    """A declaration status check with its reference, typed where a name or a contact is asked
    ("status of LSK/2026/C/10452 tpin 1002003004"): the person now wants the check, which a
    rule starts (the hand-over ends). Typed as the question for staff, it is that question."""
    return (slot != HANDOVER_QUESTION and latest_intent(tracker) == CHECK_DECLARATION_STATUS
            and find_reference(latest_text(tracker)) is not None)


class ValidateHandoverForm(FormValidationAction):
    """Takes the asked-for slot from the reply (anything but "stop") and checks it."""

    def name(self) -> str:
        return VALIDATE_HANDOVER_FORM

    def _answer_for(self, slot: str, dispatcher: CollectingDispatcher,
                    tracker: Tracker) -> dict[str, Any]:
        if (tracker.get_slot(REQUESTED_SLOT) != slot or latest_intent(tracker) in LEAVES
                or wants_a_status_check(slot, tracker)):
            return {}  # rejected: the intent's own rule runs (data/support/rules.yml)
        kind = None if is_plain_answer(slot, tracker) else interruption(tracker, slot)
        if kind is not None:
            # Not an answer: say what fits, keep the slot empty, and the form asks again.
            respond(kind, dispatcher, tracker, _kb())
            return {slot: None}
        text = latest_text(tracker)
        if not text or text.startswith("/"):
            return {}  # a button click (e.g. another topic) is not an answer
        return {slot: text[:MAX_TEXT]}

    async def extract_handover_name(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> dict[str, Any]:
        return self._answer_for(HANDOVER_NAME, dispatcher, tracker)

    async def extract_handover_question(self, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        return self._answer_for(HANDOVER_QUESTION, dispatcher, tracker)

    async def extract_handover_contact(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: DomainDict) -> dict[str, Any]:
        return self._answer_for(HANDOVER_CONTACT, dispatcher, tracker)

    def validate_handover_name(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:
            return {HANDOVER_NAME: None}  # an interruption, already answered
        name = clean_name(value)
        if name is not None and is_chat(latest_reading(tracker)):
            name = None  # "ok thank u"
        if name is None:
            dispatcher.utter_message(text=_kb().message("handoff_invalid_name"))
        return {HANDOVER_NAME: name}

    def validate_handover_question(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:
            return {HANDOVER_QUESTION: None}
        question = clean_question(value)
        if question is None:
            dispatcher.utter_message(text=_kb().message("handoff_invalid_question"))
        return {HANDOVER_QUESTION: question}

    def validate_handover_contact(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:
            return {HANDOVER_CONTACT: None}
        found = find_contact(value) if isinstance(value, str) and MASK not in value else None
        if found is None:
            dispatcher.utter_message(text=_kb().message("handoff_invalid_contact"))
            return {HANDOVER_CONTACT: None}
        return {HANDOVER_CONTACT: found[0]}


class _Ask(Action, ABC):
    """Asks one slot of the form, in words from knowledge/messages.yml (live-editable).

    Abstract, so that the action server registers only the concrete askers.
    """

    @property
    @abstractmethod
    def slot_and_message(self) -> tuple[str, str]: ...

    def name(self) -> str:
        return f"action_ask_{self.slot_and_message[0]}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=_kb().message(self.slot_and_message[1]))
        return []


class ActionAskHandoverName(_Ask):
    slot_and_message = (HANDOVER_NAME, "handoff_ask_name")


class ActionAskHandoverQuestion(_Ask):
    slot_and_message = (HANDOVER_QUESTION, "handoff_ask_question")


class ActionAskHandoverContact(_Ask):
    slot_and_message = (HANDOVER_CONTACT, "handoff_ask_contact")


def _clear() -> list[EventType]:
    return [SlotSet(slot, None) for slot in (HANDOVER_NAME, HANDOVER_QUESTION, HANDOVER_CONTACT)]


class ActionStartHandover(Action):
    """Says what will happen (and how to reach a person directly) before the form's questions."""

    def name(self) -> str:
        return START_HANDOVER_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=_kb().message("handoff_intro"))
        return _clear()


class ActionCreateTicket(Action):
    """Creates the ticket in the turn the contact arrives, then replies with its number."""

    def name(self) -> str:
        return CREATE_TICKET_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        kb = _kb()
        name = tracker.get_slot(HANDOVER_NAME)
        question = tracker.get_slot(HANDOVER_QUESTION)
        contact = find_contact(tracker.get_slot(HANDOVER_CONTACT) or "")
        if not name or not question or contact is None:
            # Only possible if the slots came back from the store masked (an earlier turn).
            metrics.TICKETS.labels("failed").inc()
            dispatcher.utter_message(text=kb.message("handoff_failed"))
            return _clear()
        try:
            ticket = create_ticket(tracker.sender_id, name, contact[0], contact[1], question,
                                   transcript(tracker.events), client=person(tracker))
        except TicketLimitReached as reached:
            # Same words whichever limit: a flooder learns nothing about the others.
            logger.warning("no ticket for conversation %s: %s", tracker.sender_id, reached)
            metrics.TICKETS.labels("limited").inc()
            dispatcher.utter_message(text=kb.message("handoff_limit"))
            return _clear()
        except Exception:
            logger.exception("could not create a ticket")
            metrics.TICKETS.labels("failed").inc()
            dispatcher.utter_message(text=kb.message("handoff_failed"))
            return _clear()
        metrics.TICKETS.labels("created").inc()
        post_webhook(ticket)
        dispatcher.utter_message(text=kb.message("handoff_ticket")
                                 .replace("{ticket}", ticket.number).replace("{name}", name))
        return _clear()


class ActionCancelHandover(Action):
    """"stop" during the form: nothing is stored."""

    def name(self) -> str:
        return CANCEL_HANDOVER_ACTION

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=_kb().message("handoff_cancelled"))
        return [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None), *_clear()]
