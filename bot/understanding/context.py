"""Follow-ups: a short message that leans on the previous answer ("and excise?", "what about an
electric one?", "what if I lost it") is read together with the entry just answered.

The trained model scores the message twice, alone and after the previous entry's question;
entries the previous one lists as `related` get a small bonus, and the previous entry itself a
small malus (repeating the answer just given helps nobody). A clear winner is answered; a close
call (or the previous entry again) becomes a question with the related entries and the other
candidates as buttons; anything the model reads confidently on
its own (a new question, "thanks", "stop") is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.names import INTENT_PREFIX

MAX_FOLLOW_UP_WORDS = 7
# Chosen on eval/dev_followups.yml with scripts/tune_followups.py (29 right, 1 wrong of 32).
RELATED_BONUS = 0.25
SAME_ENTRY_MALUS = 1.0
MIN_SCORE = 0.3        # of 2 + bonus: both readings together
MIN_MARGIN = 0.05
CONFIDENT_ALONE = 0.8  # a message this clear on its own is a new question, not a follow-up
LEANING = re.compile(
    r"^\s*(?:and|also|but|so|or|then|what about|how about|what if|and if|and for|for|same for|"
    r"is it|is that|does it|does that|can i|and the|what of|in case)\b"
    r"|\b(?:it|that|this|one|them|those|these|same|too|also)\b[?.!\s]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Context:
    """What the conversation says before this message."""

    previous_entry: str | None = None
    previous_question: str = ""
    related: tuple[str, ...] = ()
    in_form: bool = False


@dataclass
class Resolution:
    entry: str | None                  # the entry the follow-up means, if clear
    candidates: list[tuple[str, float]] = field(default_factory=list)  # best first


def looks_like_follow_up(text: str) -> bool:
    return len(text.split()) <= MAX_FOLLOW_UP_WORDS


def leans(text: str) -> bool:
    return bool(LEANING.search(text))


def entry_scores(ranking: Iterable[Mapping]) -> dict[str, float]:
    """Knowledge entry id → confidence, from a parse's intent ranking."""
    return {item["name"][len(INTENT_PREFIX):]: float(item.get("confidence") or 0.0)
            for item in ranking if str(item.get("name") or "").startswith(INTENT_PREFIX)}


def resolve(alone: Mapping[str, float], combined: Mapping[str, float],
            context: Context) -> Resolution:
    """Score every entry from both readings of the follow-up and pick the clear winner."""
    scores: dict[str, float] = {}
    for entry in set(alone) | set(combined) | set(context.related):
        score = alone.get(entry, 0.0) + combined.get(entry, 0.0)
        if entry in context.related:
            score += RELATED_BONUS
        if entry == context.previous_entry:
            score -= SAME_ENTRY_MALUS
        scores[entry] = score
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if not ranked:
        return Resolution(None)
    top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    # The previous entry's answer is already on screen: a follow-up asks for something else,
    # so when it wins, the person is asked which related entry they mean.
    clear = (top[1] >= MIN_SCORE and top[1] - second >= MIN_MARGIN
             and top[0] != context.previous_entry)
    if not clear:
        ranked = [kv for kv in ranked if kv[0] != context.previous_entry]
    return Resolution(top[0] if clear else None, ranked[:3])
