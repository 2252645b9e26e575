"""Settings of the background retraining while `make run` is up (bot/ops/retrain.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings.env import env_field, from_env


@dataclass(frozen=True)
class RetrainSettings:
    """Whether saving knowledge retrains and swaps the model, and how long saves settle first.

    The quiet period makes a burst of saves (an editor writing several files, a copy of a
    folder) train once, on the last version."""

    enabled: bool = env_field("LIVE_RETRAIN", True)
    debounce_seconds: float = env_field("LIVE_RETRAIN_QUIET_SECONDS", 3.0)
    # How often the Rasa server asks the local model server for a newer model (whole seconds:
    # Rasa's scheduler takes an int). A 304 answer costs well under a millisecond.
    pull_seconds: int = env_field("LIVE_RETRAIN_PULL_SECONDS", 2, minimum=1)


def retrain_settings(env: Mapping[str, str] | None = None) -> RetrainSettings:
    return from_env(RetrainSettings, env)
