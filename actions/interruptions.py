"""What a form does with a message that is not an answer to its question.

A form asks for a name, a question, a contact, a reference or a TPIN; people type other things
in between. None of them is ever stored as the answer:
- a knowledge question ("what is the VAT rate?") is answered, then the form asks again;
- a message in another language, an income-tax question, a TPIN where none was asked, a short
  greeting, thanks or yes/no, "wait, let me find it", keyboard mashing where a name or a
  question is asked: a short note, then the form asks again;
- but at the hand-over question, a customs or domestic-tax question or statement ("why is my
  refund delayed", "my tax clearance is blocking my import licence") is that question: it is
  what the person wants a person to read, so it is neither answered nor declined here;
- "talk to a person" again, inside the hand-over form, is no name, question or contact: the
  person is told they are on their way to one, and the form asks again;
- "stop", "never mind", "cancel" are the stop intent: the form's stop rule ends it (inside a
  form, "forget it, I'll go to the office" too: bot.understanding.forms).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._tracker import latest_intent, latest_text
from bot.content.answers import answer_text
from bot.names import (
    AFFIRM,
    ASK_CAPABILITIES,
    BOT_CHALLENGE,
    DECLARATION_REFERENCE,
    DECLARATION_TPIN,
    DENY,
    DOMESTIC_TAX,
    FEEDBACK_HELPFUL,
    FEEDBACK_NOT_HELPFUL,
    GOODBYE,
    GREET,
    HANDOVER_CONTACT,
    HANDOVER_NAME,
    HANDOVER_QUESTION,
    INTENT_PREFIX,
    OTHER_LANGUAGE,
    REQUEST_HUMAN,
    STOP,
    STOP_NOTIFICATIONS,
    THANK,
)
from bot.understanding import enabled as understanding_enabled
from bot.understanding import lexicon, numbers, spelling
from bot.understanding.clauses import asks

# Messages that are about the conversation, not an answer: a note, then the question again.
NOT_ANSWERS = frozenset({GREET, THANK, GOODBYE, AFFIRM, DENY, BOT_CHALLENGE, ASK_CAPABILITIES,
                         FEEDBACK_HELPFUL, FEEDBACK_NOT_HELPFUL, OTHER_LANGUAGE})
# The hand-over question is the person's own question for staff, whatever it is about: a
# knowledge question or a domestic-tax one (the authority's staff handle both) is kept for the
# ticket, however short ("paye refund delayed").
FREE_TEXT_SLOTS = frozenset({HANDOVER_QUESTION})
# The declaration form takes a TPIN at any of its questions (it asks the reference first).
TPIN_SLOTS = frozenset({DECLARATION_REFERENCE, DECLARATION_TPIN})
# Never an answer, whatever the slot: "stop" ends the form, "stop notifications" the updates
# (the intent's own rule runs; "let me stop here" is not a pause).
LEAVES = frozenset({STOP, STOP_NOTIFICATIONS})
# Slots whose own check already refuses greetings and yes/no, with a reason that fits (and
# whose real answers are short: "Chanda Mulenga", "chanda@example.com").
SELF_CHECKED_SLOTS = frozenset({HANDOVER_NAME, HANDOVER_CONTACT})
# Slots answered in words: keyboard mashing ("asdfgh", "qwe rty", "jjjjj") is not an answer.
TEXT_SLOTS = frozenset({HANDOVER_NAME, HANDOVER_QUESTION})
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_VOWELS = frozenset("aeiouy")
_CONSONANT_RUN = re.compile(r"[^aeiouy']{5}")  # "Nkhwazi" has four; "sdfghjk" seven
_ABBREVIATION = re.compile(r"\b[A-Z]{2,5}\b")  # "NRC", "DRC", "DHL", "BMK Phiri"
_REPEATED = re.compile(r"(.)\1\1")
# "hold on, let me look for the reference": the person is finding the answer, not asking (a
# knowledge entry the model reads in it, "reference number", is not what they want).
# Only words that announce a wait: "let me tell you my problem" and "i am looking for an agent"
# are what the person wants.
_MOMENT = r"(?:a|one) (?:moment|minute|min|sec|second)"
_PAUSE = re.compile(
    r"^\W*(?:(?:ok|okay|sorry|please|no)\W+)?(?:hold on|hang on|wait|"
    r"let me (?:check|find|look|see|search|get it)|give me " + _MOMENT + r"|(?:just )?" + _MOMENT
    + r"|i am checking|i'm checking|am checking)\b",
    re.IGNORECASE)
# In a free question a pause is short: "wait, my goods have been stuck at nakonde for a week"
# is the question.
PAUSE_MAX_WORDS_IN_FREE_TEXT = 6
_TPIN_WORDS = {"my", "tpin", "is", "its", "it's", "the", "number", "here", "this", "it"}
# An attempt at a phone number or an e-mail address, right or wrong ("john@gmail", "097712345",
# "john at gmail dot com"): not a question, though the model reads it as the contact centre.
_TRIES_A_CONTACT = re.compile(r"@|\+\s*\d|\d(?:[\s\-().]*\d){5}|\b(?:at|dot)\b.*\b(?:dot|com)\b",
                              re.IGNORECASE)
HANDOVER_SLOTS = frozenset({HANDOVER_NAME, HANDOVER_QUESTION, HANDOVER_CONTACT})
# The words of a request for a person and nothing else ("i want to talk to a real person pls",
# "Hi, I'd like to speak to someone", "agent!!"): typed at the hand-over's question it is no
# question for staff; with any other word ("talk to a person about my refund", "can i talk to
# my agent": the person's own clearing agent) it is one.
_PERSON_WORDS = frozenset(
    "i im i'm i'd i'll am are be being want wanna need would like to talk speak chat with a an "
    "the me us your ur real live human person someone somebody agent officer staff member "
    "consultant operator customer care service support team representative transfer connect "
    "put through get please pls plz kindly just can could may let go ahead still now again "
    "already said told you not bot dont don't do no yes ok okay hi hello hey dear good morning "
    "afternoon evening sir madam there waiting for".split())
_APOSTROPHES = str.maketrans("\u2019\u2018\u02bc`", "'" * 4)  # phone keyboards type "I’d"


def knowledge_entry(tracker: Tracker) -> str | None:
    """The entry a knowledge question typed into a form asks about (None: not one)."""
    intent = latest_intent(tracker)
    if intent.startswith(INTENT_PREFIX):
        return intent[len(INTENT_PREFIX):]
    return None


def is_a_tpin(text: str) -> bool:
    """The message is a TPIN ("1002003004", "my tpin is 100 200 3004"), not a question that
    mentions one (that one is kept, masked)."""
    found = numbers.tpins(text)
    if not found:
        return False  # no TPIN, or only the national part of a phone from abroad
    return len([w for w in numbers.words_around(text, found[0]) if w not in _TPIN_WORDS]) <= 1


def is_pause(text: str) -> bool:
    """"wait, let me find it", "just a minute": not an answer, and not a question either
    ("let me know the VAT rate" asks)."""
    return bool(_PAUSE.search(text)) and not any(
        asks(part) for part in re.split(r"[,.;:!]+\s*", text))


@lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    """English words and SMS spellings: never keyboard mashing ("hmm", "pls", "thx"). Built
    once per process: the union is tens of thousands of words."""
    try:
        english = lexicon.english_words()
    except Exception:  # the encoder package is missing: only the SMS spellings
        english = frozenset()
    return english | frozenset(spelling.abbreviations())


def _on_one_row(word: str) -> bool:
    return any(word in row or word in row[::-1] for row in _KEYBOARD_ROWS)


def _mashed(word: str, known: frozenset[str]) -> bool:
    """One word that no one would type as a word: three same letters, no vowel, five
    consonants in a row, or four keys along one keyboard row."""
    if len(word) < 3 or word in known:
        return False
    return bool(_REPEATED.search(word) or (len(word) >= 5 and not _VOWELS & set(word))
                or _CONSONANT_RUN.search(word) or (len(word) >= 4 and _on_one_row(word)))


def looks_like_gibberish(text: str) -> bool:
    """Keyboard mashing: at least half of the words of three letters or more are mashed, or
    every one runs along a keyboard row ("qwe rty"). Names pass: "Mwape Nkhoma", "Ng'andu"."""
    abbreviations = {a.lower() for a in _ABBREVIATION.findall(text)} if not text.isupper() \
        else set()
    words = [w for w in lexicon.words(text) if len(w) >= 3 and w not in abbreviations]
    if not words:
        return False
    known = _known_words()
    if 2 * sum(_mashed(w, known) for w in words) >= len(words):
        return True
    return all(w not in known and _on_one_row(w) for w in words)


def interruption(tracker: Tracker, slot: str) -> str | None:
    """Why the latest message is not an answer to the form's question, or None if it may be.

    "knowledge": a knowledge question (where the slot is not itself a free question);
    "language": another language; "domestic_tax": an income-tax question (idem);
    "tpin": a TPIN where none was asked; "handing_over": "talk to a person" inside the
    hand-over form; "not_answer": "wait, let me find it", keyboard mashing
    where words are asked, or a short greeting, thanks or yes/no where the slot's own check
    would not catch it (a name's check does, with its own reason)."""
    if not understanding_enabled():
        return None
    intent = latest_intent(tracker)
    text = latest_text(tracker)
    if intent == OTHER_LANGUAGE:
        return "language"
    if intent == REQUEST_HUMAN and slot in HANDOVER_SLOTS and (
            text.startswith("/") or asks_for_a_person_only(text)):  # "/": an earlier button
        return "handing_over"
    if intent == DOMESTIC_TAX and slot not in FREE_TEXT_SLOTS:
        return "domestic_tax"
    # Before the knowledge check: "my tpin is 1002003004" reads to the model like the TPIN
    # entry, but it is a TPIN typed where none was asked, not a question.
    if slot not in TPIN_SLOTS and is_a_tpin(text):
        return "tpin"
    if slot == HANDOVER_CONTACT and _TRIES_A_CONTACT.search(text) and not asks(text):
        return None  # "john@gmail", "097712345": the contact's own check says what is wrong
    if is_pause(text) and (slot not in FREE_TEXT_SLOTS
                           or len(text.split()) <= PAUSE_MAX_WORDS_IN_FREE_TEXT):
        return "not_answer"
    if knowledge_entry(tracker) and slot not in FREE_TEXT_SLOTS:
        return "knowledge"
    if slot in TEXT_SLOTS and looks_like_gibberish(text):
        return "not_answer"
    if slot not in SELF_CHECKED_SLOTS and is_short_chat(tracker):
        return "not_answer"
    return None


def asks_for_a_person_only(text: str) -> bool:
    """"talk to a person", "i want a real human pls": the request and no subject of its own."""
    table = spelling.abbreviations()
    words = [w for typed in re.findall(r"[a-z']+", text.lower().translate(_APOSTROPHES))
             for w in table.get(typed, typed).split()]
    return bool(words) and set(words) <= _PERSON_WORDS


def is_short_chat(tracker: Tracker) -> bool:
    """A greeting, thanks, yes/no... of three words or fewer ("hello there", "ok thanks")."""
    return (understanding_enabled() and latest_intent(tracker) in NOT_ANSWERS
            and len(latest_text(tracker).split()) <= 3)


def respond(kind: str, dispatcher: CollectingDispatcher, tracker: Tracker, kb: Any) -> None:
    """Say what fits the interruption; the form then asks its question again."""
    if kind == "knowledge":
        text = answer_text(kb, knowledge_entry(tracker) or "")
        dispatcher.utter_message(text=text or kb.message("answer_unavailable"))
        dispatcher.utter_message(text=kb.message("form_resume"))
    elif kind == "tpin":
        dispatcher.utter_message(text=kb.message("form_no_tpin_here"))
    elif kind == "language":
        dispatcher.utter_message(text=kb.message(OTHER_LANGUAGE))
    elif kind == "handing_over":
        dispatcher.utter_message(text=kb.message("handoff_in_progress"))
    elif kind == "domestic_tax":
        dispatcher.utter_message(text=kb.message(DOMESTIC_TAX))
        dispatcher.utter_message(text=kb.message("form_resume"))
    else:
        dispatcher.utter_message(text=kb.message("form_not_an_answer"))
