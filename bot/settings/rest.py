"""Limits of the REST channel, declared once: the launcher writes them into credentials.yml
and the channel reads them back (credentials first, then the environment)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from bot.settings.env import env_field, from_env
from bot.settings.errors import SettingError

# Addresses or CIDR ranges of the proxies in front of the Rasa servers (deploy/nginx.conf):
# only their X-Forwarded-For is believed (bot/channels/identity.py).
TRUSTED_PROXIES_ENV = "TRUSTED_PROXIES"
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


@dataclass(frozen=True)
class RestLimits:
    """0 turns a limit off."""

    max_message_chars: int = env_field("MAX_MESSAGE_CHARS", 2000)
    max_body_bytes: int = env_field("MAX_BODY_BYTES", 1_048_576)
    rate_limit_per_minute: int = env_field("RATE_LIMIT_PER_MINUTE", 30)
    max_pending_per_sender: int = env_field("MAX_PENDING_PER_SENDER", 3)
    # A script takes a fresh sender id per message: the client's address is limited as well
    # (generous: people behind one address, a cyber café or a carrier's NAT, share it).
    rate_limit_per_client_per_minute: int = env_field("RATE_LIMIT_PER_CLIENT_PER_MINUTE", 120)
    reply_timeout_seconds: float = env_field("REPLY_TIMEOUT_SECONDS", 30.0)
    # Metadata is stored with every event of the turn; the message limit does not cover it.
    max_metadata_bytes: int = env_field("MAX_METADATA_BYTES", 4096)
    max_metadata_depth: int = env_field("MAX_METADATA_DEPTH", 8)


def settings_from_env(env: Mapping[str, str]) -> dict[str, float]:
    """The channel's limits from the environment (defaults filled in), for credentials.yml."""
    return asdict(from_env(RestLimits, env))


def parse_trusted_proxies(raw: str) -> Networks:
    """`TRUSTED_PROXIES`: addresses or CIDR ranges separated by spaces or commas."""
    networks = []
    for item in raw.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingError(f"TRUSTED_PROXIES: {item!r} is not an IP address or CIDR "
                               "range (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def trusted_proxies(env: Mapping[str, str] | None = None) -> Networks:
    return parse_trusted_proxies((os.environ if env is None else env).get(TRUSTED_PROXIES_ENV)
                                 or "")
