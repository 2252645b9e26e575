"""Split a message that asks two things ("I paid but it's not reflecting, also what's the penalty
for late payment") into its clauses, in order, and tell what each clause does: asks, reports a
problem, says what the person wants, or only tells the story around the question ("I have a
consignment of tyres at Nakonde"). Conservative: only at sentence ends, at "also"/"another
question"/"secondly", at "and" or "but" followed by a question word, at a comma between two
questions ("what is a tpin, where do i get one"), and only when every part keeps at least three
words (a short greeting joins the clause after it, a short tail the clause before); otherwise
the message stays whole."""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_WORDS = 3
MAX_CLAUSES = 3
QUESTION_WORDS = (r"what|whats|what's|how|where|when|who|which|why|is|are|can|could|do|does|"
                  r"should|will|must|may|i need|i want|tell me|please")
BOUNDARY = re.compile(
    r"((?:[?!;]+|\.(?=\s|$)|\n)\s*"
    r"|[,.]?\s+(?:and\s+)?also\s+"
    r"|[,.]?\s+(?:another|second|other|next)\s+(?:question|thing)\s*(?:is|:)?\s*"
    r"|[,.]?\s+(?:secondly|plus|then)\s+"
    rf"|[,.]?\s+(?:and|but)\s+(?=(?:{QUESTION_WORDS})\b))",
    re.IGNORECASE,
)
# A word that joins a clause to the one before ("? And how long..."): not part of its question.
LEADING = re.compile(r"^(?:(?:and|also|but|so|then|secondly|plus)\b[\s,]*)+", re.IGNORECASE)

# A clause asks when it ends with "?", starts (or a comma or colon piece of it starts) like a
# question ("how ...", "do I ...", "is there ..."), or asks to be told ("please explain", "I
# want to know"). "I want to pay with mobile money" asks nothing by itself: it is the story.
_WH = r"what|what's|whats|how|where|when|why|which|who"
_AUX = r"is|are|am|was|were|do|does|did|can|could|should|must|will|would|may|have|has"
_SUBJECT = r"i|we|you|it|there|they|he|she|my|our|your|the|this|that|these|those|a|an|any"
QUESTION_START = re.compile(
    rf"(?:^|[,:]\s*)(?:(?:{_WH})\b|(?:{_AUX})\s+(?:{_SUBJECT})\b)", re.IGNORECASE)
REQUEST = re.compile(
    r"\b(?:tell me|let me know|advise|explain|help me|help|assist|kindly|please|my question"
    r"|(?:want|would like|need|wish) to (?:know|ask|find out|check|understand|confirm))\b",
    re.IGNORECASE)
# A clause asks for something without a question when it reports a problem ("it's not
# reflecting", "I lost my TPIN", "I paid twice by mistake"): that may be a request of its own
# ("... also what's the penalty" asks a second thing); a story sentence ("I paid my duty
# yesterday through the bank") never is.
PROBLEM = re.compile(
    r"\b(?:not|no|never|nobody|nothing|still|stuck|lost|forgot|forgotten|wrong|wrongly|mistake"
    r"|mistakenly|twice|overpaid|overcharged|refund|cannot|unable|failed|fails|missing|delayed"
    r"|rejected|refused|problem|error|\w+n't)\b",
    re.IGNORECASE)
# Saying what one wants ("I want to register for a TPIN", "send me the list") is a request of its
# own only when the message joins another question to it ("also", "and", "secondly"): without
# that it sets the scene ("I want to pay with mobile money. Where do I get the number?").
WANTS = re.compile(
    r"\b(?:i|we)(?:'d| would)? (?:want|need|like|wish|am looking for|are looking for)\b"
    r"|^(?:send|give|show|list|share)\b",
    re.IGNORECASE)
# A story sentence: the person, their goods or people tell what happened ("I paid my duty
# yesterday", "last year we imported a car", "someone told me about AEO").
# A clause that neither asks, nor reports, nor wants, nor tells ("duty on used cars") names a
# topic: a question in few words.
GREETING = re.compile(
    r"^(?:(?:hello|hi|hey|dear|greetings|good\s+(?:morning|afternoon|evening|day)|morning"
    r"|afternoon|evening)\b(?:\s+(?:sir|madam|mam|team|there|all|zra|officer|everyone)\b)*"
    r"(?:\s*/\s*madam)?[\s,!.:]*)+", re.IGNORECASE)
TELLS = re.compile(
    r"\b(?:i|i'm|im|we|we're|my|our|me|us|he|she|they|his|her|their|someone|somebody)\b"
    r"|^(?:it|it's|its|this|that|there|a friend|the (?:officer|agent|bank|system|status|truck"
    r"|goods|shipment|consignment|parcel|post office))\b", re.IGNORECASE)
