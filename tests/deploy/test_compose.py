"""deploy/docker-compose.yml: the secrets every container needs are required (`${NAME:?…}`),
so `docker compose up` stops with the variable's name instead of starting with an empty one."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "deploy" / "docker-compose.yml"
# The services running the assistant's code (they read the application database).
BOT_SERVICES = ("rasa1", "rasa2", "actions")


def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text("utf-8"))["services"]


def test_the_privacy_hash_key_is_required_and_shared_by_every_bot_container() -> None:
    """Unset, each replica made its own key: its hashes of TPINs and client addresses differed
    from the other's, so the per-person and per-TPIN lookup limits split between replicas."""
    found = services()
    values = {name: found[name]["environment"].get("PRIVACY_HASH_KEY") for name in BOT_SERVICES}
    for name, value in values.items():
        assert str(value).startswith("${PRIVACY_HASH_KEY:?"), (name, value)
    assert len(set(values.values())) == 1  # the one variable, not one per service


def test_every_secret_is_required() -> None:
    found = services()
    for name, variable in (("rasa1", "ACTION_SERVER_TOKEN"), ("actions", "ACTION_SERVER_TOKEN"),
                           ("rasa1", "METRICS_TOKEN"), ("postgres", "POSTGRES_PASSWORD")):
        value = str(found[name]["environment"][variable])
        assert value.startswith(f"${{{variable}:?"), (name, value)


def test_the_replicas_get_every_channel_setting_the_assistant_reads() -> None:
    """Without them a channel set in .env is silently off in production: Telegram's were not
    passed to the replicas, so its webhook was never served."""
    from bot.settings import credentials

    found = services()
    names = {*credentials.WHATSAPP_REQUIRED.values(), *credentials.TELEGRAM_REQUIRED.values(),
             *credentials.WHATSAPP_OPTIONAL.values(), *credentials.TELEGRAM_OPTIONAL.values()}
    # Another API server is for tests and local Bot API servers; the default is the real one.
    names -= {"WHATSAPP_API_URL", "TELEGRAM_API_URL"}
    for replica in ("rasa1", "rasa2"):
        env = found[replica]["environment"]
        missing = sorted(name for name in names if name not in env)
        assert not missing, (replica, missing)
        for name in names - {"WHATSAPP_DEDUP_REDIS_URL", "TELEGRAM_DEDUP_REDIS_URL"}:
            assert str(env[name]) == f"${{{name}:-}}", (replica, name, env[name])
