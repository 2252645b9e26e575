"""One identity per channel (bot/channels/identity.py): a REST client can never address a
WhatsApp or Telegram user's conversation, whatever `sender` it sends."""

from __future__ import annotations

import pytest

from bot.channels.identity import conversation_id, is_reserved, native_id
from bot.channels.rest_limits import BadRequest, parse_body
from bot.settings.rest import RestLimits


def test_verified_channels_have_their_own_namespace():
    assert conversation_id("whatsapp", "260977555111") == "whatsapp:260977555111"
    assert conversation_id("telegram", 4242) == "telegram:4242"
    assert native_id("whatsapp:260977555111", "whatsapp") == "260977555111"
    assert native_id("260977555111", "whatsapp") == "260977555111"


@pytest.mark.parametrize("sender", ["whatsapp:260977555111", "Telegram:4242", "WHATSAPP:1"])
def test_a_rest_client_cannot_claim_a_verified_channels_conversation(sender):
    assert is_reserved(sender)
    with pytest.raises(BadRequest) as refused:
        parse_body(f'{{"sender": "{sender}", "message": "Mary Banda"}}'.encode(), RestLimits())
    assert refused.value.status == 400 and refused.value.code == "reserved_sender"


@pytest.mark.parametrize("sender", ["260977555111", "web-1f2e", "whatsapp-fan", "me"])
def test_other_senders_stay_in_the_rest_namespace(sender):
    assert not is_reserved(sender)
    body = parse_body(f'{{"sender": "{sender}", "message": "hi"}}'.encode(), RestLimits())
    assert body["sender"] == sender
