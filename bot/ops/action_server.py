"""The action server behind a shared secret: `python -m bot actions`.

rasa-sdk's own server (`python -m rasa_sdk`) listens on 0.0.0.0 and runs any action for anyone
who can reach it: a hand-written POST to /webhook with a made-up tracker looks up declarations,
creates tickets and votes. This entry point serves the same Sanic app (rasa_sdk.endpoint.
create_app) but

- binds `ACTION_BIND_HOST` (default 127.0.0.1), not every interface;
- when `ACTION_SERVER_TOKEN` is set, refuses (401, nothing run) every request except
  `GET /health` that lacks `Authorization: Bearer <token>`: the header the Rasa server sends
  from `action_endpoint.headers` (bot/settings/endpoints.py). A header rather than Rasa's
  `token` option, which puts the secret in the URL (`?token=`) and so in access logs;
- allows no cross-origin browser calls (rasa-sdk's default CORS is `*`).
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

TOKEN_ENV = "ACTION_SERVER_TOKEN"
HOST_ENV = "ACTION_BIND_HOST"
DEFAULT_HOST = "127.0.0.1"
OPEN_PATHS = frozenset({"/health"})


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
    return app


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
