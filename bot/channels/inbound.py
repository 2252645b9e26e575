"""The person behind a verified conversation just wrote: note it for their notifications.

WhatsApp allows free text only within 24 hours of the person's last message (a template
after), so `notify_subscriptions.last_inbound_at` must follow every inbound WhatsApp and
Telegram message, not only the opt-in. The channels call `note_inbound` for each message
whose sender the platform verified; it never waits for the database: the update runs on one
worker thread of its own (a slow or unreachable database delays only these updates, never a
turn, and never holds the threads the turns use), at most once a minute per conversation,
and a failure is a log line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)

# Within WhatsApp's 24 hours, a minute late is nothing; it spares a write per message.
EVERY_SECONDS = 60.0
REMEMBERED = 10_000  # conversations whose last update is kept in memory

_lock = threading.Lock()
_last: OrderedDict[str, float] = OrderedDict()
_worker: ThreadPoolExecutor | None = None


def _touch(conversation: str) -> None:
    try:
        from bot.appdb import notifications

        notifications.touch(conversation)
    except Exception as error:  # the app database is down: the turn goes on regardless
        logger.warning("last message time of a conversation not recorded (%s)",
                       type(error).__name__)
        with _lock:
            _last.pop(conversation, None)  # try again at the next message


def note_inbound(conversation: str) -> None:
    """Record, in the background, that `conversation` (`whatsapp:…`, `telegram:…`) wrote now."""
    global _worker
    now = time.monotonic()
    with _lock:
        last = _last.get(conversation)
        if last is not None and now - last < EVERY_SECONDS:
            return
        _last[conversation] = now
        _last.move_to_end(conversation)
        while len(_last) > REMEMBERED:
            _last.popitem(last=False)
        if _worker is None:
            _worker = ThreadPoolExecutor(1, thread_name_prefix="note-inbound")
        worker = _worker
    try:
        worker.submit(_touch, conversation)
    except RuntimeError:  # interpreter shutting down
        pass
