"""`make bench`, cost growth: training time and turn latency as the knowledge base grows, and
turn latency along one long conversation; before and after the fixes, in the same run.

- Training: the real knowledge base (52 entries) grown to 200 and 500 with CLINC150 intents
  (bot/training/bench/growth_load.py), trained from scratch with config.yml as `make train`
  does ("after"), and with the former training ("before": scikit-learn's own fit,
  `fast_fit: false`, and plain `rasa train` without the rule index) where it fits the bench's
  time (`--growth-before` sizes; 500 before takes over a quarter of an hour). Held-out accuracy
  on the real knowledge base is measured for both 52-entry models.
- Turn latency by knowledge-base size: each "after" model served as `make run` serves it, a
  short conversation timed turn by turn.
- Long conversation: one conversation of 500 turns on the 52-entry model, with the tracker
  window (bot/stores/tracker_window.py, the default) and without (`TRACKER_WINDOW_TURNS=0`,
  Rasa's way: the whole session read back at every turn).
- Retraining after an edit: the largest size trained again with one entry more, from the
  training cache its own training left (sentence vectors, the classifier's weights: what
  `make train` and live retraining do after support staff save a change). Every other
  training above starts from an empty cache.
- Memory: peak resident size of the Rasa server in each run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bot.settings.paths import CONFIG_FILE, ROOT
from bot.training.bench.runs import accuracy, train

BENCH_DIR = ROOT / "var" / "bench"
DOCS = ROOT / "docs"
SIZES = (52, 200, 500)
SHORT_TURNS = 30


def before_config(out: Path) -> Path:
    """config.yml with the classifier trained as before (scikit-learn's fit)."""
    config = yaml.safe_load(CONFIG_FILE.read_text("utf-8"))
    for component in config["pipeline"]:
        if component["name"].endswith("LogisticRegressionIntentClassifier"):
            component["fast_fit"] = False
    out.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return out






def serve(name: str, model: Path, home: Path, extra_env: dict[str, str], work: Any) -> dict:
    """Start the assistant on this model, run `work(url)`, return its figures and peak RSS."""
    import shutil

    from bot.ops import launcher
    from bot.training.bench.memory import PeakMemory

    shutil.rmtree(home, ignore_errors=True)
    env = {"RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "0", **extra_env}
    with launcher.scratch_stack(model, home, overrides=env, web=False) as stack:
        url = f"{stack.rasa_url}/webhooks/rest/webhook"
        with PeakMemory({"rasa": stack.procs["rasa"].pid}) as memory:
            figures = work(url)
        if stack.dead():
            raise RuntimeError(f"{name}: {stack.dead()} died:\n" + stack.log_tail("rasa"))
    return {**figures, "rss_rasa_mib": round(memory.peak["rasa"])}


def short_conversation(url: str) -> dict:
    from bot.training.bench import long_conversation as lc

    lc.run(url, "warm", 5)
    conv = lc.run(url, "short", SHORT_TURNS)
    return {"turn_ms": round(statistics.median(conv.latencies_ms), 1), "errors": conv.errors}


def long_conversation(url: str) -> dict:
    from bot.training.bench import long_conversation as lc

    lc.run(url, "warm", 5)
    return lc.measure(url, "long")


def run(bench_dir: Path, before_sizes: tuple[int, ...] = (52, 200)) -> dict:
    """Every figure of the section (written to results.json under "growth")."""
    from bot.training.bench.growth_load import build_with_entries

    out = bench_dir / "growth"
    out.mkdir(parents=True, exist_ok=True)
    old_config = before_config(out / "before-config.yml")
    results: dict = {"sizes": {}, "long": {}}
    models = {}
    for size in SIZES:
        build = build_with_entries(size, out / "build")
        entry: dict = {"examples": _examples(build)}
        cache = out / f"cache-{size}"
        shutil.rmtree(cache, ignore_errors=True)
        for when in ("after", "before"):
            if when == "before" and size not in before_sizes:
                continue
            print(f"  training {size} entries, {when}...", flush=True)
            config = CONFIG_FILE if when == "after" else old_config
            model, seconds = train(build, f"{size}-{when}", out / "models", config,
                                   stock=when == "before",
                                   cache=cache if when == "after" else None)
            entry[f"train_s_{when}"] = round(seconds, 1)
            print(f"    {seconds:.0f} s", flush=True)
            if size == SIZES[0]:
                entry[f"accuracy_{when}"] = accuracy(model, config)
            if when == "after":
                models[size] = model
        if size == SIZES[-1]:
            print(f"  training {size + 1} entries after {size}, from its cache...", flush=True)
            edited = build_with_entries(size + 1, out / "build")
            _, seconds = train(edited, f"{size + 1}-edit", out / "models", CONFIG_FILE,
                               cache=cache)
            entry["train_s_edit"] = round(seconds, 1)
            print(f"    {seconds:.0f} s", flush=True)
        results["sizes"][str(size)] = entry
    for size, model in models.items():
        print(f"  serving {size} entries...", flush=True)
        results["sizes"][str(size)].update(
            serve(f"growth-{size}", model, out / f"serve-{size}", {}, short_conversation))
    for when, env in (("after", {}), ("before", {"TRACKER_WINDOW_TURNS": "0"})):
        print(f"  one conversation of 500 turns, {when}...", flush=True)
        results["long"][when] = serve(f"long-{when}", models[SIZES[0]], out / f"long-{when}",
                                      env, long_conversation)
    return results


def _examples(build: Any) -> int:
    data = yaml.safe_load((build.rasa_dir / "data" / "knowledge_nlu.yml").read_text("utf-8"))
    return sum(len(item["examples"].splitlines()) for item in data["nlu"])


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.ops.bench_growth`: only this section, merged into results.json."""
    import json

    from bot.training.bench.render import write_docs

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / "results.json"
    results = json.loads(path.read_text("utf-8")) if path.exists() else {
        "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "configs": {}}
    results["growth"] = run(BENCH_DIR)
    results["growth"]["date"] = time.strftime("%Y-%m-%d %H:%M")
    path.write_text(json.dumps(results, indent=2), "utf-8")
    print(write_docs(results, DOCS))  # the growth section only, unless the run was complete
    return 0


if __name__ == "__main__":
    sys.exit(main())
