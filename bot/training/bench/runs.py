"""Training and scoring one configuration from scratch, for the benches (each in a child
process: training and loading a model import TensorFlow, which the bench itself avoids)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bot.settings.paths import ROOT

TRAIN_TIMEOUT = 3600  # seconds; a hung training fails the bench instead of holding it


def train(build: Any, name: str, out: Path, config: Path, stock: bool = False,
          cache: Path | None = None) -> tuple[Path, float]:
    """Train `config` on `build` into `out/<name>.tar.gz`; (model, seconds). `stock`: plain
    `rasa train` (without the project's training entry point), for a before/after figure.
    `cache`: the training cache to use (TRAINING_CACHE_DIR); default a new, empty one, so that
    the training is from scratch."""
    import tempfile

    from bot.training.trainer import rasa_env, rasa_train_command

    out.mkdir(parents=True, exist_ok=True)
    model = out / f"{name}.tar.gz"
    model.unlink(missing_ok=True)
    cmd = rasa_train_command(build, out, name, config=config, force=True)
    if stock:
        cmd[2] = "rasa"
    log = out / f"train-{name}.log"
    env = rasa_env()
    with tempfile.TemporaryDirectory(prefix="training-cache-") as empty:
        env["TRAINING_CACHE_DIR"] = str(cache or empty)
        started = time.monotonic()
        with open(log, "wb") as output:
            result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=output,
                                    stderr=subprocess.STDOUT, timeout=TRAIN_TIMEOUT)
        seconds = time.monotonic() - started
    if result.returncode != 0 or not model.exists():
        raise RuntimeError(f"training {name} failed: see {log}")
    return model, seconds


def accuracy(model: Path, config: Path) -> dict[str, float]:
    """Held-out accuracy as `make eval` computes it."""
    from bot.training.trainer import rasa_env

    out = subprocess.run([sys.executable, "-m", "bot.training.bench.accuracy", str(model),
                          str(config)], cwd=ROOT, env=rasa_env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"accuracy of {model.name} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
