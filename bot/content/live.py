"""The live knowledge base used at run time by the action server.

Support staff edit knowledge/ while the bot runs. Each request checks (at most once a second)
whether any knowledge file changed; a changed folder is re-validated and, if clean, replaces the
served knowledge. An invalid edit is refused: the last valid knowledge keeps being served and
the log says why, so a typo never takes answers offline.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from bot.content.checks import validate
from bot.content.model import KnowledgeBase
from bot.settings.paths import knowledge_dir

logger = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 1.0


class KnowledgeStore:
    """Serves the last valid knowledge base of a folder, reloading it when files change."""

    def __init__(self, directory: Path, check_interval: float = CHECK_INTERVAL_SECONDS) -> None:
        self.directory = Path(directory)
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._kb: KnowledgeBase | None = None
        self._stamp: tuple | None = None
        self._checked_at = 0.0
        self.last_error: str | None = None

    def _current_stamp(self) -> tuple:
        try:
            with os.scandir(self.directory) as it:
                return tuple(sorted(
                    (e.name, e.stat().st_mtime_ns, e.stat().st_size)
                    for e in it if e.name.endswith((".yml", ".yaml"))
                ))
        except OSError:
            return ()

    def _reload(self, stamp: tuple) -> None:
        report = validate(self.directory)
        self._stamp = stamp
        if report.ok:
            self._kb = report.kb
            self.last_error = None
            logger.info("knowledge loaded: %s", report.summary())
            return
        self.last_error = "; ".join(str(p) for p in report.errors[:10])
        if self._kb is None:
            # Nothing valid yet: serve what could be read rather than nothing at all.
            self._kb = report.kb
            logger.error("knowledge has errors, serving what could be read: %s", self.last_error)
        else:
            logger.error("knowledge edit refused, still serving the last valid version: %s",
                         self.last_error)

    def get(self) -> KnowledgeBase:
        """The knowledge to answer from now."""
        now = time.monotonic()
        if self._kb is not None and now - self._checked_at < self.check_interval:
            return self._kb
        with self._lock:
            self._checked_at = now
            stamp = self._current_stamp()
            if self._kb is None or stamp != self._stamp:
                self._reload(stamp)
            assert self._kb is not None
            return self._kb


_store: KnowledgeStore | None = None


def get_store() -> KnowledgeStore:
    global _store
    if _store is None or _store.directory != knowledge_dir():
        _store = KnowledgeStore(knowledge_dir())
    return _store


def get_knowledge() -> KnowledgeBase:
    """The current valid knowledge base (see module docstring)."""
    return get_store().get()
