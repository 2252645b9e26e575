"""One identity per channel: a conversation id is namespaced by the channel that verified it.

WhatsApp numbers and Telegram chat ids are verified by their platforms (a signed webhook, a
secret header); a REST client names its own `sender`. So WhatsApp and Telegram conversations
are kept as `whatsapp:<number>` and `telegram:<chat id>`, and the REST channel refuses those
prefixes: whatever `sender` a REST client sends, it can never address (continue, fill in, or
use up the lookup and ticket limits of) a WhatsApp or Telegram user's conversation.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from bot.privacy import keyed_hash
from bot.settings.rest import Networks

# Hops of X-Forwarded-For looked at (a client can send thousands).
MAX_FORWARDED_HOPS = 20
_CLIENT_VALUE = re.compile(r"client:[0-9a-f]{32}")

VERIFIED_CHANNELS = ("whatsapp", "telegram")

# The web widget's own conversation ids (web/widget.js `newSenderId`): `web-` and 32 hex
# digits from 16 random bytes. 128 bits nobody can guess, unlike a REST client's made-up
# `sender`; only such ids may subscribe to web notifications and read them.
_WIDGET_SENDER = re.compile(r"web-[0-9a-f]{32}")


def is_widget_sender(sender: str) -> bool:
    """Whether `sender` has the widget's unguessable form (not merely a REST client's id)."""
    return bool(_WIDGET_SENDER.fullmatch(sender or ""))


def conversation_id(channel: str, native_id: object) -> str:
    """The conversation id for a user the channel `channel` verified."""
    return f"{channel}:{native_id}"


def native_id(conversation: str, channel: str) -> str:
    """The platform's own id (phone number, chat id) behind a conversation id."""
    prefix = f"{channel}:"
    return conversation[len(prefix):] if conversation.startswith(prefix) else conversation


def is_reserved(sender: str) -> bool:
    """Whether a client-chosen sender id claims a verified channel's namespace."""
    return sender.lower().startswith(tuple(f"{c}:" for c in VERIFIED_CHANNELS))


# --- the client behind a REST request -------------------------------------------------------
#
# A REST client names its own `sender`, so limits keyed on a person cannot use it: a script
# takes a fresh sender id per request. They use the client's address instead: the socket's
# peer, or, when the peer is one of our proxies (TRUSTED_PROXIES), the address that proxy
# appended to `X-Forwarded-For`. The header is never believed from anyone else: a client can
# send any X-Forwarded-For it likes.

# Metadata key the REST channel sets on every message (a client's own value is dropped).
CLIENT_KEY = "customs_client"
CLIENT_KIND = "client"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def client_address(peer: str | None, forwarded_for: str | None,
                   proxies: Networks) -> str:
    """The client's address: `peer`, unless `peer` is a trusted proxy; then the right-most
    address in `X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the
    peer it saw, so addresses left of our own proxies' entries are the client's to invent)."""
    peer_address = _address(peer or "")
    if peer_address is None:
        return peer or "unknown"

    def trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in proxies)

    if not trusted(peer_address) or not forwarded_for:
        return str(peer_address)
    hops = [h for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops[-MAX_FORWARDED_HOPS:]):
        address = _address(hop)
        if address is None:  # garbage where our proxy writes: trust nothing left of it
            return str(peer_address)
        if not trusted(address):
            return str(address)
    return str(peer_address)


def person_address(address: str) -> str:
    """What one person is, for an address: an IPv4 address, or an IPv6 address's /64 (one
    home or phone gets a whole /64 and can take a fresh address from it at will)."""
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed) if parsed is not None else address


def client_identity(address: str) -> str:
    """What REST limits and the actions count a client by: a keyed hash of its address, so
    the tracker store never keeps the address itself."""
    return keyed_hash(CLIENT_KIND, address)


def person_of(conversation: str, metadata: Mapping[str, Any] | None) -> str:
    """Who a message is from, for limits keyed on a person: the identity a channel verified.

    WhatsApp and Telegram conversation ids are verified by their platforms; a REST message
    carries the hashed client address its channel put in `CLIENT_KEY` (a client cannot set
    it: the channel replaces it). Anything else (no key, a malformed value) falls back to the
    conversation id."""
    if is_reserved(conversation):
        return conversation
    value = (metadata or {}).get(CLIENT_KEY) if isinstance(metadata, Mapping) else None
    if isinstance(value, str) and _CLIENT_VALUE.fullmatch(value):
        return value
    return conversation
