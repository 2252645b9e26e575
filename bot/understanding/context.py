"""Follow-ups: a short message that leans on the previous answer ("and excise?", "what about an
electric one?", "what if I lost it") is read together with the entry just answered.

The follow-up asks for something other than the answer on screen, so the question is "which
entry, if not the previous one?". The trained model answers it from several readings:
- the message alone (its words' own evidence, over the knowledge entries only);
- the message after each of several wordings of the previous entry (its question and its first
  training examples), each reading's scores taken without the previous entry and scaled back to
  one ("if not the previous entry, which?"); averaged over the wordings, so no single wording's
  quirks decide;
- the entries the previous one lists as `related` get a bonus.
A clear winner (well ahead of the next) is answered if the message's own words point to it: read
alone, or moving the readings towards it compared with the previous entry's wordings read
without the message. "and that?" moves nothing: the wordings' own second choices would win, so
the person is asked instead, with the candidates as buttons, unless the message is a question
with words of its own ("how much is it?"): no other entry is meant, so it asks about the entry
just answered, which is answered again (`bot.understanding.pipeline`). So is a message the model
reads confidently alone as that entry ("can i pay with airtel money" after how to pay). Anything
else the model reads confidently on its own (a new question, "thanks", "stop") is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.names import INTENT_PREFIX

# A follow-up leans on an answer given at most this many user messages ago.
CONTEXT_TURNS = 2
MAX_FOLLOW_UP_WORDS = 12
# Wordings of the previous entry each follow-up is read after: its question and this many of
# its training examples (the first ones: the authors put the plainest first).
READING_EXAMPLES = 4
# Chosen with scripts/tune_followups.py on eval/dev_followups.yml, 2 and 4 (104 right, 4 wrong,
# 6 declined of 114; the method before: 91, 6, 17) and checked on dev_followups3.yml, not
# tuned on (82, 7, 5 of 94; before: 67, 9, 18). A total is out of at most 2 + RELATED_BONUS;
# no minimum total is needed (none changed a result): the margin decides.
RELATED_BONUS = 0.4
MIN_MARGIN = 0.25
# The message's own evidence for the winner (its score alone plus how far it moved the
# readings towards it), below which the winner came from the previous topic alone.
MIN_OWN_EVIDENCE = 0.15
CONFIDENT_ALONE = 0.8  # a message this clear on its own is a new question, not a follow-up
LEANING = re.compile(
    r"^\s*(?:(?:ok|okay|alright|thanks|thank you)\b[,.!]*\s*)*"  # "ok thanks, and for cars?"
    r"(?:and|n|nd|&|plus|also|but|so|or|then|what about|how about|what if|and if|and for|for|"
    r"same for|is it|is that|does it|does that|can i|and the|what of|in case)(?=\W|$)"
    r"|\b(?:it|that|this|one|them|those|these|same|too|also)\b[?.!\s]*$",
    re.IGNORECASE,
)


# Words that point to no entry by themselves: a message of only these ("what about it", "tell
# me more", "and that one?") says nothing of its own about which entry it means.
EMPTY_WORDS = frozenset(
    "a the and so ok okay then it that this one them those these about more me tell what how "
    "else".split())


@dataclass(frozen=True)
class Context:
    """What the conversation says before this message."""

    previous_entry: str | None = None
    previous_question: str = ""
    related: tuple[str, ...] = ()
    in_form: bool = False
    # Wordings of the previous entry to read the follow-up after (its question first).
    previous_wordings: tuple[str, ...] = ()

    @property
    def wordings(self) -> tuple[str, ...]:
        return self.previous_wordings or (self.previous_question,)


@dataclass
class Resolution:
    entry: str | None                  # the entry the follow-up means, if clear
    candidates: list[tuple[str, float]] = field(default_factory=list)  # best first


def looks_like_follow_up(text: str) -> bool:
    return len(text.split()) <= MAX_FOLLOW_UP_WORDS


def leans(text: str) -> bool:
    return bool(LEANING.search(text))


def says_something(text: str) -> bool:
    """Whether the message has a word of its own besides EMPTY_WORDS."""
    return bool(set(re.findall(r"[a-z0-9']+", text.lower())) - EMPTY_WORDS)


def entry_scores(ranking: Iterable[Mapping]) -> dict[str, float]:
    """Knowledge entry id → confidence, from a parse's intent ranking."""
    return {item["name"][len(INTENT_PREFIX):]: float(item.get("confidence") or 0.0)
            for item in ranking if str(item.get("name") or "").startswith(INTENT_PREFIX)}


def other_than(scores: Mapping[str, float], previous: str | None) -> dict[str, float]:
    """The scores of the entries other than `previous`, scaled to add up to one: what the
    reading says if the message does not ask for the previous entry again."""
    rest = {entry: score for entry, score in scores.items() if entry != previous}
    total = sum(rest.values())
    return {entry: score / total for entry, score in rest.items()} if total > 0 else {}


def resolve(alone: Mapping[str, float], readings: Sequence[Mapping[str, float]],
            context: Context) -> Resolution:
    """Score every entry but the previous one and pick the clear winner. `alone`: the entry
    scores of the message alone; `readings`: those of the message after each wording of the
    previous entry."""
    previous = context.previous_entry
    scores: dict[str, float] = {entry: score for entry, score in alone.items()
                                if entry != previous}
    for entry, score in average_other_than(readings, previous).items():
        scores[entry] = scores.get(entry, 0.0) + score
    for entry in context.related:
        if entry != previous:
            scores[entry] = scores.get(entry, 0.0) + RELATED_BONUS
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if not ranked:
        return Resolution(None)
    top, score = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    clear = score - second >= MIN_MARGIN
    return Resolution(top if clear else None, ranked[:3])


def average_other_than(readings: Sequence[Mapping[str, float]],
                       previous: str | None) -> dict[str, float]:
    """`other_than` of each reading, averaged."""
    average: dict[str, float] = {}
    for reading in readings:
        for entry, score in other_than(reading, previous).items():
            average[entry] = average.get(entry, 0.0) + score / len(readings)
    return average


def own_evidence(entry: str, alone: Mapping[str, float], readings: Sequence[Mapping[str, float]],
                 wordings: Sequence[Mapping[str, float]], context: Context) -> float:
    """What the message itself says for `entry`: its score alone, plus how much reading it
    after the previous entry's wordings (`readings`) moved towards `entry` compared with the
    wordings read alone (`wordings`, in the same order)."""
    previous = context.previous_entry
    moved = (average_other_than(readings, previous).get(entry, 0.0)
             - average_other_than(wordings, previous).get(entry, 0.0))
    return alone.get(entry, 0.0) + moved


def confirm(resolution: Resolution, alone: Mapping[str, float],
            readings: Sequence[Mapping[str, float]], wordings: Sequence[Mapping[str, float]],
            context: Context) -> Resolution:
    """The resolution, or the same candidates without an answer when the message's own words
    do not point to the winner ("and that?" after the VAT rate)."""
    if resolution.entry is None or own_evidence(
            resolution.entry, alone, readings, wordings, context) >= MIN_OWN_EVIDENCE:
        return resolution
    return Resolution(None, resolution.candidates)
