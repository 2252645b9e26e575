"""Where the project's folders are, overridable from the environment for tests and deployments."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def knowledge_dir() -> Path:
    return Path(os.environ.get("KNOWLEDGE_DIR", ROOT / "knowledge"))


def build_dir() -> Path:
    return Path(os.environ.get("BUILD_DIR", ROOT / "build"))


def training_cache_dir() -> Path:
    """What one training keeps for the next (sentence vectors, the classifier's last weights):
    never needed, only faster; safe to delete."""
    return Path(os.environ.get("TRAINING_CACHE_DIR", build_dir() / "cache"))


def models_dir() -> Path:
    return Path(os.environ.get("MODELS_DIR", ROOT / "models"))


def var_dir() -> Path:
    path = Path(os.environ.get("VAR_DIR", ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


DOMAIN_DIR = ROOT / "domain"
DATA_DIR = ROOT / "data"
CONFIG_FILE = ROOT / "config.yml"
