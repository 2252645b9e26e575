"""bot/stores/lock_store.py against the machine's Redis: after a replica dies holding a
conversation's ticket, the next message of that conversation is served once the dead ticket
expires, where Rasa's own Redis lock store leaves it waiting for a ticket that expired with
the dead one; and servers taking tickets for one conversation at the same instant all get
distinct ones."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from rasa.core.lock_store import RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.settings.endpoints import redis_lock_store
from bot.stores.lock_store import KeepAliveRedisLockStore
from tests.conftest import reachable

pytestmark = pytest.mark.skipif(not reachable("127.0.0.1", 6379),
                                reason="Redis is not running on 127.0.0.1:6379")
DB = 12
LIFETIME = 1.5


async def served_after_a_crash(store: RedisLockStore) -> float:
    """Seconds until a message is served behind a ticket whose server died (never released)."""
    conversation = f"crash-{uuid.uuid4().hex[:8]}"
    store.issue_ticket(conversation, LIFETIME)  # the dead replica's turn
    started = time.monotonic()
    async with store.lock(conversation, lock_lifetime=LIFETIME, wait_time_in_seconds=0.3):
        return time.monotonic() - started


def test_waiting_message_is_served_when_the_dead_ticket_expires() -> None:
    store = KeepAliveRedisLockStore(host="127.0.0.1", port=6379, db=DB)
    waited = asyncio.run(asyncio.wait_for(served_after_a_crash(store), timeout=10))
    assert LIFETIME - 0.5 < waited < LIFETIME + 1.5


def test_rasas_own_store_loses_the_waiting_ticket() -> None:
    """The behaviour fixed above, shown on Rasa's class: the waiter is still waiting at 3x the
    ticket lifetime."""
    store = RedisLockStore(host="127.0.0.1", port=6379, db=DB)
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(asyncio.wait_for(served_after_a_crash(store), timeout=3 * LIFETIME))


def test_messages_of_one_conversation_still_run_one_at_a_time() -> None:
    store = KeepAliveRedisLockStore(host="127.0.0.1", port=6379, db=DB)
    conversation = f"order-{uuid.uuid4().hex[:8]}"
    running, log = [], []

    async def turn(n: int) -> None:
        await asyncio.sleep(n * 0.05)  # tickets taken in this order
        async with store.lock(conversation, lock_lifetime=5, wait_time_in_seconds=0.05):
            running.append(n)
            assert len(running) == 1, running
            await asyncio.sleep(0.2)
            log.append(n)
            running.remove(n)

    async def main() -> None:
        await asyncio.gather(*(turn(n) for n in range(4)))

    asyncio.run(main())
    assert log == [0, 1, 2, 3]
    assert store.get_lock(conversation) is None  # cleaned up


def test_rasa_builds_it_from_the_endpoints_written_for_redis_url() -> None:
    from rasa.core.lock_store import LockStore

    config = redis_lock_store(f"redis://127.0.0.1:6379/{DB}")
    store = LockStore.create(EndpointConfig.from_dict(config))
    assert isinstance(store, KeepAliveRedisLockStore)
    assert store.red.connection_pool.connection_kwargs["db"] == DB


def tickets_taken_at_once(store_class: type, threads: int = 8,
                          each: int = 25) -> tuple[list[int], int]:
    """Several servers (one store and Redis connection each) take tickets for one
    conversation at the same time; returns every ticket number handed out and how many
    tickets the lock holds afterwards."""
    from concurrent.futures import ThreadPoolExecutor

    conversation = f"race-{uuid.uuid4().hex[:8]}"
    stores = [store_class(host="127.0.0.1", port=6379, db=DB) for _ in range(threads)]

    def take(store: RedisLockStore) -> list[int]:
        return [store.issue_ticket(conversation, 30) for _ in range(each)]

    with ThreadPoolExecutor(threads) as pool:
        numbers = [n for batch in pool.map(take, stores) for n in batch]
    lock = stores[0].get_lock(conversation)
    stores[0].delete_lock(conversation)
    assert lock is not None
    return numbers, len(lock.tickets)


def test_tickets_taken_at_once_by_several_servers_are_all_distinct() -> None:
    numbers, held = tickets_taken_at_once(KeepAliveRedisLockStore)
    assert sorted(numbers) == list(range(len(numbers)))
    assert held == len(numbers), "tickets were lost"


def test_rasas_own_store_hands_out_the_same_ticket_twice_under_that_load() -> None:
    """What the transactions fix, shown on Rasa's class: two turns of one conversation would
    run at once (a ticket handed out twice), or a waiting turn's ticket is overwritten and lost
    (both are the same race: read, change, write back without a transaction)."""
    numbers, held = tickets_taken_at_once(RedisLockStore)
    assert len(set(numbers)) < len(numbers) or held < len(set(numbers))
