"""The Rasa server's own routes beside Rasa's: `/metrics` and `/ready`.

Rasa builds its Sanic app itself (`rasa.core.run.configure_app`) and has no hook for another
route; what it does with each channel is `app.blueprint(channel.blueprint(...),
url_prefix="/webhooks/<name>")`. The REST channel, which every server has, hands Rasa a
`ServerRoutesBlueprint`: registering it also adds these routes to the app, at the root where
the operators' tools look for them (the shared contract says `/metrics`).

- `/metrics`: bot/metrics/exposition.py (behind `METRICS_TOKEN`).
- `/ready`: readiness, not liveness (liveness stays Rasa's `GET /`). 200 when the model is
  loaded and the conversation store, the lock store (Redis, when configured) and the action
  server answer within `READY_TIMEOUT` seconds each; else 503 with the reason in JSON. Open
  like `/`: it says only which dependency is down, never an address or an error text.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.metrics import exposition
from bot.metrics import registry as metrics

logger = logging.getLogger(__name__)

READY_TIMEOUT = 2.0
_FLAG = "customs_server_routes"

Check = tuple[bool, str]  # (fine, what to say)


class ServerRoutesBlueprint(Blueprint):
    """A channel's blueprint that also adds the server's `/metrics` and `/ready` to the app."""

    def register(self, app: Any, options: Any) -> None:
        super().register(app, options)
        add_server_routes(app)


def add_server_routes(app: Any) -> None:
    """Add `/metrics` and `/ready` to Rasa's app, once."""
    if getattr(app.ctx, _FLAG, False):
        return
    setattr(app.ctx, _FLAG, True)
    metrics.start_series("rasa")

    async def metrics_route(request: Request) -> HTTPResponse:
        status, body, content_type, headers = exposition.metrics_reply(
            request.headers.get("authorization"))
        return HTTPResponse(body, status=status, content_type=content_type, headers=headers)

    async def ready_route(request: Request) -> HTTPResponse:
        checks = await readiness(request.app)
        return ready_reply(checks)

    app.add_route(metrics_route, "/metrics", methods=["GET"], name="customs_metrics")
    app.add_route(ready_route, "/ready", methods=["GET"], name="customs_ready")


def ready_reply(checks: dict[str, Check]) -> HTTPResponse:
    """200 `{"ready": true, "checks": ...}`, or 503 with `reason` naming what is down."""
    down = [f"{name}: {said}" for name, (fine, said) in checks.items() if not fine]
    body: dict[str, Any] = {"ready": not down,
                            "checks": {name: said for name, (_, said) in checks.items()}}
    if down:
        body["reason"] = "; ".join(down)
    return response.json(body, status=503 if down else 200)


async def readiness(app: Any) -> dict[str, Check]:
    """Each dependency of this Rasa server, checked at once, each within READY_TIMEOUT."""
    agent = getattr(app.ctx, "agent", None)
    if agent is None or not agent.is_ready():
        return {"model": (False, "not loaded")}
    names = ("conversation_store", "lock_store", "actions")
    results = await asyncio.gather(*(_within(check(agent)) for check in (
        _conversation_store, _lock_store, _action_server)))
    return {"model": (True, "loaded"), **dict(zip(names, results, strict=True))}


async def _within(check: Any) -> Check:
    try:
        return await asyncio.wait_for(check, READY_TIMEOUT)
    except asyncio.TimeoutError:
        return False, "no answer"
    except Exception as error:  # the type only: messages may carry addresses or passwords
        logger.warning("readiness check failed: %s", type(error).__name__)
        return False, "unreachable"


async def _in_thread(fn: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, fn)


async def _conversation_store(agent: Any) -> Check:
    store = getattr(agent.tracker_store, "_tracker_store", agent.tracker_store)  # FailSafe
    engine = getattr(store, "engine", None)
    if engine is None:
        return True, type(store).__name__
    from bot.appdb.engine import ping

    await _in_thread(lambda: ping(engine))
    return True, "ok"


async def _lock_store(agent: Any) -> Check:
    from rasa.core.lock_store import RedisLockStore

    store = agent.lock_store
    if not isinstance(store, RedisLockStore):
        return True, "in memory"
    await _in_thread(store.red.ping)
    return True, "ok"


def health_url(action_url: str) -> str:
    """The action server's `/health` beside its webhook URL."""
    base = action_url.rstrip("/")
    if base.endswith("/webhook"):
        base = base[: -len("/webhook")]
    return base + "/health"


async def _action_server(agent: Any) -> Check:
    endpoint = agent.action_endpoint
    if endpoint is None or not endpoint.url:
        return True, "not configured"
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=READY_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session, \
            session.get(health_url(endpoint.url)) as answer:
        if answer.status == 200:
            return True, "ok"
        return False, f"HTTP {answer.status}"
