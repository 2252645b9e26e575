"""A Sanic app serving the WhatsApp channel with a tiny stand-in for Rasa's agent.

Run as ``python -m tests.channels.whatsapp_server PORT``; settings come from the usual WHATSAPP_*
environment variables. The handler replies through the real output channel (echo, buttons,
lists, long text, Markdown) so tests need no trained model. ``GET /test/handled`` lists the
messages the handler received; ``POST /test/reset`` forgets them.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic, response
from sanic.request import Request

from bot.channels.whatsapp import WhatsAppInput

LONG_PARAGRAPH = (
    "Import duty is charged on the customs value of goods. "
    "The customs value is usually the transaction value plus freight and insurance. "
) * 12


def canned_reply(text: str) -> dict[str, Any]:
    """What the fake bot answers to ``text`` (one Rasa-style response dict)."""
    word, _, rest = text.partition(" ")
    if word == "buttons":
        return {
            "text": "What would you like to do?",
            "buttons": [
                {"title": "Check declaration status", "payload": "/kb_declaration_status"},
                {"title": "Register for a TPIN", "payload": "/kb_tpin_registration"},
                {"title": "Talk to an agent", "payload": "/human_handoff"},
            ],
        }
    if word == "menu":
        count = int(rest or "5")
        return {
            "text": "Choose a topic:",
            "buttons": [
                {"title": f"Topic {n} on customs clearance procedures", "payload": f"/topic_{n}"}
                for n in range(1, count + 1)
            ],
        }
    if word == "long":
        return {"text": "\n\n".join(LONG_PARAGRAPH.strip() for _ in range(8))}
    if word == "markdown":
        return {
            "text": "## Paying duty\n\nYou **must** pay before release. "
            "See [the tariff guide](https://www.zra.org.zm/tariff_guide) for *rates*."
        }
    return {"text": f"You said: {text}"}


class FakeAgent:
    """Stands in for ``rasa.core.agent.Agent``: records, then replies via the channel."""

    def __init__(self) -> None:
        self.handled: list[dict[str, Any]] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append(
            {
                "sender_id": message.sender_id,
                "text": message.text,
                "message_id": message.message_id,
                "input_channel": message.input_channel,
                "metadata": message.metadata,
            }
        )
        if message.text == "action fails":
            # What Rasa does when a custom action fails: log it, answer nothing.
            logging.getLogger("rasa.core.processor").error(
                "Encountered an exception while running action 'action_x'.")
            return
        if message.text == "turn raises":
            raise RuntimeError("simulated failure inside the turn")
        await message.output_channel.send_response(message.sender_id, canned_reply(message.text))


def create_app() -> Sanic:
    app = Sanic("whatsapp_test_server")
    agent = FakeAgent()
    app.ctx.agent = agent
    channel = WhatsAppInput.from_credentials(
        {
            "retry_backoff": 0.05,
            "timeout": 5,
            "max_body_bytes": os.environ.get("WHATSAPP_TEST_MAX_BODY") or None,
        }
    )
    register([channel], app, route="/webhooks/")

    @app.get("/test/handled")
    async def handled(_: Request) -> response.HTTPResponse:
        return response.json(agent.handled)

    @app.post("/test/reset")
    async def reset(_: Request) -> response.HTTPResponse:
        agent.handled.clear()
        return response.json({"ok": True})

    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False, motd=False)
