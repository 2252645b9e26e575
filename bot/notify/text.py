"""The words of a notification: reference, the new status in plain words, what to do, the date
and how to stop; no amounts, goods or names, and never a TPIN (none is known here). Read live
from knowledge/messages.yml (`notify_*`) and statuses.yml, like a lookup's answer."""

from __future__ import annotations

from datetime import datetime

from bot.content.live import get_knowledge
from bot.content.statuses import load_status_texts
from bot.notify.base import Notice


def day(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def _one_line(text: str) -> str:
    # WhatsApp template parameters may not hold line breaks or runs of spaces.
    return " ".join(str(text).split())


def notice(reference: str, status: str, changed_at: datetime) -> Notice:
    """The notice for `reference` now being `status` (changed at `changed_at`)."""
    kb = get_knowledge()
    wording = load_status_texts().statuses[status]
    fields = {
        "reference": reference,
        "status": _one_line(wording["label"]),
        "next": _one_line(wording["next"]),
        "action": _one_line(wording["action"]),
        "date": day(changed_at),
    }
    text = kb.message("notify_update", reference=reference, label=fields["status"],
                      next=fields["next"], action=fields["action"], date=fields["date"])
    return Notice(text=f"{text}\n{kb.message('notify_stop_hint')}", fields=fields)
