"""`make bench`: the project's config.yml against Rasa's stock configuration, same data, same run.

Both are trained from scratch (the training time is part of the result), then each is started
the way `make run` starts it (`Stack`) and driven over the REST channel on loopback by 1, 8 and
32 concurrent conversations: knowledge questions taken from the held-out set and a declaration
lookup. Each level is bounded by a message count and a time limit. Our configuration is also run
with two Sanic workers (SANIC_WORKERS=2 needs the Redis lock store). Memory is the peak resident
size of the Rasa and action-server process groups, read from /proc. Held-out accuracy is
measured on both models so that speed is not bought with understanding.

`--against-checkout PATH [--rounds N]`: this tree against another checkout of the project, in
one run (bot/ops/bench_checkout.py).

Then the cost-growth section (bot/ops/bench_growth.py: training and turn latency as the
knowledge base and one conversation grow, before and after; `--growth` runs only it, `--no-growth`
skips it). Writes docs/performance.md (the table for the README), docs/bench.png, docs/growth.png
and var/bench/results.json.
Training runs `trainer.rasa_train_command` (the command `make train` runs); accuracy runs in a
child process (`bench.accuracy`), so this process never loads TensorFlow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bot.settings.paths import ROOT
from bot.training.bench.load import LEVELS, MAX_MESSAGES, MAX_SECONDS, WARMUP_MESSAGES, drive
from bot.training.bench.memory import PeakMemory
from bot.training.bench.render import write_docs
from bot.training.bench.runs import accuracy, train

BENCH_DIR = ROOT / "var" / "bench"
DOCS = ROOT / "docs"
REDIS_BENCH_URL = "redis://127.0.0.1:6379/13"


def stock_config() -> dict:
    """What Rasa 3.6 trains when config.yml leaves pipeline and policies empty (`rasa init`)."""
    import rasa.engine.recipes

    path = Path(rasa.engine.recipes.__file__).parent / "config_files" / "default_config.yml"
    config = yaml.safe_load(path.read_text("utf-8"))
    config["assistant_id"] = "customs-assistant-stock"
    return config


# --- stacks -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(url: str) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def plain_rasa_stack(model: Path, env: dict[str, str], home: Path) -> Any:
    """Rasa as `rasa init` sets it up: its own REST channel, in-memory conversation and lock
    stores, none of this project's code in the Rasa server (the stock model has no custom
    component). The action server is the project's, as the bot needs its actions."""
    from bot.ops import launcher

    class PlainRasaStack(launcher.Stack):
        def start_rasa(self) -> None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            endpoints, creds = self.run_dir / "endpoints.yml", self.run_dir / "credentials.yml"
            endpoints.write_text(yaml.safe_dump(
                {"action_endpoint": {"url": f"{self.action_url}/webhook"}}), "utf-8")
            creds.write_text(yaml.safe_dump({"rest": None}), "utf-8")
            self._spawn("rasa", [sys.executable, "-m", "rasa", "run", "--model", str(self.model),
                                 "--interface", "127.0.0.1", "--port", self.env["RASA_PORT"],
                                 "--endpoints", str(endpoints), "--credentials", str(creds)])

    return PlainRasaStack(model=model, env=env, log_dir=home / "log", run_dir=home / "run")


def run_stack(name: str, model: Path, extra_env: dict[str, str], plain: bool = False,
              stack_factory: Callable[[dict[str, str], list[str], Path], Any] | None = None
              ) -> dict:
    """Start one configuration, warm it up, drive every level; return its figures.
    `stack_factory(overrides, dropped keys, home)`: a stack started otherwise (another
    checkout's, bot/ops/bench_checkout.py)."""
    from bot.ops import launcher

    home = BENCH_DIR / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    overrides = {
        "RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()),
        "WEB_PORT": str(free_port()), "VAR_DIR": str(home / "var"),
        "TRACKER_DB": str(home / "tracker.db"), "CUSTOMS_DB_URL": f"sqlite:///{home / 'app.db'}",
        "RATE_LIMIT_PER_MINUTE": "0", **launcher.ONE_ADDRESS, **extra_env}
    drop = [k for k in ("TRACKER_DB_URL", "ACTION_SERVER_URL", "RASA_API_TOKEN")
            if k not in extra_env]
    if stack_factory is not None:
        stack: Any = stack_factory(overrides, drop, home)
    else:
        env = launcher.environment(overrides)
        for key in drop:
            env.pop(key, None)
        subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        stack = (plain_rasa_stack(model, env, home) if plain else
                 launcher.Stack(model=model, env=env, log_dir=home / "log", run_dir=home / "run"))
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    started = time.monotonic()
    try:
        stack.start_actions()
        stack.start_rasa()
        groups = {"rasa": stack.procs["rasa"].pid, "actions": stack.procs["actions"].pid}
        with PeakMemory(groups) as memory:
            stack.wait_ready(timeout=300)
            ready = time.monotonic() - started
            asyncio.run(drive(url, 2, WARMUP_MESSAGES, 60, f"{name}-warm"))
            levels = []
            for concurrency in LEVELS:
                level = asyncio.run(drive(url, concurrency, MAX_MESSAGES[concurrency],
                                          MAX_SECONDS, name))
                print(f"  {name:>12} x{concurrency:<3} {level.rate:7.1f} msg/s  "
                      f"p50 {level.pct(50):6.0f} ms  p95 {level.pct(95):6.0f} ms  "
                      f"p99 {level.pct(99):6.0f} ms  errors {level.errors}", flush=True)
                levels.append(level.summary())
        if stack.dead():
            raise RuntimeError(f"{name}: {stack.dead()} died:\n" + stack.log_tail("rasa"))
    finally:
        stack.stop()
    return {"ready_s": round(ready, 1), "levels": levels,
            "rss_rasa_mib": round(memory.peak["rasa"]), "rss_actions_mib":
            round(memory.peak["actions"])}


