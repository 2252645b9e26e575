"""An entry's answer as a person reads it: settings filled in, links listed (one definition for
the actions, the evaluation and the support tools)."""

from __future__ import annotations

from typing import Any


def answer_text(kb: Any, entry_id: str) -> str | None:
    """The full text of an entry's answer, with its links; None for an unknown entry."""
    entry = kb.entries.get(entry_id)
    if entry is None:
        return None
    text = kb.fill(entry.answer)
    if entry.links:
        text += "\n\n" + "\n".join(f"{kb.fill(link['title'])}: {kb.fill(link['url'])}"
                                    for link in entry.links)
    return text
