"""Build Rasa's credentials (enabled channels) from the environment.

Secrets live in environment variables, not in the repository, so the launcher calls
``build_credentials(os.environ)`` and writes the result to ``build/credentials.yml``. A
channel is enabled only when all of its variables are set; a half-configured channel is an
error naming what is missing, because silently dropping it would look like a dead bot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.settings.errors import CredentialsError
from bot.settings.notify import webhook_secret
from bot.settings.rest import settings_from_env

WHATSAPP_CHANNEL = "bot.channels.whatsapp.WhatsAppInput"
# Rasa's Telegram channel with the webhook's secret checked, started without Telegram
# (bot/channels/telegram.py; same name and URL)
TELEGRAM_CHANNEL = "bot.channels.telegram.GuardedTelegramInput"
# Rasa's REST channel with limits (bot/channels/rest.py)
REST_CHANNEL = "bot.channels.rest.GuardedRestInput"
# The customs system's signed status changes, /webhooks/customs/status-changes (bot/notify)
CUSTOMS_CHANNEL = "bot.notify.webhook.CustomsStatusInput"

# The WhatsApp channel's settings, declared once (credentials key -> environment variable): the
# launcher writes them into credentials.yml, and the channel (bot/channels/whatsapp) reads a key
# left out there from the same variable, through `whatsapp_settings`.
WHATSAPP_REQUIRED = {
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "app_secret": "WHATSAPP_APP_SECRET",
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
}
WHATSAPP_OPTIONAL = {
    "api_url": "WHATSAPP_API_URL",
    "dedup_redis_url": "WHATSAPP_DEDUP_REDIS_URL",
}
TELEGRAM_REQUIRED = {
    "access_token": "TELEGRAM_ACCESS_TOKEN",
    "verify": "TELEGRAM_BOT_NAME",
    "webhook_url": "TELEGRAM_WEBHOOK_URL",
}
TELEGRAM_OPTIONAL = {
    "api_url": "TELEGRAM_API_URL",  # another Bot API server (default https://api.telegram.org)
    "secret_token": "TELEGRAM_SECRET_TOKEN",  # default: derived from the bot token (HMAC)
    "dedup_redis_url": "TELEGRAM_DEDUP_REDIS_URL",  # the duplicate filter shared by replicas
}


def _channel(
    env: Mapping[str, str],
    label: str,
    required: Mapping[str, str],
    optional: Mapping[str, str] | None = None,
) -> dict[str, str] | None:
    values = {key: (env.get(name) or "").strip() for key, name in required.items()}
    missing = [required[key] for key, value in values.items() if not value]
    if len(missing) == len(required):
        return None
    if missing:
        raise CredentialsError(
            f"{label} channel is partly configured: set {', '.join(missing)} "
            f"(or unset all of {', '.join(required.values())} to disable it)"
        )
    for key, name in (optional or {}).items():
        value = (env.get(name) or "").strip()
        if value:
            values[key] = value
    return values


def whatsapp_settings(
    credentials: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Each WhatsApp setting from `credentials`, else from its variable in `env`; and the
    variables of the required settings that are still empty (for the channel's error)."""
    values: dict[str, str] = {}
    for key, name in {**WHATSAPP_REQUIRED, **WHATSAPP_OPTIONAL}.items():
        value = credentials.get(key)
        if value in (None, ""):
            value = env.get(name, "")
        values[key] = str(value).strip()
    missing = [name for key, name in WHATSAPP_REQUIRED.items() if not values[key]]
    return values, missing


def telegram_settings(
    credentials: Mapping[str, Any], env: Mapping[str, str]
) -> dict[str, str]:
    """Each Telegram setting from `credentials`, else from its variable in `env` ('' when
    neither has it; sending needs only `access_token` and `api_url`)."""
    values: dict[str, str] = {}
    for key, name in {**TELEGRAM_REQUIRED, **TELEGRAM_OPTIONAL}.items():
        value = credentials.get(key)
        if value in (None, ""):
            value = env.get(name, "")
        values[key] = str(value).strip()
    return values


def build_credentials(env: Mapping[str, str]) -> dict[str, Any]:
    """Rasa credentials for the channels configured in ``env`` (REST always)."""
    credentials: dict[str, Any] = {REST_CHANNEL: settings_from_env(env)}

    whatsapp = _channel(env, "WhatsApp", WHATSAPP_REQUIRED, WHATSAPP_OPTIONAL)
    if whatsapp is not None:
        api_url = whatsapp.get("api_url", "")
        if api_url and not api_url.startswith(("https://", "http://")):
            raise CredentialsError("WHATSAPP_API_URL must start with https://")
        credentials[WHATSAPP_CHANNEL] = whatsapp

    telegram = _channel(env, "Telegram", TELEGRAM_REQUIRED, TELEGRAM_OPTIONAL)
    if telegram is not None:
        if not telegram["webhook_url"].startswith("https://"):
            raise CredentialsError(
                "TELEGRAM_WEBHOOK_URL must be a public https:// URL ending in "
                "/webhooks/telegram/webhook (Telegram only calls HTTPS webhooks)"
            )
        credentials[TELEGRAM_CHANNEL] = telegram

    secret = webhook_secret(env)
    if secret:
        credentials[CUSTOMS_CHANNEL] = {"secret": secret}

    return credentials
