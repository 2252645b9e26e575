"""The duplicate filter of the messaging channels: Meta may deliver the same WhatsApp message
(same ``messages[].id``) twice, Telegram the same update (same ``update_id``) after a timeout,
and each must be answered once.

A bounded in-memory TTL cache per process by default, or Redis (``SET NX EX``) when a Redis URL
is configured, which is what several replicas behind one webhook need.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

logger = logging.getLogger(__name__)


class SeenMessages:
    """Remembers message ids for ``ttl`` seconds so a re-delivery is answered once.

    In memory and per process by default; with a Redis URL the record is shared, which is
    what several replicas behind one webhook need. A Redis outage falls back to memory
    (better to answer twice than never).
    """

    def __init__(self, ttl: float = 86400, max_size: int = 10000, redis_url: str = "",
                 namespace: str = "whatsapp") -> None:
        self.ttl = ttl
        # Redis keys are `<namespace>:seen:<id>`: the channels' ids never meet in one database.
        self.namespace = namespace
        self.max_size = max_size
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._redis: Any = None
        if redis_url:
            import redis.asyncio as redis_asyncio

            self._redis = redis_asyncio.from_url(redis_url)

    def _first_time_in_memory(self, message_id: str) -> bool:
        now = time.monotonic()
        while self._seen:
            oldest_id, expires = next(iter(self._seen.items()))
            if expires > now and len(self._seen) < self.max_size:
                break
            del self._seen[oldest_id]
        if message_id in self._seen:
            return False
        self._seen[message_id] = now + self.ttl
        return True

    async def first_time(self, message_id: str) -> bool:
        """True the first time ``message_id`` is seen within the TTL."""
        if self._redis is not None:
            try:
                stored = await self._redis.set(
                    f"{self.namespace}:seen:{message_id}", "1", nx=True,
                    ex=max(1, int(self.ttl))
                )
                return bool(stored)
            except Exception as error:  # noqa: BLE001 - any Redis failure
                logger.warning("Redis dedup unavailable (%s); using memory", error)
        return self._first_time_in_memory(message_id)
