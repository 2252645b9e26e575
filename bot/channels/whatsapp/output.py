"""The output channel: Rasa's responses sent as WhatsApp text, reply-button and list messages.

What a message looks like is decided in formatting.py; this module only orders the sends, so
that a long text before the choices arrives first, as separate messages.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import OutputChannel

from bot.channels.identity import native_id
from bot.channels.whatsapp.formatting import (
    BUTTON_BODY_MAX,
    BUTTON_ID_MAX,
    BUTTON_TITLE_MAX,
    LIST_BODY_MAX,
    MAX_REPLY_BUTTONS,
    ROW_ID_MAX,
    choices,
    list_pages,
    markdown_to_whatsapp,
    reply_buttons,
    shorten,
    split_text,
)
from bot.channels.whatsapp.graph_api import GraphApiClient

logger = logging.getLogger(__name__)


class WhatsAppOutput(OutputChannel):
    """Sends Rasa's responses as WhatsApp text, reply-button and list messages."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def __init__(self, client: GraphApiClient, list_button_label: str = "Choose") -> None:
        self.client = client
        self.list_button_label = shorten(list_button_label, BUTTON_TITLE_MAX)

    async def _post(self, recipient_id: str, kind: str, body: dict[str, Any]) -> bool:
        return await self.client.send(
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": native_id(recipient_id, "whatsapp"),
                "type": kind,
                kind: body,
            }
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(markdown_to_whatsapp(text)):
            await self._post(recipient_id, "text", {"preview_url": "http" in part, "body": part})

    async def _lead_in(self, recipient_id: str, text: str, body_max: int) -> str:
        """Send all but the last part of ``text`` as plain messages; return a body that fits."""
        parts = split_text(markdown_to_whatsapp(text or ""))
        if parts and len(parts[-1]) <= body_max:
            body = parts.pop()
        else:
            body = "Please choose:"
        for part in parts:
            await self._post(recipient_id, "text", {"preview_url": "http" in part, "body": part})
        return body

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        if len(choices(buttons, BUTTON_ID_MAX)) <= MAX_REPLY_BUTTONS:
            await self._send_reply_buttons(recipient_id, text, buttons)
        else:
            await self._send_lists(recipient_id, text, buttons)

    async def _send_reply_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]]
    ) -> None:
        options = choices(buttons, BUTTON_ID_MAX)
        if not options:
            await self.send_text_message(recipient_id, text)
            return
        body = await self._lead_in(recipient_id, text, BUTTON_BODY_MAX)
        await self._post(recipient_id, "interactive", reply_buttons(body, options))

    async def _send_lists(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]]
    ) -> None:
        options = choices(buttons, ROW_ID_MAX)
        body = await self._lead_in(recipient_id, text, LIST_BODY_MAX)
        for page in list_pages(body, options, self.list_button_label):
            await self._post(recipient_id, "interactive", page)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._post(recipient_id, "image", {"link": image})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """``custom: {whatsapp: {type: ..., ...}}`` is sent as is (e.g. templates)."""
        message = json_message.get("whatsapp") if isinstance(json_message, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            logger.debug("custom payload without a 'whatsapp' message ignored")
            return
        await self.client.send({"messaging_product": "whatsapp", "to": recipient_id, **message})
