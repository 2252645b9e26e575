"""Rasa's Redis lock store, with waiting messages that keep their place in the queue.

Rasa serialises the messages of one conversation with a ticket lock: each message takes a
ticket that expires after TICKET_LOCK_LIFETIME seconds, so that a replica that dies in the
middle of a turn does not block the conversation for ever. But the tickets of messages that are
*waiting* expire too. When a replica dies, the next message of that conversation waits for the
dead turn's ticket to expire, its own ticket expires at about the same time, and Rasa then waits
for a ticket that no longer exists until the channel's reply timeout: the user gets the
technical-problem apology and has to send the message again (2 to 5 of 50 conversations per
crash in tests/replicas).

Here a waiting message renews its own ticket each time it checks the lock, in the same read and
write of the lock Rasa already makes at that point, so only a dead replica's ticket runs out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)


class KeepAliveRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose waiting tickets do not expire while their server is alive."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # as Rasa builds a lock store of a custom type
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs,
                      **kwargs}
        super().__init__(**kwargs)
        self._lifetimes: dict[tuple[str, int], float] = {}

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        ticket = super().issue_ticket(conversation_id, lock_lifetime)
        self._lifetimes[(conversation_id, ticket)] = lock_lifetime
        return ticket

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self._lifetimes.pop((conversation_id, ticket_number), None)
        super().cleanup(conversation_id, ticket_number)

    def _renew(self, conversation_id: str, ticket: int) -> None:
        """Rasa's `update_lock` (drop expired tickets, save), also renewing our ticket."""
        lock: TicketLock | None = self.get_lock(conversation_id)
        if not lock:
            return
        lock.remove_expired_tickets()
        lifetime = self._lifetimes.get((conversation_id, ticket), LOCK_LIFETIME)
        for waiting in lock.tickets:
            if waiting.number == ticket:
                waiting.expires = max(waiting.expires, time.time() + lifetime)
        self.save_lock(lock)

    async def _acquire_lock(self, conversation_id: str, ticket: int,
                            wait_time_in_seconds: float) -> TicketLock:
        """Rasa's `_acquire_lock` loop, renewing the ticket instead of only updating the lock."""
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                break
            if not lock.is_locked(ticket):
                return lock
            logger.debug("Conversation %s is busy: ticket %s waits.", conversation_id, ticket)
            await asyncio.sleep(wait_time_in_seconds)
            self._renew(conversation_id, ticket)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
