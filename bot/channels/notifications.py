"""`GET /webhooks/rest/notifications?sender=<id>&after=<n>`: the web widget's status
notifications (issue 14), read when the widget opens and every few seconds while it is open.

Keyed by the widget's own conversation id (`web-` and 128 random bits only that browser
knows, the same secret that lets it continue its conversation); only notifications of the web
channel, sent within NOTIFY_DAYS, at most 20 per request, after the id the widget has already
shown. A verified channel's id (`whatsapp:…`, `telegram:…`) is refused like on the REST
webhook (400); any other id a REST client could make up or guess (`sender=1`) has no web
notifications: 404, the same answer whether or not someone uses it.
"""

from __future__ import annotations

import asyncio
import logging
import re

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.appdb import notifications as store
from bot.channels.identity import is_reserved, is_widget_sender

logger = logging.getLogger(__name__)

SENDER = re.compile(r"[\w-]{1,80}")
NO_STORE = {"Cache-Control": "no-store"}


def _error(code: str, message: str, status: int) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status, headers=NO_STORE)


async def widget_notifications(request: Request) -> HTTPResponse:
    sender = request.args.get("sender") or ""
    after = request.args.get("after") or "0"
    if not SENDER.fullmatch(sender) or is_reserved(sender):
        return _error("invalid_sender", "sender must be the widget's conversation id", 400)
    if not after.isdigit() or len(after) > 12:
        return _error("invalid_after", "after must be a notification id (a whole number)", 400)
    if not is_widget_sender(sender):
        return _error("not_found", "no notifications for this sender", 404)
    try:
        found = await asyncio.to_thread(store.inbox, sender, int(after))
    except Exception as error:  # database down: the widget tries again later
        logger.warning("widget notifications unavailable (%s)", type(error).__name__)
        return _error("unavailable", "try again later", 503)
    return response.json({"notifications": found}, headers=NO_STORE)
