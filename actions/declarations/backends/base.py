"""One interface for declaration status lookups, whichever system answers them.

The interface only; `actions.declarations.backends.get_backend()` chooses an implementation:
`DECLARATION_BACKEND=sql` (default) reads the application database, `http` asks the customs
system's REST API. Both return only what the user may see (status, lane, date of the last
change) and answer "no match" identically for an unknown reference and a wrong TPIN.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

# ASYCUDA statuses (UNCTAD manual) and selectivity lanes: defined with their wording in content.
from bot.content.statuses import LANES, STATUSES


class StatusServiceUnavailable(Exception):
    """The backend is down, slow or answered something unusable; the user should retry later."""


@dataclass(frozen=True)
class DeclarationStatus:
    """What the entitled user may learn: no amounts, no goods, no party names."""

    reference: str
    status: str
    lane: str | None
    last_changed: datetime

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown declaration status {self.status!r}")
        if self.lane is not None and self.lane not in LANES:
            raise ValueError(f"unknown lane {self.lane!r}")


class StatusBackend(ABC):
    """Looks up a declaration for a (reference, TPIN) pair."""

    name: str = "abstract"

    @abstractmethod
    def lookup(self, reference: str, tpin: str) -> DeclarationStatus | None:
        """The status if `tpin` is the declarant's or consignee's of `reference`, else None.

        `reference` is canonical (see actions.declarations.reference). None means "no match"
        for both an unknown reference and a wrong TPIN. Raises StatusServiceUnavailable when
        the backend cannot answer.
        """

    def current_status(self, reference: str) -> DeclarationStatus | None:
        """The status of `reference` without a TPIN, or None for an unknown reference.

        Only for status notifications (bot/notify/poller.py): the bot's own question about a
        declaration whose TPIN the subscriber proved at the lookup, never a user's lookup.
        Raises StatusServiceUnavailable when the backend cannot answer (or cannot do this).
        """
        raise StatusServiceUnavailable(f"the {self.name} backend has no status without a TPIN")
