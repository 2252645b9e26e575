"""Deprecated class path, kept for one release: operators' own credentials.yml or
endpoints.yml may still name it. The class lives in `bot.channels.rest`."""

import warnings

from bot.channels.rest import GuardedRestInput

NEW = "bot.channels.rest.GuardedRestInput"
warnings.warn(f"{__name__}.GuardedRestInput is deprecated: name {NEW} in your "
              "configuration",
              DeprecationWarning, stacklevel=2)

__all__ = ["GuardedRestInput"]
