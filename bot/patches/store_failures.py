"""No silent in-memory fallback of the conversation store (bot/stores/failures.py says why).

`FailSafeTrackerStore.save` and `.retrieve`/`.retrieve_full_tracker` raise instead of falling
back: the exception ends the turn, the channel answers with the technical-problem apology
(bot/channels/turns.py), the failure is counted and logged, and no `InMemoryTrackerStore` is
ever made, so memory does not grow while the database is down.
"""

from __future__ import annotations

from typing import Any

from bot.metrics import registry as metrics
from bot.patches import replace
from bot.stores.failures import add_listener, record


def _name(store: Any) -> str:
    return type(store._tracker_store).__name__


async def save(self: Any, tracker: Any) -> None:
    try:
        await self._tracker_store.save(tracker)
    except Exception as error:
        raise record(_name(self), "save", error) from error


async def retrieve(self: Any, sender_id: str) -> Any:
    try:
        return await self._tracker_store.retrieve(sender_id)
    except Exception as error:
        raise record(_name(self), "retrieve", error) from error


async def retrieve_full_tracker(self: Any, sender_id: str) -> Any:
    try:
        return await self._tracker_store.retrieve_full_tracker(sender_id)
    except Exception as error:
        raise record(_name(self), "retrieve", error) from error


def count(operation: str, error: BaseException) -> None:
    """Every failure is also a Prometheus series (`customs_tracker_store_failures`)."""
    metrics.STORE_FAILURES.labels(operation).inc()


def install() -> None:
    from rasa.core.tracker_store import FailSafeTrackerStore

    add_listener(count)

    replace(FailSafeTrackerStore, "save", save)
    replace(FailSafeTrackerStore, "retrieve", retrieve)
    replace(FailSafeTrackerStore, "retrieve_full_tracker", retrieve_full_tracker)
