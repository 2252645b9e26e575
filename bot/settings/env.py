"""Numbers from environment variables, with one clear message for a bad value.

Operators set limits and timeouts by environment variable; a typo must stop start-up with a
sentence naming the variable, not a Python traceback about float().
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, TypeVar

from bot.settings.errors import SettingError


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
        raise SettingError(f"{name} must be {kind}, not {raw!r}") from None
    if value < minimum:
        raise SettingError(f"{name} must be at least {minimum:g}, not {raw}")
    return value


SWITCH_WORDS = {"on": True, "1": True, "true": True, "yes": True,
                "off": False, "0": False, "false": False, "no": False}


def env_switch(name: str, default: bool, env: Mapping[str, str] | None = None) -> bool:
    """The on/off value of `name` (default when unset or empty); any other word stops start-up
    with a sentence naming the variable."""
    raw = ((os.environ if env is None else env).get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in SWITCH_WORDS:
        raise SettingError(f"{name} must be on or off, not {raw!r}")
    return SWITCH_WORDS[raw]


T = TypeVar("T")


def env_field(name: str, default: float, *, minimum: float = 0) -> Any:
    """A dataclass field read from the environment variable `name` by `from_env` (a number, or
    on/off when the default is a bool)."""
    return dataclasses.field(default=default, metadata={"env": name, "minimum": minimum})


def env_fields(cls: type) -> list[tuple[str, str, float]]:
    """(field, environment variable, default) of every `env_field` of a settings dataclass."""
    return [(f.name, f.metadata["env"], f.default) for f in dataclasses.fields(cls)
            if "env" in f.metadata]


def from_env(cls: type[T], env: Mapping[str, str] | None = None, **overrides: Any) -> T:
    """An instance of the settings dataclass `cls`, each `env_field` read from `env`.

    One pattern for every group of settings: the names, defaults and types are declared once,
    on the dataclass; a bad value stops with a sentence naming the variable."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if "env" not in f.metadata:
            continue
        if isinstance(f.default, bool):  # before int: a bool is an int to Python
            values[f.name] = env_switch(f.metadata["env"], f.default, env)
            continue
        whole = isinstance(f.default, int)
        number = env_number(f.metadata["env"], f.default, env, whole=whole,
                            minimum=f.metadata["minimum"])
        values[f.name] = type(f.default)(number)
    values.update(overrides)
    return cls(**values)
