"""Build the Rasa training inputs and train a model only when they changed.

The model file is named after a fingerprint of every training input (config, domain, data and
the compiled knowledge), so an unchanged project reuses its model and `make run` starts at once.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.content.checks import Report, validate
from bot.content.compile import compile_knowledge, fingerprint
from bot.settings.errors import StartupError
from bot.settings.paths import (
    CONFIG_FILE,
    DATA_DIR,
    DOMAIN_DIR,
    ROOT,
    build_dir,
    knowledge_dir,
    models_dir,
)

logger = logging.getLogger(__name__)


class ContentError(Exception):
    """The knowledge base has errors; the message lists them."""


@dataclass
class Build:
    report: Report
    rasa_dir: Path
    fingerprint: str
    config: Path

    @property
    def domain(self) -> Path:
        return self.rasa_dir / "domain"

    @property
    def data(self) -> list[Path]:
        return [DATA_DIR, self.rasa_dir / "data"]

    @property
    def model(self) -> Path:
        return models_dir() / f"{self.fingerprint}.tar.gz"


def rasa_env() -> dict[str, str]:
    """Environment for Rasa processes: no telemetry calls (no internet here), quiet TensorFlow."""
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONPATH", str(ROOT))
    return env


def build(config: Path = CONFIG_FILE, out_dir: Path | None = None) -> Build:
    """Validate knowledge/ and compile it (into build/rasa); raise ContentError on errors."""
    report = validate(knowledge_dir(), DATA_DIR)
    if not report.ok:
        raise ContentError("\n".join(str(p) for p in report.errors))
    rasa_dir = compile_knowledge(report.kb, DOMAIN_DIR, out_dir or build_dir() / "rasa")
    # The project's own pipeline components are training inputs too: a change to how vectors
    # are computed must retrain, not reuse a model built with the old ones.
    components = sorted((ROOT / "bot" / "nlu").glob("*.py"))
    fp = fingerprint([Path(config), DATA_DIR, rasa_dir, *components])
    return Build(report=report, rasa_dir=rasa_dir, fingerprint=fp, config=Path(config))


def rasa_train_command(b: Build, out: Path, name: str, config: Path | None = None,
                       force: bool = False) -> list[str]:
    """`rasa train` on these compiled inputs, writing `out/<name>.tar.gz` (through
    `bot.training.rasa_train`, which installs the training speed-ups first).

    One builder for `train` and the benchmark (which trains other configurations on the same
    inputs, hence `config`); `force` retrains even if Rasa finds nothing changed.
    """
    cmd = [
        sys.executable, "-m", "bot.training.rasa_train", "train",
        "--config", str(config or b.config),
        "--domain", str(b.domain),
        "--data", *[str(p) for p in b.data],
        "--out", str(out),
        "--fixed-model-name", name,
    ]
    return [*cmd, "--force"] if force else cmd


def train(b: Build, force: bool = False, log: Path | None = None) -> tuple[Path, float | None]:
    """Train unless a model for these exact inputs exists; return (model, seconds or None).

    With `log`, Rasa's chatty output goes to that file and only its tail is shown on failure.
    """
    if b.model.exists() and not force:
        return b.model, None
    models_dir().mkdir(parents=True, exist_ok=True)
    cmd = rasa_train_command(b, models_dir(), b.fingerprint)
    started = time.monotonic()
    env = rasa_env()
    if log is None:
        result = subprocess.run(cmd, cwd=ROOT, env=env)
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        env.setdefault("PYTHONWARNINGS", "ignore")
        with open(log, "wb") as out:
            result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0 or not b.model.exists():
        tail = ""
        if log is not None and log.exists():
            tail = "\n".join(log.read_text("utf-8", "replace").splitlines()[-25:]) + "\n"
        raise StartupError(f"{tail}rasa train failed (exit {result.returncode})"
                           + (f"; full log: {log}" if log else ""))
    return b.model, time.monotonic() - started
