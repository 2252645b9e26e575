"""The Rasa endpoints configuration for this environment.

`endpoints.yml` holds the embedded defaults with ${VAR} placeholders; the launcher fills them
from the environment (with documented defaults) and switches to PostgreSQL and Redis when
`TRACKER_DB_URL` and `REDIS_URL` are set, so one repository serves a laptop and production.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from bot.settings.paths import ROOT

DEFAULTS = {
    "ACTION_PORT": "5055",
    "ACTION_SERVER_URL": "",  # set to use a remote action server
    "TRACKER_DB": "var/tracker.db",
}


def _substitute(text: str, env: Mapping[str, str]) -> str:
    def repl(match: re.Match) -> str:
        name = match.group(1)
        value = env.get(name) or DEFAULTS.get(name)
        if value is None:
            raise KeyError(f"endpoints.yml uses ${{{name}}} but it is not set")
        return value

    # Comment lines may mention ${...} in prose; only settings are filled.
    return "\n".join(line if line.lstrip().startswith("#")
                     else re.sub(r"\$\{([A-Z0-9_]+)\}", repl, line)
                     for line in text.splitlines())


def tracker_db_url(env: Mapping[str, str] | None = None) -> str:
    """The conversation store's SQLAlchemy URL, chosen as `build_endpoints` chooses the store.

    Staff tools (retention, the support report) read the same database the Rasa server writes:
    `TRACKER_DB_URL` (e.g. PostgreSQL) when set, else the SQLite file `TRACKER_DB` (relative paths
    are relative to the repository, where the Rasa server runs), default `var/tracker.db`.
    """
    env = os.environ if env is None else env
    url = (env.get("TRACKER_DB_URL") or "").strip()
    if url:
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        return url
    path = Path(env.get("TRACKER_DB") or DEFAULTS["TRACKER_DB"])
    if not path.is_absolute():
        path = ROOT / path
    return f"sqlite:///{path}"


def sql_tracker_store(url: str) -> dict[str, Any]:
    """Rasa's SQLTrackerStore arguments for a database URL (postgresql://user:pw@host:port/db)."""
    parsed = urlparse(url)
    dialect = parsed.scheme.split("+")[0]
    if dialect == "postgres":
        dialect = "postgresql"
    store: dict[str, Any] = {"dialect": dialect, "db": parsed.path.lstrip("/") or "rasa"}
    if parsed.hostname:
        store["url"] = parsed.hostname
    if parsed.port:
        store["port"] = parsed.port
    if parsed.username:
        store["username"] = unquote(parsed.username)
    if parsed.password:
        store["password"] = unquote(parsed.password)
    return store


def redis_lock_store(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    # Rasa's Redis lock store, with waiting messages keeping their tickets
    # (bot/stores/lock_store.py).
    store: dict[str, Any] = {"type": "bot.stores.lock_store.KeepAliveRedisLockStore",
                             "url": parsed.hostname or "127.0.0.1",
                             "port": parsed.port or 6379,
                             "db": int(parsed.path.lstrip("/") or 0)}
    if parsed.password:
        store["password"] = unquote(parsed.password)
    if parsed.scheme == "rediss":
        store["use_ssl"] = True
    return store


def build_endpoints(env: Mapping[str, str], template: Path = ROOT / "endpoints.yml",
                    models: dict[str, Any] | None = None) -> dict:
    """The endpoints dict for `rasa run` in this environment; `models` is Rasa's model server
    endpoint (`url`, `wait_time_between_pulls`), set by the launcher's live retraining."""
    data = yaml.safe_load(_substitute(template.read_text(encoding="utf-8"), env)) or {}
    if models:
        data["models"] = dict(models)
    if env.get("ACTION_SERVER_URL"):
        data["action_endpoint"] = {"url": env["ACTION_SERVER_URL"]}
    token = (env.get("ACTION_SERVER_TOKEN") or "").strip()
    if token:
        # Sent by Rasa as a header on every action call (checked by bot/ops/action_server.py);
        # Rasa's `token` option would put the secret in the URL instead.
        data.setdefault("action_endpoint", {})["headers"] = {"Authorization": f"Bearer {token}"}
    tracker = data.setdefault("tracker_store", {})
    if env.get("TRACKER_DB_URL"):
        keep = {k: v for k, v in tracker.items() if k == "type"}
        tracker.clear()
        tracker.update(keep)
        tracker.update(sql_tracker_store(env["TRACKER_DB_URL"]))
    elif tracker.get("dialect") == "sqlite" and not Path(tracker["db"]).is_absolute():
        tracker["db"] = str(ROOT / tracker["db"])
    if env.get("REDIS_URL"):
        data["lock_store"] = redis_lock_store(env["REDIS_URL"])
    return data


def write_endpoints(env: Mapping[str, str], out: Path,
                    models: dict[str, Any] | None = None) -> Path:
    """Write the effective endpoints, readable by the owner only (it may hold the action
    server's secret and the database password)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600, exist_ok=True)
    os.chmod(out, 0o600)
    out.write_text(yaml.safe_dump(build_endpoints(env, models=models), sort_keys=False),
                   encoding="utf-8")
    return out
