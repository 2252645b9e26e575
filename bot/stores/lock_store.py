"""Rasa's Redis lock store, with waiting messages that keep their place in the queue.

Rasa serialises the messages of one conversation with a ticket lock: each message takes a
ticket that expires after TICKET_LOCK_LIFETIME seconds, so that a replica that dies in the
middle of a turn does not block the conversation for ever. But the tickets of messages that are
*waiting* expire too. When a replica dies, the next message of that conversation waits for the
dead turn's ticket to expire, its own ticket expires at about the same time, and Rasa then waits
for a ticket that no longer exists until the channel's reply timeout: the user gets the
technical-problem apology and has to send the message again (2 to 5 of 50 conversations per
crash in tests/replicas).

Here a waiting message renews its own ticket each time it checks the lock, so only a dead
replica's ticket runs out.

Rasa also changes the lock with a plain read, change and write. Two replicas that take a ticket
for the same conversation at the same instant (a user's two quick messages, spread over both by
the proxy) can both read the same lock: one ticket is lost, or both get the same number, and
both turns run at once on the same conversation. Here every change of a lock is one Redis
transaction (WATCH, then MULTI/EXEC, again if another server changed the lock in between).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis
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

    def _change(self, conversation_id: str,
                change: Callable[[TicketLock | None], tuple[Any, TicketLock | None]]) -> Any:
        """Apply `change` to the stored lock atomically; it returns (result, lock to store, or
        None to delete it). Retried when another server changed the lock meanwhile."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    result, new = change(lock)
                    pipe.multi()
                    if new is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new.dumps())
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def take(lock: TicketLock | None) -> tuple[int, TicketLock]:
            lock = lock or self.create_lock(conversation_id)
            return lock.issue_ticket(lock_lifetime), lock

        try:
            ticket = self._change(conversation_id, take)
        except Exception as e:  # as Rasa: the channel turns it into a clear reply
            raise LockError(f"Error while acquiring lock. Error:\n{e}") from e
        self._lifetimes[(conversation_id, ticket)] = lock_lifetime
        return ticket

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Rasa's `cleanup`: give the ticket back; delete the lock if no one else waits."""
        self._lifetimes.pop((conversation_id, ticket_number), None)

        def release(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return None, lock if lock.is_someone_waiting() else None

        self._change(conversation_id, release)

    def _renew(self, conversation_id: str, ticket: int) -> None:
        """Rasa's `update_lock` (drop expired tickets), also renewing our ticket."""
        lifetime = self._lifetimes.get((conversation_id, ticket), LOCK_LIFETIME)

        def renew(lock: TicketLock | None) -> tuple[None, TicketLock | None]:
            if lock is None:
                return None, None
            lock.remove_expired_tickets()
            for waiting in lock.tickets:
                if waiting.number == ticket:
                    waiting.expires = max(waiting.expires, time.time() + lifetime)
            return None, lock

        self._change(conversation_id, renew)

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
