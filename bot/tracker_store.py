"""Deprecated class path, kept for one release: operators' own credentials.yml or
endpoints.yml may still name it. The class lives in `bot.stores.tracker_store`."""

import warnings

from bot.stores.tracker_store import RedactingSQLTrackerStore

NEW = "bot.stores.tracker_store.RedactingSQLTrackerStore"
warnings.warn(f"{__name__}.RedactingSQLTrackerStore is deprecated: name {NEW} in your "
              "configuration",
              DeprecationWarning, stacklevel=2)

__all__ = ["RedactingSQLTrackerStore"]
