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
without the message; more so when the message's rare words ("kitwe", "cigarettes": words few
entries are asked with) are all the previous entry's own; less (a smaller margin, no more
evidence) when a rare word of the message is the winner's and not the previous entry's: the
follow-up names a detail of that entry's topic ("and if i forgot it" after registering a TPIN,
"and if im aeo" after clearance times). "and that?" moves nothing: the
wordings' own second choices would win, so the person is asked instead, with the candidates as
buttons. A question or an "and ..." with words of its own that no other entry is clearly meant
by asks about the entry just answered, one detail changed ("how much is it?", "n kitwe?" after
the offices in Ndola), when read after the previous entry's wordings it leaves them their
confidence, or its rare words are that entry's: it is answered again (`bot.understanding.
pipeline`); when it moves them off ("how do i get one" after "do i need an agent": appoint one,
or become one?) it is asked. So is a message the model reads confidently alone as that entry
("can i pay with airtel money" after how to pay) answered again. Anything else the model reads
confidently on its own (a new question, "thanks", "stop") is left as it is, except a bare reply
that opens with "and" ("n copper?": the model reads "n" as "no") or asks about "it" ("can i
cancel it" is no "stop").

A second reading of the same parses weighs every entry, the previous one included, by how much
the message raised its probability after the previous entry's wordings compared with the
wordings alone (the log of the ratio: "what the message adds to the topic on screen"), with a
prior for the same topic and for its `related` entries. When that reading is sure (its winner
well ahead), its winner is answered if it is the entry just answered or the first reading ranks
it best too (`agreed`; the two disagreeing, the first reading decides as above: its clear
winner, the entry just answered again, or the person asked): "how do i get one" after
the certificate of origin is that entry (alone it reads as a TPIN), "where do i get the
reference number for it" after how to pay is the PRN (alone: the declaration's reference).
A word that refers back ("mine is 12 years old", "how much do they charge", "i lost it")
anywhere in a short message makes it lean on the previous answer, however sure the model is of
the message alone, when read after the previous entry's wordings it stays a customs question
("is it going to rain today?" does not); a message with no words of its own ("what about it")
is never answered with another entry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.names import AFFIRM, DENY, INTENT_PREFIX, STOP
from bot.understanding.clauses import ASKING

# A follow-up leans on an answer given at most this many user messages ago.
CONTEXT_TURNS = 2
MAX_FOLLOW_UP_WORDS = 12
# Wordings of the previous entry each follow-up is read after: its question and this many of
# its training examples (the first ones: the authors put the plainest first).
READING_EXAMPLES = 4
# Chosen with scripts/tune_followups.py on eval/dev_followups.yml to 4 (182 right, 7 wrong,
# 19 declined of 208; the method before: 183, 13, 12) and checked on dev_followups5.yml, phone
# wording (51, 3, 10 of 64; before: 36, 8, 20). A total is out of at most 2 + RELATED_BONUS;
# no minimum total is needed (none changed a result): the margin decides.
RELATED_BONUS = 0.5
# The first reading's winner must be this far ahead of the next: closer, the two are mostly
# entries of one family ("n 4 cars?" after the VAT rate: used-car duty or car taxes; "and then
# the rate" after the HS code: the duty bands or the exchange rate), and the person is asked
# with both as buttons rather than answered one. Chosen with scripts/tune_followups.py on
# dev_followups.yml to 5 and 7 (291): 0.4 to 0.42 give 257 right, 6 wrong, 28 declined
# (RELATED_BONUS 0.4 to 0.6 score alike); 0.25 (the method before, with "l8" spelled out)
# 261, 10, 20; 0.45 256, 6, 29. Checked on dev_followups6.yml (46, 3, 4 either way) and
# dev_followups8.yml (32, 3, 7 -> 32, 2, 8), never tuned on.
MIN_MARGIN = 0.4
# The message's own evidence for the winner (its score alone plus how far it moved the
# readings towards it), below which the winner came from the previous topic alone.
MIN_OWN_EVIDENCE = 0.25
# An "and ..." no other entry is meant by, read after the previous entry's wordings, leaves it
# this much of their confidence on average: the same topic with one detail changed ("n kitwe?"
# after the offices in Ndola), answered again; below, it may mean another entry: asked.
SAME_TOPIC_SHARE = 0.98
# A word at most this many entries are asked with is a topic's own ("kitwe", "hybrid").
RARE_IN = 2
# The first reading's winner is answered this far ahead of the next (rather than MIN_MARGIN),
# without more of the message's own evidence, when the message names it: a rare word of the
# message is the winner's and not the previous entry's ("and if i already have one but forgot
# it" after registering a TPIN: finding one; "and if im aeo" after clearance times). Chosen
# with scripts/tune_followups.py on its tuning sets (291, model 78d777a16ef0ea87): 0.15 to 0.25
# give 259 right, 10 wrong, 22 declined; 0.1 258, 11, 22; 0.3 258, 10, 23; without the rule
# 256, 10, 25. The check sets score alike either way.
NAMED_MARGIN = 0.2
# The message's own evidence another entry needs when all its rare words are the previous
# entry's ("n cigarettes" after excise on beer: allowance has cigarettes too).
TOPIC_WORD_EVIDENCE = 0.9
CONFIDENT_ALONE = 0.8  # a message this clear on its own is a new question, not a follow-up
# The second reading (`weigh`), in units of the log of a probability ratio: the prior of the
# previous entry (the same topic asked further, e^4: about 55 times another entry's) and of its
# related entries (e^1.5: about 4.5 times), the weight of the message's score alone, and how
# far ahead its winner must be to be answered whatever the first reading said. Chosen with
# scripts/tune_followups.py --grid on eval/dev_followups.yml to 5 and 7 (291 items): 260 right,
# 11 wrong, 20 declined; the method before: 242, 13, 36. A plateau: ALONE_WEIGHT 0.25 gives the
# same, a margin of 1.5 one right fewer. Chosen again in session 10 (model 215ab4d18352162b) on
# all 516 development follow-ups (the tuning sets and the check sets 6 and 8 to 11, totals
# only), the priors, margins and RELATED_BONUS on a grid: the same constants but SURE_MARGIN
# 1.5 (443 right, 19 wrong, 54 declined against 445 / 23 / 48 at 1.25; 1.75 441 / 19 / 56);
# dev_followups12.yml (BLIND, fresh) 33 / 2 / 5 either way.
SAME_TOPIC_PRIOR = 4.0
RELATED_PRIOR = 1.5
ALONE_WEIGHT = 0.5
SURE_MARGIN = 1.5
UNRANKED_FLOOR = 1e-6  # the probability of an entry below a ranking that leaves nothing
# A message that refers back ("mine", "it", "they") is a follow-up when, read after the previous
# entry's wordings, the entries keep this share of the probability (`in_knowledge`): "mine is 12
# years old" after car taxes keeps 0.99, "do you know a good hotel in that town" after how to
# pay 0.62. Chosen with scripts/tune_followups.py on dev_followups.yml to 5 and 7 (7: messages
# that refer back to nothing customs answers): from 0.95 up, follow-ups of 1 to 5 are lost.
IN_KNOWLEDGE = 0.9
_OPENING = r"^\s*(?:(?:ok|okay|alright|thanks|thank you)\b[,.!]*\s*)*"  # "ok thanks, and for cars?"
_JOINING = (r"and|n|nd|&|plus|also|but|so|or|then|what about|how about|what if|and if|and for|"
            r"wat abt|wat if|what abt")
LEANING = re.compile(
    rf"{_OPENING}(?:{_JOINING}|for|same for|is it|is that|does it|does that|can i|and the|"
    r"what of|in case)(?=\W|$)"
    r"|\b(?:it|that|this|one|them|those|these|same|too|also)\b[?.!\s]*$",
    re.IGNORECASE,
)
# A word that refers back to the answer on screen, anywhere in the message ("mine is 12 years
# old", "how much do they charge", "my wife also lived abroad"): the message leans on it.
REFERRING = re.compile(
    r"\b(?:it|its|it's|mine|they|them|their|theirs|one|ones|that|this|those|these|also|too|"
    r"same)\b", re.IGNORECASE)
# A message opening with "and" / "what if" continues the previous answer: it is no bare reply
# ("n copper?" is read as "no" by the model, "n if i dont?" too).
JOINING = re.compile(rf"{_OPENING}(?:{_JOINING})(?=[\s,]+\w)", re.IGNORECASE)  # "n" alone: no
BARE_REPLIES = frozenset({AFFIRM, DENY, STOP})
REPLY_WORDS = frozenset("no nope nah not yes yeah yep sure stop cancel please pls thanks".split())
QUESTION_OPENING = re.compile(
    r"^\s*(?:can|could|may|should|how|what|where|when|why|who|which|is|are|do|does)\b",
    re.IGNORECASE)
# "n", "nd", "&" opening a message: "and", spelled out for the model.
SHORT_AND = re.compile(r"^(\s*)(?:n|nd|&|\+)(?=\s)", re.IGNORECASE)


# Words that point to no entry by themselves: a message of only these ("what about it", "tell
# me more", "and that one?") says nothing of its own about which entry it means.
EMPTY_WORDS = frozenset(
    "a the and so ok okay alright then it that this one them those these about more me tell "
    "what how else other others ones too n nd wat dat dis hmm hm mm mmm ah oh eh".split())


@dataclass(frozen=True)
class Context:
    """What the conversation says before this message."""

    previous_entry: str | None = None
    previous_question: str = ""
    related: tuple[str, ...] = ()
    in_form: bool = False
    # Wordings of the previous entry to read the follow-up after (its question first).
    previous_wordings: tuple[str, ...] = ()
    # Words only a few entries are asked with (`topic_words`): those of the previous entry, and
    # all of them.
    previous_words: frozenset[str] = frozenset()
    rare_words: frozenset[str] = frozenset()
    # Every entry's rare words (`topic_words`): a follow-up naming another entry's own detail
    # ("and if i forgot it", "and if im aeo") names that entry.
    entry_words: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)

    @property
    def wordings(self) -> tuple[str, ...]:
        return self.previous_wordings or (self.previous_question,)


@dataclass
class Resolution:
    entry: str | None                  # the entry the follow-up means, if clear
    candidates: list[tuple[str, float]] = field(default_factory=list)  # best first


def joins(text: str, intent: str) -> bool:
    """Whether a message the model reads as a bare reply (no, yes, stop) opens with "and",
    "what if"... and has words of its own ("n copper?", not "but no"): it continues the previous
    answer, whatever the model made of its words."""
    opening = JOINING.search(text)
    return (intent in BARE_REPLIES and opening is not None
            and bool(words(text[opening.end():]) - EMPTY_WORDS - REPLY_WORDS))


def asks_about_it(text: str, intent: str) -> bool:
    """Whether a message the model reads as a bare reply asks a question about the answer on
    screen ("can i cancel it" after a declaration in query is no "stop"; "stop it" is)."""
    return intent in BARE_REPLIES and bool(QUESTION_OPENING.search(text)) and leans(text)


def spelled_out(text: str) -> str:
    """The message with an opening "n" / "&" written as "and"."""
    return SHORT_AND.sub(r"\1and", text, count=1)


def continues(text: str) -> bool:
    """Whether the message asks ("how much is it?", "n chirundu?") or opens with "and",
    "what if"...: it goes on from the answer just given."""
    return "?" in text or bool(ASKING.search(text) or JOINING.search(text))


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def topic_words(wordings_by_entry: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Each entry's words that at most RARE_IN entries are asked with (its question and
    examples): "kitwe", "cigarettes", "hybrid", not "duty" or "how"."""
    vocabulary = {entry: words(" ".join(texts)) - EMPTY_WORDS
                  for entry, texts in wordings_by_entry.items()}
    counts: dict[str, int] = {}
    for found in vocabulary.values():
        for word in found:
            counts[word] = counts.get(word, 0) + 1
    return {entry: frozenset(w for w in found if counts[w] <= RARE_IN and not w.isdigit())
            for entry, found in vocabulary.items()}


def same_words(text: str, context: Context) -> bool:
    """Whether the message's rare words ("n kitwe?", "and cigarettes") are all words the
    previous entry is asked with: one detail of the same topic changed."""
    found = words(text) & context.rare_words
    return bool(found) and found <= context.previous_words


def names(entry: str, text: str, context: Context) -> bool:
    """Whether the message has a rare word `entry` is asked with and the previous entry is not
    ("forgot" after registering a TPIN names finding one): a detail of that entry's topic."""
    own = context.entry_words.get(entry, frozenset())
    return bool(words(text) & context.rare_words & (own - context.previous_words))


def asks_again(text: str, share: float, context: Context) -> bool:
    """Whether a follow-up no other entry is clearly meant by asks about the entry just answered:
    a question or an "and ..." with words of its own ("how much is it?", "n kitwe?" after the
    offices in Ndola) that leaves the previous entry `share` of its wordings' confidence (read
    after them, it changes one detail, not the topic), or whose rare words are the previous
    entry's."""
    return says_something(text) and continues(text) and (
        share >= SAME_TOPIC_SHARE or same_words(text, context))


def looks_like_follow_up(text: str) -> bool:
    return len(text.split()) <= MAX_FOLLOW_UP_WORDS


def leans(text: str) -> bool:
    """Whether the message opens or ends as a follow-up ("and excise?", "excise too?")."""
    return bool(LEANING.search(text))


def refers_back(text: str) -> bool:
    """Whether a word anywhere in the message may refer to the answer on screen ("mine is 12
    years old", "how much do they charge"); `in_knowledge` tells whether it does."""
    return bool(REFERRING.search(text))


def refers_to_topic(text: str, readings: Sequence[Mapping[str, float]]) -> bool:
    """Whether a word of the message refers back to the answer on screen: read after the
    previous entry's wordings (`readings`), the message stays a customs question."""
    return refers_back(text) and stays_in_knowledge(readings)


def stays_in_knowledge(readings: Sequence[Mapping[str, float]]) -> bool:
    return in_knowledge(readings) >= IN_KNOWLEDGE


def in_knowledge(readings: Sequence[Mapping[str, float]]) -> float:
    """The share of the probability the knowledge's entries keep in the readings of the message
    after the previous entry's wordings, on average: high when the conversation makes it a
    customs question ("mine is 12 years old" after car taxes), lower when it stays outside
    ("is it going to rain today?" after the VAT rate)."""
    return sum(sum(reading.values()) for reading in readings) / len(readings) if readings else 0.0


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
            context: Context, text: str = "") -> Resolution:
    """Score every entry but the previous one and pick the clear winner (MIN_MARGIN ahead, or
    NAMED_MARGIN when the message `names` it). `alone`: the entry scores of the message alone;
    `readings`: those of the message after each wording of the previous entry."""
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
    needed = NAMED_MARGIN if names(top, text, context) else MIN_MARGIN
    clear = score - second >= needed
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
            context: Context, text: str) -> Resolution:
    """The resolution, or the same candidates without an answer when the message has no words
    of its own ("what about it"), its own words do not point to the winner ("and that?" after
    the VAT rate), or point to it less than the previous entry's own rare words do
    ("n cigarettes" after excise on beer)."""
    if resolution.entry is None:
        return resolution
    if not says_something(text):  # "what about it": the previous topic alone chose the winner
        return Resolution(None, resolution.candidates)
    if names(resolution.entry, text, context):  # "and if i forgot it": its own detail
        return resolution
    needed = TOPIC_WORD_EVIDENCE if same_words(text, context) else MIN_OWN_EVIDENCE
    if own_evidence(resolution.entry, alone, readings, wordings, context) >= needed:
        return resolution
    return Resolution(None, resolution.candidates)


def lifts(readings: Sequence[Mapping[str, float]], wordings: Sequence[Mapping[str, float]],
          entries: Iterable[str]) -> dict[str, float]:
    """How much reading the message after each wording (`readings`) raised each entry's
    probability compared with the wording alone (`wordings`, in the same order): the log of the
    ratio, averaged over the wordings. The model's rankings are cut short: an entry a reading
    does not rank is given no change (the reading says nothing of it); one the wording does not
    rank is taken at most at the wording's smallest probability shown, and at most what the
    ranked entries leave (its ratio at least that)."""
    totals = dict.fromkeys(entries, 0.0)
    pairs = [(reading, wording) for reading, wording in zip(readings, wordings, strict=True)
             if reading and wording]
    for reading, wording in pairs:
        left = 1.0 - sum(wording.values())
        unranked = max(min(min(wording.values()), left), UNRANKED_FLOOR)
        for entry in totals:
            if reading.get(entry, 0.0) > 0.0:
                base = wording.get(entry) or unranked
                totals[entry] += math.log(reading[entry] / base) / len(pairs)
    return totals


def weigh(alone: Mapping[str, float], readings: Sequence[Mapping[str, float]],
          wordings: Sequence[Mapping[str, float]], context: Context, text: str) -> Resolution:
    """The second reading: every entry the readings or the message rank, the previous one and
    its related ones, scored by its lift (`lifts`), its score alone (ALONE_WEIGHT) and its prior
    (SAME_TOPIC_PRIOR, RELATED_PRIOR); the winner when SURE_MARGIN ahead of the next, and the
    message has words of its own. Candidates: the best three with their softmax shares."""
    previous = context.previous_entry
    entries = {*alone, *(entry for reading in readings for entry in reading), *context.related}
    if previous is not None:
        entries.add(previous)
    scores = lifts(readings, wordings, entries)
    for entry in scores:
        scores[entry] += ALONE_WEIGHT * alone.get(entry, 0.0)
        if entry == previous:
            scores[entry] += SAME_TOPIC_PRIOR
        elif entry in context.related:
            scores[entry] += RELATED_PRIOR
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if not ranked:
        return Resolution(None)
    top = ranked[0][1]
    total = sum(math.exp(score - top) for _, score in ranked)
    shares = [(entry, math.exp(score - top) / total) for entry, score in ranked[:3]]
    second = ranked[1][1] if len(ranked) > 1 else -math.inf
    sure = top - second >= SURE_MARGIN and says_something(text)
    return Resolution(ranked[0][0] if sure else None, shares)


def agreed(sure: Resolution, first: Resolution, previous: str | None) -> Resolution:
    """The second reading's answer, kept when it is the entry just answered or the entry the
    first reading (`resolve`) ranks best; sure of another entry than that, the two readings
    disagree and the second is not sure (the first reading then decides, `confirm` and
    `asks_again`: its winner if clear, the entry just answered, or the person asked). On
    scripts/tune_followups.py (model 215ab4d18352162b) tuning 264 / 7 / 20 -> 264 / 6 / 21;
    the check sets (6, 8, 9, 10, 11) 181 / 17 / 27 either way."""
    if sure.entry in (None, previous) or not first.candidates:
        return sure
    if first.candidates[0][0] == sure.entry:
        return sure
    return Resolution(None, sure.candidates)
