"""The action server behind a shared secret: `python -m bot actions`.

rasa-sdk's own server (`python -m rasa_sdk`) listens on 0.0.0.0 and runs any action for anyone
who can reach it: a hand-written POST to /webhook with a made-up tracker looks up declarations,
creates tickets and votes. This entry point serves the same Sanic app (rasa_sdk.endpoint.
create_app) but

- binds `ACTION_BIND_HOST` (default 127.0.0.1), not every interface;
- when `ACTION_SERVER_TOKEN` is set, refuses (401, nothing run) every request except
  `/health`, `/ready` and `/metrics` (its own token) that lacks `Authorization: Bearer
  <token>`: the header the Rasa server sends from `action_endpoint.headers`
  (bot/settings/endpoints.py). A header rather than Rasa's
  `token` option, which puts the secret in the URL (`?token=`) and so in access logs;
- allows no cross-origin browser calls (rasa-sdk's default CORS is `*`);
- serves `/metrics` (behind `METRICS_TOKEN`, bot/metrics/exposition.py: every worker added
  up) and `/ready` (readiness: the application database answers and the knowledge base is
  loaded; 503 with the reason otherwise), beside rasa-sdk's liveness `GET /health`.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import re
import time
import zlib
from collections.abc import Mapping
from typing import Any

from bot.metrics import DIR_ENV, prepare_dir
from bot.settings.paths import var_dir

logger = logging.getLogger(__name__)

TOKEN_ENV = "ACTION_SERVER_TOKEN"
HOST_ENV = "ACTION_BIND_HOST"
DEFAULT_HOST = "127.0.0.1"
# Liveness and readiness are for probes; /metrics has its own secret (METRICS_TOKEN).
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})
READY_TIMEOUT = 2.0


def auth_header(token: str) -> dict[str, str]:
    """The header the Rasa server sends with every action call (endpoints.yml `headers`)."""
    return {"Authorization": f"Bearer {token}"}


def authorised(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries `token`; constant-time, so no timing oracle."""
    presented = (header or "").encode("utf-8", "replace")
    expected = f"Bearer {token}".encode()
    return hmac.compare_digest(presented, expected)


def create_app(token: str | None, actions_package: str = "actions") -> Any:
    """rasa-sdk's Sanic app for `actions_package` with the shared-secret check in front."""
    from rasa_sdk.endpoint import create_app as sdk_app
    from sanic import response

    app = sdk_app(actions_package, cors_origins=None)

    async def check_secret(request: Any) -> Any:
        if not token or request.path in OPEN_PATHS:
            return None
        if authorised(request.headers.get("authorization"), token):
            return None
        logger.warning("refused an action-server request without the shared secret (%s %s)",
                       request.method, request.path)
        return response.json({"error": "unauthorized",
                              "message": "This action server needs the shared secret."},
                             status=401)

    app.register_middleware(check_secret, "request")
    add_observability(app)
    return app


# Rasa's action call starts with its name (`RemoteAction._action_call_format`): read from the
# body's first bytes, not from the whole tracker parsed a second time (rasa-sdk parsed it once).
_FIRST_KEY = re.compile(r'\{\s*"next_action"\s*:\s*')
_HEAD_BYTES = 1024


def _leading_name(head: bytes) -> tuple[bool, Any]:
    """(True, value) when `head` opens with the `next_action` key and holds its whole value."""
    text = head.decode("utf-8", "replace")
    found = _FIRST_KEY.match(text)
    if found is None:
        return False, None
    try:
        value, end = json.JSONDecoder().raw_decode(text, found.end())
    except ValueError:
        return False, None
    return end < len(text), value


def action_name(request: Any, served: bool = False) -> str | None:
    """The action a webhook call asks for (`next_action`), or None. `served`: rasa-sdk parsed
    the body and ran the action (200), so the name may be read from the body's first bytes."""
    try:
        raw = request.body or b""
        deflated = request.headers.get("content-encoding") == "deflate"
        known, name = False, None
        if served:
            head = (zlib.decompressobj().decompress(raw, _HEAD_BYTES) if deflated
                    else raw[:_HEAD_BYTES])
            known, name = _leading_name(head)
        if not known:
            name = json.loads(zlib.decompress(raw) if deflated else raw).get("next_action")
    except (ValueError, AttributeError, zlib.error):
        return None
    return name if isinstance(name, str) else None


