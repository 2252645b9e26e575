"""build_credentials: channels enabled from the environment, loaded the way `rasa run` does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.settings.credentials import CredentialsError, build_credentials

ROOT = Path(__file__).resolve().parents[2]

WHATSAPP_ENV = {
    "WHATSAPP_VERIFY_TOKEN": "verify-me",
    "WHATSAPP_APP_SECRET": "app-secret",
    "WHATSAPP_ACCESS_TOKEN": "EAAG-token",
    "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
}
TELEGRAM_ENV = {
    "TELEGRAM_ACCESS_TOKEN": "123456:ABC-DEF",
    "TELEGRAM_BOT_NAME": "zax_customs_bot",
    "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram/webhook",
}


REST = "bot.channels.rest.GuardedRestInput"
REST_DEFAULTS = {
    "max_message_chars": 2000,
    "max_body_bytes": 1048576,
    "rate_limit_per_minute": 30,
    "rate_limit_per_client_per_minute": 120,
    "max_pending_per_sender": 3,
    "reply_timeout_seconds": 30,
    "max_metadata_bytes": 4096,
    "max_metadata_depth": 8,
}


def test_rest_only_by_default() -> None:
    assert build_credentials({}) == {REST: REST_DEFAULTS}
    assert build_credentials({"WHATSAPP_API_URL": "https://x", "PATH": "/bin"}) == {
        REST: REST_DEFAULTS
    }


def test_rest_limits_from_environment() -> None:
    env = {"MAX_MESSAGE_CHARS": "500", "RATE_LIMIT_PER_MINUTE": "0",
           "REPLY_TIMEOUT_SECONDS": "7.5"}
    assert build_credentials(env)[REST] == {
        **REST_DEFAULTS, "max_message_chars": 500, "rate_limit_per_minute": 0,
        "reply_timeout_seconds": 7.5,
    }
    with pytest.raises(ValueError, match="MAX_MESSAGE_CHARS"):
        build_credentials({"MAX_MESSAGE_CHARS": "lots"})
    with pytest.raises(ValueError, match="RATE_LIMIT_PER_MINUTE"):
        build_credentials({"RATE_LIMIT_PER_MINUTE": "-1"})


def test_whatsapp_enabled_when_all_variables_set() -> None:
    credentials = build_credentials({**WHATSAPP_ENV, "WHATSAPP_API_URL": "http://127.0.0.1:1/v19"})
    assert credentials == {
        REST: REST_DEFAULTS,
        "bot.channels.whatsapp.WhatsAppInput": {
            "verify_token": "verify-me",
            "app_secret": "app-secret",
            "access_token": "EAAG-token",
            "phone_number_id": "106540352242922",
            "api_url": "http://127.0.0.1:1/v19",
        },
    }


def test_telegram_enabled_when_all_variables_set() -> None:
    credentials = build_credentials(TELEGRAM_ENV)
    assert credentials["bot.channels.telegram.GuardedTelegramInput"] == {
        "access_token": "123456:ABC-DEF",
        "verify": "zax_customs_bot",
        "webhook_url": "https://bot.example.org/webhooks/telegram/webhook",
    }
    assert set(build_credentials({**TELEGRAM_ENV, **WHATSAPP_ENV})) == {
        REST,
        "bot.channels.telegram.GuardedTelegramInput",
        "bot.channels.whatsapp.WhatsAppInput",
    }


@pytest.mark.parametrize("missing", sorted(WHATSAPP_ENV))
def test_partial_whatsapp_names_the_missing_variable(missing: str) -> None:
    env = {k: v for k, v in WHATSAPP_ENV.items() if k != missing}
    with pytest.raises(CredentialsError, match=missing) as error:
        build_credentials(env)
    others = set(WHATSAPP_ENV) - {missing}
    assert not any(f"set {name}" in str(error.value) for name in others)


@pytest.mark.parametrize("missing", sorted(TELEGRAM_ENV))
def test_partial_telegram_names_the_missing_variable(missing: str) -> None:
    env = {**TELEGRAM_ENV, missing: "  "}  # blank counts as unset
    with pytest.raises(CredentialsError, match=missing):
        build_credentials(env)


def test_telegram_webhook_must_be_https() -> None:
    with pytest.raises(CredentialsError, match="TELEGRAM_WEBHOOK_URL"):
        build_credentials({**TELEGRAM_ENV, "TELEGRAM_WEBHOOK_URL": "http://bot.example.org/x"})


def test_generated_file_loads_in_rasa(tmp_path: Path) -> None:
    """The launcher's output is accepted by Rasa's own channel loader."""
    from rasa.core.run import create_http_input_channels

    path = tmp_path / "credentials.yml"
    path.write_text(yaml.safe_dump(build_credentials({**WHATSAPP_ENV, **TELEGRAM_ENV})))
    channels = {c.name(): c for c in create_http_input_channels(None, str(path))}
    assert set(channels) == {"rest", "whatsapp", "telegram"}
    assert type(channels["rest"]).__name__ == "GuardedRestInput"
    assert channels["rest"].limits.max_message_chars == 2000
    assert type(channels["telegram"]).__name__ == "GuardedTelegramInput"
    assert channels["whatsapp"].client.url == (
        "https://graph.facebook.com/v19.0/106540352242922/messages"
    )


def test_repository_credentials_file_documents_the_channels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """credentials.yml uses ${VAR} placeholders that Rasa expands from the environment."""
    from rasa.core.run import create_http_input_channels

    text = (ROOT / "credentials.yml").read_text()
    for name in [*WHATSAPP_ENV, *TELEGRAM_ENV]:
        assert "${" + name + "}" in text
    for name, value in {**WHATSAPP_ENV, **TELEGRAM_ENV}.items():
        monkeypatch.setenv(name, value)
    channels = {
        c.name(): c for c in create_http_input_channels(None, str(ROOT / "credentials.yml"))
    }
    assert channels["whatsapp"].verify_token == "verify-me"
    assert channels["telegram"].webhook_url == TELEGRAM_ENV["TELEGRAM_WEBHOOK_URL"]


def test_whatsapp_channel_reads_environment_and_names_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rasa.shared.exceptions import RasaException

    from bot.channels.whatsapp import WhatsAppInput

    for name, value in WHATSAPP_ENV.items():
        monkeypatch.setenv(name, value)
    channel = WhatsAppInput.from_credentials(None)
    assert channel.app_secret == "app-secret"
    assert WhatsAppInput.from_credentials({"app_secret": "from-file"}).app_secret == "from-file"
    monkeypatch.delenv("WHATSAPP_ACCESS_TOKEN")
    with pytest.raises(RasaException, match="WHATSAPP_ACCESS_TOKEN"):
        WhatsAppInput.from_credentials({})


def test_whatsapp_settings_credentials_first_then_environment() -> None:
    from bot.settings.credentials import whatsapp_settings

    values, missing = whatsapp_settings(
        {"app_secret": "from-file", "verify_token": "", "api_url": None},
        {**WHATSAPP_ENV, "WHATSAPP_APP_SECRET": "from-env", "WHATSAPP_API_URL": " http://x "},
    )
    assert values == {
        "verify_token": "verify-me",  # empty in the file: the environment's
        "app_secret": "from-file",
        "access_token": "EAAG-token",
        "phone_number_id": "106540352242922",
        "api_url": "http://x",
        "dedup_redis_url": "",
    }
    assert missing == []
    assert whatsapp_settings({}, {})[1] == list(WHATSAPP_ENV)


def test_whatsapp_channel_accepts_what_the_launcher_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One declaration: the credentials the launcher writes start the channel on their own."""
    from bot.channels.whatsapp import WhatsAppInput

    for name in WHATSAPP_ENV:
        monkeypatch.delenv(name, raising=False)
    written = build_credentials({**WHATSAPP_ENV, "WHATSAPP_API_URL": "http://127.0.0.1:1/v19"})
    channel = WhatsAppInput.from_credentials(written["bot.channels.whatsapp.WhatsAppInput"])
    assert channel.verify_token == "verify-me"
    assert channel.client.url == "http://127.0.0.1:1/v19/106540352242922/messages"


def test_whatsapp_reply_timeout_is_read_when_the_channel_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.channels.whatsapp import WhatsAppInput

    for name, value in WHATSAPP_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REPLY_TIMEOUT_SECONDS", raising=False)
    assert WhatsAppInput.from_credentials(None).reply_timeout_seconds == 30.0
    monkeypatch.setenv("REPLY_TIMEOUT_SECONDS", "7.5")
    assert WhatsAppInput.from_credentials(None).reply_timeout_seconds == 7.5
    monkeypatch.setenv("REPLY_TIMEOUT_SECONDS", "soon")  # refuses to start, as REST does
    with pytest.raises(ValueError, match="REPLY_TIMEOUT_SECONDS must be a number, not 'soon'"):
        WhatsAppInput.from_credentials(None)
