"""`/metrics`: the metrics as Prometheus reads them, for whoever holds `METRICS_TOKEN`.

The door is internal, like the action server's: metrics tell how busy the bot is, which
answers fail and how many lookups are refused, so they are not for the public. Both servers
answer `/metrics` the same way:

- `METRICS_TOKEN` unset: 403 `metrics_off` (nothing is served until an operator chooses a
  secret; the Rasa server may sit behind a public proxy);
- without `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time): 401;
- else 200 with the text format, every worker process of the server added up.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Mapping

from bot.metrics import DIR_ENV, TOKEN_ENV

JSON = "application/json"


def authorised(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries `token`; constant time."""
    presented = (header or "").encode("utf-8", "replace")
    return hmac.compare_digest(presented, f"Bearer {token}".encode())


def render() -> tuple[bytes, str]:
    """The text exposition of this server: every process's files in multi-process mode, else
    this process's registry."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest, values

    import bot.metrics.registry  # noqa: F401 - every metric declared, even those never used

    if values.ValueClass is values.MutexValue:  # PROMETHEUS_MULTIPROC_DIR unset at import
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=os.environ.get(DIR_ENV))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def metrics_reply(authorization: str | None,
                  env: Mapping[str, str] | None = None) -> tuple[int, bytes, str, dict[str, str]]:
    """(status, body, content type, extra headers) of a `/metrics` request."""
    token = ((os.environ if env is None else env).get(TOKEN_ENV) or "").strip()
    if not token:
        return 403, _error("metrics_off", f"Metrics are off: set {TOKEN_ENV} to serve them."), \
            JSON, {}
    if not authorised(authorization, token):
        return 401, _error("unauthorized", "Metrics need the metrics token."), JSON, \
            {"WWW-Authenticate": "Bearer"}
    body, content_type = render()
    return 200, body, content_type, {}


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": code, "message": message}).encode()
