"""`make eval`, second part: real wording (eval/realworld.yml), per kind, right / wrong / declined.

Single messages (misspelled, wrapped in a story, one word, two questions, other languages, near
misses) are parsed in-process twice: by the trained model alone, and through
`bot.understanding` as the running bot does, so each line shows before and after in one run.
Conversations (follow-ups, questions inside a form) are replayed over REST against a running
assistant (the CLI starts one) and judged by what the person would read.

"Right" is what the issue asks for each kind: the entry meant (for two questions both, in order,
or one answered and the other offered as a button in the same reply); the "answers in English"
reply for another language; the domestic-tax pointer for income tax and the like; a polite
decline for other agencies; inside a form, the answer and the form's question again, the form
left on "cancel", the question asked again for a non-answer.
"Wrong" is an answer the person did not ask for (an offered button never is). Everything else is
"declined".
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.names import (
    DOMESTIC_TAX,
    INTENT_PREFIX,
    NLU_FALLBACK,
    OTHER_LANGUAGE,
    OUT_OF_SCOPE,
)
from bot.settings.paths import ROOT

REALWORLD_FILE = ROOT / "eval" / "realworld.yml"
SINGLE_KINDS = ("misspelled", "wrapped", "one_word", "compound", "other_language",
                "domestic_tax", "other_agency")
CONVERSATION_KINDS = ("follow_ups", "in_form")

Parse = Callable[[str], Awaitable[dict[str, Any]]]
Send = Callable[[str, str], list[dict[str, Any]]]


@dataclass
class Tally:
    right: int = 0
    wrong: int = 0
    declined: int = 0
    misses: list[str] = field(default_factory=list)
    # How the right ones were right (two questions: both answered, or one offered) and how many
    # messages got an offer at all.
    ways: Counter[str] = field(default_factory=Counter)
    offered: int = 0
    # Declined follow-ups asked about with the entry meant among the buttons ("which did you
    # mean?", issue #12 item 2): still declined in the table, counted beside it.
    asked_with_it: int = 0

    @property
    def total(self) -> int:
        return self.right + self.wrong + self.declined

    def add(self, outcome: str, text: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome != "right":
            self.misses.append(f"{outcome}: {text}")

    def pct(self, n: int) -> float:
        return 100.0 * n / self.total if self.total else 0.0


def load(path: Path = REALWORLD_FILE) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text("utf-8"))
    near = data.pop("near_miss", {}) or {}
    data["domestic_tax"] = near.get("domestic_tax") or []
    data["other_agency"] = near.get("other_agency") or []
    return data


def single_items(data: dict[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """(text, expected) per single-message kind."""
    items: dict[str, list[tuple[str, Any]]] = {}
    for kind in ("misspelled", "wrapped", "one_word"):
        items[kind] = [(t, entry) for entry, texts in (data.get(kind) or {}).items()
                       for t in texts]
    items["compound"] = [(c["text"], list(c["expect"])) for c in data.get("compound") or []]
    items["other_language"] = [(t, OTHER_LANGUAGE) for texts in
                               (data.get("other_language") or {}).values() for t in texts]
    items["domestic_tax"] = [(t, DOMESTIC_TAX) for t in data["domestic_tax"]]
    items["other_agency"] = [(t, OUT_OF_SCOPE) for t in data["other_agency"]]
    return items


def _entries(names: list[str]) -> list[str]:
    return [n[len(INTENT_PREFIX):] for n in names if n.startswith(INTENT_PREFIX)]


def answered_and_offered(parse: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The entries the reply answers, in order, and those it offers as buttons after them."""
    intent = str((parse.get("intent") or {}).get("name") or "")
    answered = _entries(list(parse.get("compound") or [intent]))
    return answered, [o for o in _entries(list(parse.get("offer") or [])) if o not in answered]


def right_by(parse: dict[str, Any], expected: list[str]) -> str | None:
    """How a reply to two questions is right, as the issue words it: "answered" (both, in
    order) or "offered" (the first answered, the second offered as a button in the same reply);
    None when it is not right (the second answered and the first offered included)."""
    answered, offered = answered_and_offered(parse)
    if answered == expected:
        return "answered"
    if len(answered) == 1 and len(offered) == 1 and answered + offered == expected:
        return "offered"
    return None