def add_observability(app: Any) -> None:
    """Count every action call (after the secret check), and serve /metrics and /ready."""
    from sanic import response
    from sanic.response import HTTPResponse

    from bot.metrics import exposition
    from bot.metrics import registry as metrics

    metrics.start_series("actions")

    async def start_timer(request: Any) -> None:
        if request.path == "/webhook":
            request.ctx.started = time.perf_counter()

    async def count_call(request: Any, answer: Any) -> None:
        started = getattr(request.ctx, "started", None)
        if started is None:
            return
        # An action this server does not have (404) or no action named: one label for all,
        # so made-up names cannot grow the number of series.
        name = (action_name(request, served=answer.status == 200) if answer.status != 404
                else None)
        label = name or "unknown"
        metrics.ACTION_CALLS.labels(label).inc()
        metrics.ACTION_SECONDS.labels(label).observe(time.perf_counter() - started)
        if answer.status >= 500:
            metrics.ACTION_ERRORS.labels(label).inc()

    async def metrics_route(request: Any) -> Any:
        status, body, content_type, headers = exposition.metrics_reply(
            request.headers.get("authorization"))
        return HTTPResponse(body, status=status, content_type=content_type, headers=headers)

    async def ready_route(request: Any) -> Any:
        checks = await readiness()
        down = [f"{name}: {said}" for name, (fine, said) in checks.items() if not fine]
        body: dict[str, Any] = {"ready": not down,
                                "checks": {name: said for name, (_, said) in checks.items()}}
        if down:
            body["reason"] = "; ".join(down)
        return response.json(body, status=503 if down else 200)

    app.register_middleware(start_timer, "request")
    app.register_middleware(count_call, "response")
    app.add_route(metrics_route, "/metrics", methods=["GET"], name="customs_metrics")
    app.add_route(ready_route, "/ready", methods=["GET"], name="customs_ready")


async def readiness() -> dict[str, tuple[bool, str]]:
    """What the actions need: the application database (tickets, votes, lookups, limits) and
    a valid knowledge base; each within READY_TIMEOUT seconds."""
    loop = asyncio.get_running_loop()
    checks: dict[str, tuple[bool, str]] = {}
    for name, check in (("database", _database), ("knowledge", _knowledge)):
        try:
            await asyncio.wait_for(loop.run_in_executor(None, check), READY_TIMEOUT)
            checks[name] = (True, "ok")
        except asyncio.TimeoutError:
            checks[name] = (False, "no answer")
        except Exception as error:  # the type only: messages may carry addresses
            logger.warning("readiness check %s failed: %s", name, type(error).__name__)
            checks[name] = (False, "unreachable" if name == "database" else "not loaded")
    return checks


def _database() -> None:
    from bot.appdb.engine import get_engine, ping

    ping(get_engine())


def _knowledge() -> None:
    from bot.content.live import get_knowledge

    get_knowledge()


def settings(env: Mapping[str, str]) -> tuple[str, str | None]:
    """(bind host, token or None) from the environment."""
    host = (env.get(HOST_ENV) or "").strip() or DEFAULT_HOST
    token = (env.get(TOKEN_ENV) or "").strip() or None
    return host, token


def main(argv: list[str] | None = None) -> int:
    """Serve the actions until stopped (the launcher and the container both start this)."""
    parser = argparse.ArgumentParser(prog="python -m bot actions",
                                     description="the action server behind a shared secret")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTION_PORT") or 5055))
    parser.add_argument("--host", default=None, help=f"bind address (default ${HOST_ENV} "
                        f"or {DEFAULT_HOST})")
    parser.add_argument("--actions", default="actions", help="the actions package")
    args = parser.parse_args(argv)
    # Before anything imports prometheus_client: one folder of values for this server's
    # workers, emptied of a previous run's (bot/metrics).
    prepare_dir(os.environ.get(DIR_ENV)
                or var_dir() / "metrics" / f"actions-{args.port}")
    from rasa_sdk import utils

    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    host, token = settings(os.environ)
    host = args.host or host
    if not token:
        logger.warning("%s is not set: the action server runs actions for anyone who can "
                       "reach %s:%s", TOKEN_ENV, host, args.port)
    app = create_app(token, args.actions)
    logger.info("Action server on http://%s:%s (shared secret %s)", host, args.port,
                "required" if token else "off")
    app.run(host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0
