"""Numbers from environment variables, with one clear message for a bad value.

Operators set limits and timeouts by environment variable; a typo must stop start-up with a
sentence naming the variable, not a Python traceback about float().
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def env_number(name: str, default: float, env: Mapping[str, str] | None = None, *,
               whole: bool = False, minimum: float = 0) -> float:
    """The value of `name` (default when unset or empty), checked to be a number >= minimum."""
    raw = ((os.environ if env is None else env).get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"{name} must be {kind}, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum:g}, not {raw}")
    return value
