"""WhatsApp Cloud API channel for Rasa 3.6 (Rasa ships only Twilio's WhatsApp connector).

Webhook: ``/webhooks/whatsapp/webhook`` (GET handshake, POST signed notifications).
Register it in ``credentials.yml`` as ``bot.channels.whatsapp.WhatsAppInput`` (this package
re-exports it; the class path is a contract with operators' files). Every key there may be left
out and is then read from the environment (``WHATSAPP_VERIFY_TOKEN``, ``WHATSAPP_APP_SECRET``,
``WHATSAPP_ACCESS_TOKEN``, ``WHATSAPP_PHONE_NUMBER_ID``, ``WHATSAPP_API_URL``,
``WHATSAPP_DEDUP_REDIS_URL``; declared in bot/settings/credentials.py).

One module per job:

- ``webhook``: the input channel; answers Meta at once, handles messages in background tasks;
- ``output``: the output channel, sending Rasa's responses;
- ``formatting``: Markdown → WhatsApp markup, splitting, reply buttons and lists (pure);
- ``graph_api``: the blocking Graph API client, run in a worker thread, with retries.

A re-delivered message is answered once by ``bot.channels.dedup.SeenMessages`` (memory, or Redis
shared by replicas; re-exported here), the filter Telegram's channel uses too.
"""

from bot.channels.dedup import SeenMessages
from bot.channels.whatsapp.formatting import markdown_to_whatsapp, shorten, split_text
from bot.channels.whatsapp.graph_api import GraphApiClient
from bot.channels.whatsapp.output import WhatsAppOutput
from bot.channels.whatsapp.webhook import WhatsAppInput, verify_signature

__all__ = [
    "GraphApiClient",
    "SeenMessages",
    "WhatsAppInput",
    "WhatsAppOutput",
    "markdown_to_whatsapp",
    "shorten",
    "split_text",
    "verify_signature",
]
