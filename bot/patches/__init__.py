"""The only place that changes Rasa's own code: measured fixes, the replay of repeated messages,
the understanding of real wording around the model's parse, what became of each message
(for /metrics), no silent in-memory fallback of the conversation store (`store_failures`) and
deadlines for slow clients on the Sanic server (`slow_clients`).

`install()` is the one entry point (the REST channel and the tracker store call it when the
Rasa server imports them). It is idempotent, keeps every original it replaces in `ORIGINALS`
(tests compare patched and original behaviour), and installs nothing when

- the installed Rasa is not the version the patches were tested against (`TESTED_RASA`): a
  `pip install -U rasa` must not patch internals nobody checked; the log says so once;
- `CUSTOMS_RASA_PATCHES=off` is set, to bisect a problem against stock Rasa.
"""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

TESTED_RASA = "3.6.21"
SWITCH = "CUSTOMS_RASA_PATCHES"

# "Owner.attribute" -> Rasa's own function, kept before it is replaced.
ORIGINALS: dict[str, Any] = {}
_state: dict[str, bool] = {}


def replace(owner: type, attribute: str, new: Any, *, wrap: Any = None) -> bool:
    """Set `owner.attribute` to `new` (wrapped by `wrap`, e.g. staticmethod) once.

    The original is recorded under "Owner.attribute"; False when it was already replaced."""
    key = f"{owner.__name__}.{attribute}"
    current = owner.__dict__.get(attribute)
    current_func = getattr(current, "__func__", current)
    if current_func is new:
        return False
    ORIGINALS.setdefault(key, current_func)
    setattr(owner, attribute, wrap(new) if wrap else new)
    return True


def enabled() -> bool:
    """Whether the patches may be installed in this process (switch and version guard)."""
    if (os.environ.get(SWITCH) or "").strip().lower() in ("off", "0", "false", "no"):
        if not _state.get("logged"):
            logger.warning("%s=off: Rasa runs without the project's patches.", SWITCH)
            _state["logged"] = True
        return False
    import rasa

    if rasa.__version__ != TESTED_RASA:
        if not _state.get("logged"):
            logger.warning("Rasa %s is installed; the patches were tested on %s only and are "
                           "not installed.", rasa.__version__, TESTED_RASA)
            _state["logged"] = True
        return False
    return True


def install() -> bool:
    """Install every patch once; False when they are switched off or the version differs."""
    if _state.get("installed"):
        return True
    if not enabled():
        return False
    from bot.patches import observe, replay, slow_clients, speedups, store_failures, understanding

    speedups.install()
    replay.install()
    understanding.install()
    observe.install()
    store_failures.install()
    slow_clients.install()
    _state["installed"] = True
    return True
