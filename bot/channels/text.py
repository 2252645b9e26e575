"""What a channel passes on: text the model, the stores and the database drivers can hold.

A JSON string may carry a lone surrogate ("\\ud800") or a control character: Python keeps it,
but UTF-8 cannot encode a lone surrogate (the tokenizer fails, and the SQL driver raises
`ValueError`) and PostgreSQL refuses a NUL in any text. In a message they are dropped (nobody
types them); in a conversation id they are refused (it names the conversation's rows, and
changing it would address another one).
"""

from __future__ import annotations

import re

# Lone surrogates, and the control characters but tab, newline and carriage return.
_UNHOLDABLE = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_message(text: str) -> str:
    """The message without characters nobody types that the stores cannot hold."""
    return _UNHOLDABLE.sub("", text)


def holdable(conversation_id: str) -> bool:
    """Whether a conversation id has no character the stores cannot hold."""
    return _UNHOLDABLE.search(conversation_id) is None
