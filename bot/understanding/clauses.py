"""Split a message that asks two things ("I paid but it's not reflecting, also what's the penalty
for late payment") into its questions, in order. Conservative: only at sentence ends, at
"also"/"another question"/"secondly", and at "and" or "but" followed by a question word, and
only when every part keeps at least three words; otherwise the message stays whole."""

from __future__ import annotations

import re

MIN_WORDS = 3
MAX_CLAUSES = 3
QUESTION_WORDS = (r"what|whats|what's|how|where|when|who|which|why|is|are|can|could|do|does|"
                  r"should|will|must|may|i need|i want|tell me|please")
BOUNDARY = re.compile(
    r"(?:[?!;]+|\.(?=\s|$)|\n)\s*"
    r"|[,.]?\s+(?:and\s+)?also\s+"
    r"|[,.]?\s+(?:another|second|other|next)\s+(?:question|thing)\s*(?:is|:)?\s*"
    r"|[,.]?\s+(?:secondly|plus|then)\s+"
    rf"|[,.]?\s+(?:and|but)\s+(?=(?:{QUESTION_WORDS})\b)",
    re.IGNORECASE,
)


def split(text: str) -> list[str]:
    """The message's questions in order, or [] when it does not clearly ask more than one."""
    parts = [p.strip(" ,.-") for p in BOUNDARY.split(text) if p and p.strip(" ,.-")]
    if len(parts) < 2:
        return []
    merged: list[str] = []
    for part in parts:
        if merged and len(part.split()) < MIN_WORDS:
            merged[-1] = f"{merged[-1]} {part}"  # a short tail belongs to the clause before
        else:
            merged.append(part)
    if len(merged) < 2 or len(merged[0].split()) < MIN_WORDS:
        return []
    return merged[:MAX_CLAUSES]


ASKING = re.compile(rf"^(?:{QUESTION_WORDS})\b|\b(?:know|advise|tell me|help me|explain)\b",
                    re.IGNORECASE)


def question_index(parts: list[str]) -> int:
    """The clause that asks: the last one that reads like a question, else the last one."""
    for i in range(len(parts) - 1, -1, -1):
        if ASKING.search(parts[i]):
            return i
    return len(parts) - 1


def asks(text: str) -> bool:
    """Whether the text reads like a question (a question word first, a "?", "tell me"...)."""
    return "?" in text or bool(ASKING.search(text.strip()))
