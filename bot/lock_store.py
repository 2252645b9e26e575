"""Deprecated class path, kept for one release: operators' own credentials.yml or
endpoints.yml may still name it. The class lives in `bot.stores.lock_store`."""

import warnings

from bot.stores.lock_store import KeepAliveRedisLockStore

NEW = "bot.stores.lock_store.KeepAliveRedisLockStore"
warnings.warn(f"{__name__}.KeepAliveRedisLockStore is deprecated: name {NEW} in your "
              "configuration",
              DeprecationWarning, stacklevel=2)

__all__ = ["KeepAliveRedisLockStore"]