def reversed_offer(parse: dict[str, Any], expected: list[str]) -> bool:
    """The second question answered and the first offered: both in the reply, but not what the
    issue counts as right (reported beside the table, not in it)."""
    answered, offered = answered_and_offered(parse)
    return len(answered) == 1 and len(offered) == 1 and offered + answered == expected


def outcome_of_parse(parse: dict[str, Any], expected: Any) -> str:
    """right / wrong / declined for one parsed message (see the module docstring)."""
    intent = str((parse.get("intent") or {}).get("name") or "")
    answered, _ = answered_and_offered(parse)
    if isinstance(expected, list):
        if right_by(parse, expected):
            return "right"
        return "wrong" if any(a not in expected for a in answered) else "declined"
    if expected == OTHER_LANGUAGE:
        return "right" if intent == OTHER_LANGUAGE else "wrong" if answered else "declined"
    if expected == DOMESTIC_TAX:
        return "right" if intent == DOMESTIC_TAX else "wrong" if answered else "declined"
    if expected == OUT_OF_SCOPE:
        if answered or intent == DOMESTIC_TAX:
            return "wrong"
        return "right" if intent in (OUT_OF_SCOPE, NLU_FALLBACK) else "declined"
    if answered == [expected]:
        return "right"
    # An entry answered beside the one asked ("two questions" read in one) is an answer the
    # person did not ask for.
    return "wrong" if answered else "declined"


async def score_single(items: dict[str, list[tuple[str, Any]]], parse: Parse
                       ) -> dict[str, Tally]:
    tallies = {}
    for kind, pairs in items.items():
        tally = Tally()
        for text, expected in pairs:
            result = await parse(text)
            outcome = outcome_of_parse(result, expected)
            tally.add(outcome, text)
            tally.offered += bool(answered_and_offered(result)[1])
            if outcome == "right" and isinstance(expected, list):
                tally.ways[right_by(result, expected) or ""] += 1
            elif isinstance(expected, list) and reversed_offer(result, expected):
                tally.ways["reversed"] += 1
        tallies[kind] = tally
    return tallies


@dataclass
class Texts:
    """What the bot says, to recognise replies over REST."""

    answers: dict[str, str]            # answer text -> entry id
    asks: dict[str, str]               # slot -> the form's question
    cancelled: tuple[str, ...]         # what the bot says when a form is stopped

    def entries_in(self, replies: list[dict[str, Any]]) -> list[str]:
        found = []
        for reply in replies:
            first = first_paragraph(reply.get("text") or "")
            if first in self.answers:
                found.append(self.answers[first])
        return found


def first_paragraph(text: str) -> str:
    return text.strip().split("\n\n")[0].strip()


def conversation_texts(kb: Any, domain_dir: Path) -> Texts:
    from bot.content.answers import answer_text

    # Rasa's output channels send each paragraph of a message without buttons as a message of
    # its own: an answer is recognised by its first paragraph.
    answers = {first_paragraph(answer_text(kb, entry_id)): entry_id for entry_id in kb.entries}
    asks = {slot: kb.message(f"handoff_ask_{slot.split('_', 1)[1]}")
            for slot in ("handover_name", "handover_question", "handover_contact")}
    for path in domain_dir.glob("*.yml"):
        responses = (yaml.safe_load(path.read_text("utf-8")) or {}).get("responses") or {}
        for name, variants in responses.items():
            if name.startswith("utter_ask_"):
                asks[name[len("utter_ask_"):]] = kb.fill(variants[0]["text"])
    cancelled = (kb.message("handoff_cancelled"), kb.message("declaration_cancelled"),
                 kb.message("stop"))
    return Texts(answers, asks, tuple(c for c in cancelled if c))


FORM_STARTS = {"handover": "/request_human", "declaration": "/check_declaration_status"}
FIRST_SLOT = {"handover": "handover_name", "declaration": "declaration_reference"}


