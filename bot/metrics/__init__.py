"""What an operator watches: the Prometheus metrics of the Rasa server and the action server.

The Rasa server counts messages, turn times, what became of each message and the requests its
channels refused; the action server counts action calls and errors, declaration lookups,
tickets and votes (the definitions: `bot.metrics.registry`). Each server serves its own at
`/metrics`, behind `METRICS_TOKEN` (`bot.metrics.exposition`); `bot.metrics.outcomes` says what
became of a message.

Sanic runs one process per worker (`SANIC_WORKERS`, `ACTION_SERVER_SANIC_WORKERS`), so values
are kept the multi-process way when `PROMETHEUS_MULTIPROC_DIR` is set: prometheus_client reads
it when first imported, every process writes its values to files there, and `/metrics` adds
them up. The launcher and the entry points give each server its own folder, emptied at start
(`prepare_dir`, before anything imports prometheus_client). Only counters and histograms are
used: they add up across processes without the gauge modes' caveats. Label values come from
closed sets, so no request can grow the number of series.

This module itself imports nothing but the standard library, so an entry point can prepare
the folder before the first import of prometheus_client.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
TOKEN_ENV = "METRICS_TOKEN"


def prepare_dir(path: Path | str, env: MutableMapping[str, str] | None = None) -> Path:
    """Create `path` empty of earlier values (a restarted server must not add up the files of
    its previous run's processes) and name it in `env` (default: this process's environment)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)
    (os.environ if env is None else env)[DIR_ENV] = str(folder)
    return folder
