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