# --- command ----------------------------------------------------------------------------------

def understanding_cost() -> int:
    """What bot.understanding costs under load: the same model served with it and without."""
    from bot.settings.paths import CONFIG_FILE
    from bot.training import trainer

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    model, _ = train(trainer.build(), "ours", BENCH_DIR / "models", CONFIG_FILE)
    figures = {name: run_stack(name, model, extra) for name, extra in (
        ("without", {"CUSTOMS_UNDERSTANDING": "off"}), ("with", {}))}
    (BENCH_DIR / "understanding.json").write_text(json.dumps(figures, indent=2), "utf-8")
    for i, concurrency in enumerate(LEVELS):
        off, on = figures["without"]["levels"][i], figures["with"]["levels"][i]
        print(f"x{concurrency}: {on['msgs_per_s']:.1f} msg/s with, {off['msgs_per_s']:.1f} "
              f"without ({on['msgs_per_s'] / off['msgs_per_s']:.2f}x); p95 {on['p95_ms']:.0f} ms "
              f"vs {off['p95_ms']:.0f} ms")
    return 0


def render(results_file: Path, docs: Path) -> int:
    """`--render`: rewrite the docs from the last results, without running anything."""
    if not results_file.exists():
        print(f"No results at {results_file}: run `make bench` first (about 20 minutes).")
        return 1
    print(write_docs(json.loads(results_file.read_text("utf-8")), docs))
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m bot bench [--no-workers] [--render] [--against-checkout PATH]`."""
    parser = argparse.ArgumentParser(prog="python -m bot bench", description=__doc__)
    parser.add_argument("--no-workers", action="store_true",
                        help="skip the SANIC_WORKERS=2 run (it needs Redis)")
    parser.add_argument("--render", action="store_true",
                        help="rewrite docs/performance.md and the plot from the last results")
    parser.add_argument("--growth", action="store_true",
                        help="only the cost-growth section (bot/ops/bench_growth.py), merged "
                             "into the last results")
    parser.add_argument("--no-growth", action="store_true",
                        help="skip the cost-growth section (about 25 minutes)")
    parser.add_argument("--understanding", action="store_true",
                        help="only ours, with and without bot.understanding "
                             "(CUSTOMS_UNDERSTANDING=off), same model, same run")
    parser.add_argument("--against-checkout", type=Path, metavar="PATH",
                        help="only this tree against another checkout (e.g. a git worktree of "
                             "an older commit), each with its own model and launcher")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --against-checkout: how many times each side is run, "
                             "alternately (default 3)")
    args = parser.parse_args(argv)
    if args.against_checkout:
        from bot.ops.bench_checkout import against_checkout

        return against_checkout(args.against_checkout, args.rounds, run_stack, BENCH_DIR)
    if args.render:
        return render(BENCH_DIR / "results.json", DOCS)
    if args.understanding:
        return understanding_cost()
    if args.growth:
        from bot.ops import bench_growth

        return bench_growth.main()
    from bot.settings.paths import CONFIG_FILE
    from bot.training import trainer

    busy = subprocess.run(["pgrep", "-f", "rasa train"], capture_output=True, text=True)
    if busy.stdout.strip():
        print("Note: another `rasa train` is running; figures will be lower than on an idle "
              "machine.", flush=True)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    build = trainer.build()
    stock_path = BENCH_DIR / "stock-config.yml"
    stock_path.write_text(yaml.safe_dump(stock_config(), sort_keys=False), "utf-8")
    results: dict = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "configs": {}}
    models = {}
    for name, config in (("ours", CONFIG_FILE), ("stock", stock_path)):
        print(f"Training {name} ({config.name})...", flush=True)
        models[name], seconds = train(build, name, BENCH_DIR / "models", config)
        print(f"  {name}: {seconds:.0f}s", flush=True)
        results["configs"][name] = {"train_s": round(seconds, 1),
                                    "accuracy": accuracy(models[name], config)}
    runs = [("ours", models["ours"], {}), ("stock", models["stock"], {}),
            ("stock-rasa", models["stock"], {})]
    redis_url = os.environ.get("BENCH_REDIS_URL", REDIS_BENCH_URL)
    if args.no_workers or not _reachable(redis_url):
        print(f"Skipping SANIC_WORKERS=2: no Redis at {redis_url}.", flush=True)
    else:
        two = {"SANIC_WORKERS": "2", "REDIS_URL": redis_url}
        runs += [("ours-2w", models["ours"], two), ("stock-2w", models["stock"], two)]
    for name, model, extra in runs:
        print(f"Load test: {name}", flush=True)
        figures = run_stack(name, model, extra, plain=name == "stock-rasa")
        results["configs"].setdefault(name, {}).update(figures)
        if name.endswith(("-2w", "-rasa")):  # same model, training run and accuracy
            base = results["configs"][name.rsplit("-", 1)[0]]
            results["configs"][name].update(train_s=base["train_s"], accuracy=base["accuracy"])
    if not args.no_growth:
        from bot.ops import bench_growth

        print("Cost growth (training and turn latency as the work grows)", flush=True)
        results["growth"] = {**bench_growth.run(BENCH_DIR),
                             "date": time.strftime("%Y-%m-%d %H:%M")}
    (BENCH_DIR / "results.json").write_text(json.dumps(results, indent=2), "utf-8")
    text = write_docs(results, DOCS)
    print()
    print(text)
    print(f"Written: docs/performance.md, docs/bench.png, {BENCH_DIR / 'results.json'}")
    return 0
