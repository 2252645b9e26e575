"""Settings of the declaration status notifications (issue 14), declared once.

Numbers through `env_field` (a bad value stops with a sentence naming the variable); the
secret and the WhatsApp template's names as plain strings, read here and nowhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.settings.env import env_field
from bot.settings.errors import SettingError

# The shared secret of the customs system's signed webhook; the channel is on when it is set.
WEBHOOK_SECRET_ENV = "CUSTOMS_WEBHOOK_SECRET"
TEMPLATE_ENV = "WHATSAPP_NOTIFY_TEMPLATE"
TEMPLATE_LANGUAGE_ENV = "WHATSAPP_NOTIFY_TEMPLATE_LANGUAGE"
TEMPLATE_PARAMS_ENV = "WHATSAPP_NOTIFY_TEMPLATE_PARAMS"

# How far ahead of this server's clock a status change's time may be: synchronised clocks differ
# by seconds; more is a typo or a broken clock, and such a time would make every real change
# after it look older than what the subscriber was told (so never told).
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)

DEFAULT_TEMPLATE = "declaration_status_update"
DEFAULT_TEMPLATE_LANGUAGE = "en"
# What the template's {{1}}, {{2}}... are, in order (docs/whatsapp.md has the text to submit).
TEMPLATE_FIELDS = ("reference", "status", "next", "action", "date")
DEFAULT_TEMPLATE_PARAMS = ("reference", "status", "action", "date")


@dataclass(frozen=True)
class NotifySettings:
    """How long subscriptions live, how many a person may have, how sends are retried."""

    # Whether the offer is made at all: off where nothing delivers (neither the signed webhook,
    # CUSTOMS_WEBHOOK_SECRET, nor a `notify poll` service runs). On by default, for `make run`
    # and the compose file (which runs the poller); read by the action server.
    enabled: bool = env_field("NOTIFY_ENABLED", True)
    days: int = env_field("NOTIFY_DAYS", 30, minimum=1)
    max_per_person: int = env_field("NOTIFY_MAX_PER_PERSON", 5, minimum=1)
    max_attempts: int = env_field("NOTIFY_MAX_ATTEMPTS", 6, minimum=1)
    # Wait before the first retry of an unsent notification, doubled each time, up to the max.
    retry_seconds: float = env_field("NOTIFY_RETRY_SECONDS", 30.0, minimum=0)
    retry_max_seconds: float = env_field("NOTIFY_RETRY_MAX_SECONDS", 3600.0, minimum=0)
    # A send still "in progress" after this long was interrupted (crash): not sent again.
    lease_seconds: float = env_field("NOTIFY_LEASE_SECONDS", 120.0, minimum=1)
    # The poller asks about one reference at most once per this many seconds.
    poll_seconds: float = env_field("NOTIFY_POLL_SECONDS", 300.0, minimum=1)
    # WhatsApp allows free text this long after the person's last message; then a template.
    whatsapp_window_hours: float = env_field("WHATSAPP_TEXT_WINDOW_HOURS", 24.0, minimum=0)
    webhook_max_body_bytes: int = env_field("CUSTOMS_WEBHOOK_MAX_BODY_BYTES", 65536, minimum=1)
    webhook_max_events: int = env_field("CUSTOMS_WEBHOOK_MAX_EVENTS", 100, minimum=1)


@dataclass(frozen=True)
class TemplateSettings:
    """The approved WhatsApp template used outside the 24-hour window."""

    name: str = DEFAULT_TEMPLATE
    language: str = DEFAULT_TEMPLATE_LANGUAGE
    params: tuple[str, ...] = DEFAULT_TEMPLATE_PARAMS


def template_settings(env: Mapping[str, str] | None = None) -> TemplateSettings:
    """WHATSAPP_NOTIFY_TEMPLATE, _LANGUAGE and _PARAMS (comma-separated field names)."""
    env = os.environ if env is None else env
    raw = (env.get(TEMPLATE_PARAMS_ENV) or "").strip()
    params = tuple(p.strip() for p in raw.split(",") if p.strip()) or DEFAULT_TEMPLATE_PARAMS
    unknown = [p for p in params if p not in TEMPLATE_FIELDS]
    if unknown:
        raise SettingError(f"{TEMPLATE_PARAMS_ENV}: unknown field(s) {', '.join(unknown)}; "
                           f"use {', '.join(TEMPLATE_FIELDS)}")
    return TemplateSettings(
        name=(env.get(TEMPLATE_ENV) or "").strip() or DEFAULT_TEMPLATE,
        language=(env.get(TEMPLATE_LANGUAGE_ENV) or "").strip() or DEFAULT_TEMPLATE_LANGUAGE,
        params=params,
    )


def webhook_secret(env: Mapping[str, str] | None = None) -> str:
    """CUSTOMS_WEBHOOK_SECRET ('' when unset: the webhook channel is off)."""
    return ((os.environ if env is None else env).get(WEBHOOK_SECRET_ENV) or "").strip()
