"""Limits of the REST channel, declared once: the launcher writes them into credentials.yml
and the channel reads them back (credentials first, then the environment)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from bot.settings.env import env_field, from_env


@dataclass(frozen=True)
class RestLimits:
    """0 turns a limit off."""

    max_message_chars: int = env_field("MAX_MESSAGE_CHARS", 2000)
    max_body_bytes: int = env_field("MAX_BODY_BYTES", 1_048_576)
    rate_limit_per_minute: int = env_field("RATE_LIMIT_PER_MINUTE", 30)
    max_pending_per_sender: int = env_field("MAX_PENDING_PER_SENDER", 3)
    reply_timeout_seconds: float = env_field("REPLY_TIMEOUT_SECONDS", 30.0)
    # Metadata is stored with every event of the turn; the message limit does not cover it.
    max_metadata_bytes: int = env_field("MAX_METADATA_BYTES", 4096)
    max_metadata_depth: int = env_field("MAX_METADATA_DEPTH", 8)


def settings_from_env(env: Mapping[str, str]) -> dict[str, float]:
    """The channel's limits from the environment (defaults filled in), for credentials.yml."""
    return asdict(from_env(RestLimits, env))
