"""A Sanic app serving the REST, WhatsApp, Telegram and customs status channels as the Rasa
server registers them (`rasa.core.channels.channel.register`), with a stand-in for Rasa's
agent that records each message (metadata included) and answers through the channel's own
output.

Run as ``python -m tests.channels.channels_server PORT``; settings come from the usual
environment variables (WHATSAPP_*, TELEGRAM_*, CUSTOMS_WEBHOOK_*, TRUSTED_PROXIES, the REST
limits, the slow-client timeouts). ``GET /test/handled`` lists what the agent received. No
trained model is needed.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic, response
from sanic.request import Request

from bot.channels.rest import GuardedRestInput
from bot.channels.telegram import GuardedTelegramInput
from bot.channels.whatsapp import WhatsAppInput


class FakeAgent:
    """Stands in for ``rasa.core.agent.Agent``: records, then echoes through the channel."""

    def __init__(self) -> None:
        self.handled: list[dict[str, Any]] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append({"sender_id": message.sender_id, "text": message.text,
                             "metadata": message.metadata})
        del self.handled[:-1000]
        await message.output_channel.send_response(message.sender_id,
                                                   {"text": f"You said: {message.text}"})


def create_app() -> Sanic:
    app = Sanic("channels_test_server")
    agent = FakeAgent()
    app.ctx.agent = agent
    channels: list[Any] = [GuardedRestInput.from_credentials({})]
    if os.environ.get("WHATSAPP_APP_SECRET"):
        channels.append(WhatsAppInput.from_credentials({"retry_backoff": 0.05, "timeout": 5}))
    if os.environ.get("TELEGRAM_ACCESS_TOKEN"):
        channels.append(GuardedTelegramInput.from_credentials({
            "access_token": os.environ["TELEGRAM_ACCESS_TOKEN"], "verify": "zax_test_bot",
            "webhook_url": "https://bot.example/webhooks/telegram/webhook"}))
    if os.environ.get("CUSTOMS_WEBHOOK_SECRET"):
        from bot.notify.webhook import CustomsStatusInput

        channels.append(CustomsStatusInput.from_credentials(None))
    register(channels, app, route="/webhooks/")

    @app.get("/test/handled")
    async def handled(_: Request) -> response.HTTPResponse:
        return response.json(agent.handled)

    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False, motd=False)


def running(env: dict[str, str], log_path: Any):
    """A context manager: the server in a child process on a free port; yields its base URL."""
    import contextlib
    import subprocess

    from tests.conftest import ROOT, free_port, wait_healthy

    @contextlib.contextmanager
    def serve():
        port = free_port()
        log = open(log_path, "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([sys.executable, "-m", "tests.channels.channels_server",
                                 str(port)], cwd=ROOT, env={**os.environ, **env},
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(proc, f"http://127.0.0.1:{port}/webhooks/rest/", log_path)
            yield f"http://127.0.0.1:{port}", proc
        finally:
            proc.terminate()
            proc.wait(15)
            log.close()

    return serve()