JOINING = re.compile(r"\b(?:also|and|but|secondly|plus|then|another|second|other|next)\b",
                     re.IGNORECASE)
JOINED_AFTER = re.compile(r"\b(?:too|as well)$", re.IGNORECASE)  # "how do I complain too?"


@dataclass(frozen=True)
class Clause:
    """One clause of a message: its words, whether it asks a question, reports a problem or
    says what the person wants, tells the story (a sentence about the person's own situation),
    and whether "also"/"and"... joins it to the clause before."""

    text: str
    asked: bool = False
    problem: bool = False
    wants: bool = False
    tells: bool = False
    joined: bool = False


# A comma before a question ("..., how do i pay it"): a boundary only when a question word
# opens the text after it and the text before it is a question too. A condition or a detail is
# not ("if I import a car, how much is duty"), nor is a question word followed by its subject or
# an -ing word ("when my goods arrive, what do i do", "when importing a car, what ..."). A yes/no
# question after a comma only elaborates the first ("how do I register for a TPIN, do I need to
# go to the office?"): no boundary.
_WH_OPENING = rf"(?:{_WH})\b(?!\s+(?:{_SUBJECT})\b)(?!\s+[a-z]+ing\b)"
_OPENING = rf"(?:{_WH_OPENING}|(?:{_AUX})\s+(?:{_SUBJECT})\b)"
COMMA = re.compile(rf",\s*(?={_WH_OPENING})", re.IGNORECASE)
OPENS_QUESTION = re.compile(rf"^{_OPENING}", re.IGNORECASE)


def _comma_questions(text: str) -> list[str]:
    """The text cut at each comma that stands between two questions: text, boundary, text..."""
    cut: list[str] = []
    start = 0
    for match in COMMA.finditer(text):
        head = text[start:match.start()]
        if OPENS_QUESTION.search(GREETING.sub("", head.strip())):
            cut += [head, match.group(0)]
            start = match.end()
    return [*cut, text[start:]]


def _pieces(text: str) -> list[tuple[str, bool, bool]]:
    """The text between boundaries, each with whether the boundary after it was a "?" and
    whether a joining word ("also", "and") comes before it or "too" ends it."""
    cut = BOUNDARY.split(text)  # text, boundary, text, boundary, ..., text
    cut = [part for i, piece in enumerate(cut)
           for part in (_comma_questions(piece) if i % 2 == 0 else [piece])]
    pieces = []
    for i in range(0, len(cut), 2):
        raw = cut[i].strip(" ,.-")
        piece = LEADING.sub("", raw)
        ended_with_question = i + 1 < len(cut) and "?" in cut[i + 1]
        joined = piece != raw or (i > 0 and bool(JOINING.search(cut[i - 1])))
        if piece:
            pieces.append((piece, ended_with_question, joined or bool(JOINED_AFTER.search(piece))))
    if pieces and text.rstrip().endswith("?"):
        pieces[-1] = (pieces[-1][0], True, pieces[-1][2])
    return pieces


def _asks(piece: str, ended_with_question: bool) -> bool:
    return ended_with_question or bool(QUESTION_START.search(piece) or REQUEST.search(piece))


def clauses(text: str) -> list[Clause]:
    """The message's clauses in order, or [] when it does not clearly say more than one thing."""
    pieces = _pieces(text)
    if len(pieces) < 2:
        return []
    merged: list[Clause] = []
    for piece, ended_with_question, joined in pieces:
        clause = Clause(piece, _asks(piece, ended_with_question), bool(PROBLEM.search(piece)),
                        bool(WANTS.search(piece)), bool(TELLS.search(GREETING.sub("", piece))),
                        joined)
        if merged and (len(piece.split()) < MIN_WORDS or len(merged[-1].text.split()) < MIN_WORDS):
            # A short tail belongs to the clause before, a short opening ("Hello.") to the
            # clause after.
            before = merged[-1]
            merged[-1] = Clause(f"{before.text} {piece}", before.asked or clause.asked,
                                before.problem or clause.problem, before.wants or clause.wants,
                                before.tells or clause.tells, before.joined or clause.joined)
        else:
            merged.append(clause)
    if len(merged) < 2 or len(merged[-1].text.split()) < MIN_WORDS:
        return []
    return merged[:MAX_CLAUSES]


def split(text: str) -> list[str]:
    """The message's clauses' words in order, or [] when it says one thing."""
    return [clause.text for clause in clauses(text)]


ASKING = re.compile(rf"^(?:{QUESTION_WORDS})\b|\b(?:know|advise|tell me|help me|explain)\b",
                    re.IGNORECASE)


def asks(text: str) -> bool:
    """Whether the text reads like a question (a question word first, a "?", "tell me"...)."""
    return "?" in text or bool(ASKING.search(text.strip()))
