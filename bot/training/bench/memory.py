"""Peak resident memory of the servers under load, read from /proc (Linux only).

A process group, not a process: Rasa with SANIC_WORKERS=2 forks workers, and the launcher
starts each server as the leader of its own group.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def group_rss_mib(pgid: int) -> float:
    """Resident memory of every process in a process group (Sanic workers included)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ...
            total += int(fields[21]) * page
    return total / 2**20


class PeakMemory:
    """Samples the peak RSS of the given process groups in a background thread."""

    def __init__(self, groups: dict[str, int], every: float = 0.25) -> None:
        self.groups, self.every = groups, every
        self.peak = dict.fromkeys(groups, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pgid in self.groups.items():
                self.peak[name] = max(self.peak[name], group_rss_mib(pgid))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
