"""A Sanic app serving the `customs` status webhook channel, as a Rasa server mounts it.

Run as ``python -m tests.notify.customs_server PORT``; settings come from the usual
environment (CUSTOMS_WEBHOOK_SECRET, CUSTOMS_DB_URL, WHATSAPP_*, NOTIFY_*). Two of these on
one database are two replicas: no trained model is needed to test the webhook and delivery.
"""

from __future__ import annotations

import sys

from rasa.core.channels.channel import register
from sanic import Sanic

from bot.notify.webhook import CustomsStatusInput


def create_app() -> Sanic:
    app = Sanic("customs_test_server")
    register([CustomsStatusInput.from_credentials(None)], app, route="/webhooks/")
    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False, motd=False)
