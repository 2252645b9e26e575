"""Inside a form, a message that opens with "forget it", "never mind", "not now" means leave the
form, whatever else it says: "forget it, I'll go to the office", "never mind, i will call them".

The model reads such a message whole, and the rest of it ("I'll go to the office") pulls it
towards a person or an office entry. Here the opening clause (up to a comma, a full stop, or
the "I'll..." that starts what the person will do instead) is read on its own: when it alone is
the stop intent, and the rest asks no question and carries no digits (a reference, a TPIN, a
phone number are answers), the message is stop, and the form's stop rule ends the form.
Outside a form nothing changes ("never mind, what is the VAT rate?" is a question).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Awaitable, Callable
from typing import Any

from bot.names import INTENT_PREFIX, OTHER_LANGUAGE, STOP
from bot.understanding import clauses

Parse = Callable[[str], Awaitable[dict[str, Any]]]

# The opening clause: a few words, then a comma / full stop / dash, or the words that start
# what the person will do instead ("forget it i'll check tomorrow").
MAX_LEAD_WORDS = 3
LEAD_END = re.compile(
    r"\s*(?:[,.;:!]+|\s-+)\s*"
    r"|\s+(?=(?:i|i'll|ill|i will|i'm|im|let me|we|we'll|maybe|just|will)\b)",
    re.IGNORECASE,
)
# How sure the model must be that the opening clause alone is stop.
LEAD_STOP_CONFIDENCE = 0.6
# A message whose rest (after the opening stop) the model, reading it alone, is this sure is a
# knowledge question stays one ("forget it, duty on cars"). The whole message is not asked:
# the opening pulls it anywhere ("never mind, i will ask my clearing agent" read 0.85 as "do I
# need a clearing agent?", though it asks nothing).
CONFIDENT_ENTRY = 0.8


def split_lead(text: str) -> tuple[str, str] | None:
    """(opening clause, rest) when the message opens with a short clause, else None."""
    for match in LEAD_END.finditer(text):
        lead, rest = text[: match.start()].strip(), text[match.end():].strip(" ,.!")
        words = len(lead.split())
        if words > MAX_LEAD_WORDS:
            return None
        if words and rest:
            return lead, rest
    return None


async def leaving(result: dict[str, Any], text: str, parse: Parse) -> dict[str, Any]:
    """`result` (the message's parse inside a form), read as stop when its opening clause is."""
    intent = result.get("intent") or {}
    name = str(intent.get("name") or "")
    if name in (STOP, OTHER_LANGUAGE) or result.get("compound"):
        return result
    found = split_lead(text)
    if found is None:
        return result
    lead, rest = found
    if clauses.asks(rest) or any(ch.isdigit() for ch in rest):
        return result
    lead_intent = (await parse(lead)).get("intent") or {}
    confidence = float(lead_intent.get("confidence") or 0.0)
    if lead_intent.get("name") != STOP or confidence < LEAD_STOP_CONFIDENCE:
        return result
    if name.startswith(INTENT_PREFIX) and float(intent.get("confidence") or 0) >= CONFIDENT_ENTRY:
        alone = (await parse(rest)).get("intent") or {}
        if (str(alone.get("name") or "").startswith(INTENT_PREFIX)
                and float(alone.get("confidence") or 0) >= CONFIDENT_ENTRY):
            return result
    leaving_result = copy.copy(result)
    leaving_result["intent"] = {"name": STOP, "confidence": confidence}
    leaving_result["intent_ranking"] = [{"name": STOP, "confidence": confidence},
                                        *(result.get("intent_ranking") or [])]
    notes = dict(result.get("understanding") or {})
    notes["form_lead"] = lead
    leaving_result["understanding"] = notes
    return leaving_result