def score_follow_ups(items: list[dict[str, Any]], send: Send, texts: Texts) -> Tally:
    tally = Tally()
    for item in items:
        sender = f"eval-{uuid.uuid4().hex[:12]}"
        *before, last = item["turns"]
        for turn in before:
            send(sender, turn)
        replies = send(sender, last)
        got = texts.entries_in(replies)
        expected = item["expect"]
        outcome = "right" if got[:1] == [expected] else "wrong" if got else "declined"
        tally.add(outcome, " / ".join(item["turns"]))
        if outcome == "declined" and f"/{INTENT_PREFIX}{expected}" in button_payloads(replies):
            tally.asked_with_it += 1
    return tally


def button_payloads(replies: list[dict[str, Any]]) -> set[str]:
    """Every button payload of the bot's replies."""
    return {str(b.get("payload")) for r in replies for b in r.get("buttons") or []
            if isinstance(b, dict)}


def score_in_form(items: list[dict[str, Any]], send: Send, texts: Texts) -> Tally:
    tally = Tally()
    for item in items:
        sender = f"eval-{uuid.uuid4().hex[:12]}"
        send(sender, FORM_STARTS[item["form"]])
        replies = send(sender, item["text"])
        said = [r.get("text") or "" for r in replies]
        asked_again = texts.asks[FIRST_SLOT[item["form"]]] in said
        got = texts.entries_in(replies)
        expect = str(item["expect"])
        if expect.startswith("answer "):
            entry = expect.split(" ", 1)[1]
            outcome = ("right" if got == [entry] and asked_again
                       else "wrong" if got and got != [entry] else "declined")
        elif expect == "cancel":
            outcome = ("right" if any(c in said for c in texts.cancelled) and not asked_again
                       else "wrong" if got else "declined")
        else:  # reject: never taken as the answer, the same question again
            outcome = "right" if asked_again and not got else "wrong" if got else "declined"
        tally.add(outcome, f"[{item['form']}] {item['text']}")
    return tally


def format_table(rows: dict[str, tuple[Tally | None, Tally]]) -> str:
    """kind -> (before, after): right / wrong / declined, in percent of the kind's items."""
    lines = [f"{'kind':16s} {'n':>4s}   {'before: right  wrong  declined':>31s}   "
             f"{'after: right  wrong  declined':>30s}"]
    for kind, (before, after) in rows.items():
        b = (f"{before.pct(before.right):11.1f}% {before.pct(before.wrong):5.1f}% "
             f"{before.pct(before.declined):8.1f}%") if before else f"{'(not measured)':>31s}"
        lines.append(f"{kind:16s} {after.total:4d}   {b:>31s}   "
                     f"{after.pct(after.right):11.1f}% {after.pct(after.wrong):5.1f}% "
                     f"{after.pct(after.declined):8.1f}%")
    return "\n".join(lines)


def format_offers(rows: dict[str, tuple[Tally | None, Tally]]) -> str:
    """How the two-question replies were right (both answered, or one answered and the other
    offered as a button), how many declined follow-ups were asked with the entry meant among
    the buttons, and how many messages of each kind got an offer, after."""
    lines = []
    for kind, (before, after) in rows.items():
        if after.ways:
            both = after.ways["answered"]
            was = f" (before: {before.ways['answered']})" if before else ""
            lines.append(f"{kind}: right {after.right} of {after.total} = {both} both answered"
                         f"{was} + {after.ways['offered']} the first answered and the second "
                         f"offered as a button; not counted: {after.ways['reversed']} with the "
                         f"second answered and the first offered")
    for kind, (_, after) in rows.items():
        if after.asked_with_it:
            lines.append(f"{kind}: of the {after.declined} declined, {after.asked_with_it} asked "
                         "with the entry meant among the buttons (still counted declined)")
    offers = [f"{kind} {after.offered}/{after.total}" for kind, (_, after) in rows.items()
              if after.offered]
    lines.append("messages given an offer (a button to a second entry), after: "
                 + (", ".join(offers) or "none"))
    return "\n".join(lines)
