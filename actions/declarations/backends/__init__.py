"""Where declaration statuses come from: the interface in `base`, implementations beside it."""

from __future__ import annotations

import os

from actions.declarations.backends.base import StatusBackend
from actions.declarations.backends.http import HttpStatusBackend
from actions.declarations.backends.sql import SqlStatusBackend


def backend_name() -> str:
    return os.environ.get("DECLARATION_BACKEND", "sql").strip().lower() or "sql"


def get_backend() -> StatusBackend:
    """The backend chosen by `DECLARATION_BACKEND` (`sql` or `http`)."""
    name = backend_name()
    if name == "sql":
        return SqlStatusBackend()
    if name == "http":
        return HttpStatusBackend.from_env()
    raise ValueError(f"DECLARATION_BACKEND must be 'sql' or 'http', not {name!r}")
