"""`make bench`: the project's config.yml against Rasa's stock configuration, same data, same run.

Both are trained from scratch (the training time is part of the result), then each is started
the way `make run` starts it (`Stack`) and driven over the REST channel on loopback by 1, 8 and
32 concurrent conversations: knowledge questions taken from the held-out set and a declaration
lookup. Each level is bounded by a message count and a time limit. Our configuration is also run
with two Sanic workers (SANIC_WORKERS=2 needs the Redis lock store). Memory is the peak resident
size of the Rasa and action-server process groups, read from /proc. Held-out accuracy is
measured on both models so that speed is not bought with understanding.

Writes docs/performance.md (the table for the README), docs/bench.png and var/bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.paths import ROOT

BENCH_DIR = ROOT / "var" / "bench"
DOCS = ROOT / "docs"
LEVELS = (1, 8, 32)
MAX_MESSAGES = {1: 120, 8: 480, 32: 960}
MAX_SECONDS = 45.0
WARMUP_MESSAGES = 12
LOOKUP = ("status of LSK/2026/C/10452 tpin 1002003004", "assessed")
REDIS_BENCH_URL = "redis://127.0.0.1:6379/13"
TARGET_P95_MS_AT_8 = 150
TARGET_SPEEDUP = 2.5


def stock_config() -> dict:
    """What Rasa 3.6 trains when config.yml leaves pipeline and policies empty (`rasa init`)."""
    import rasa.engine.recipes

    path = Path(rasa.engine.recipes.__file__).parent / "config_files" / "default_config.yml"
    config = yaml.safe_load(path.read_text("utf-8"))
    config["assistant_id"] = "customs-assistant-stock"
    return config


# --- training ---------------------------------------------------------------------------------

def train(name: str, config: Path, build, out: Path) -> tuple[Path, float]:
    """Train one configuration from scratch; return the model and the seconds it took."""
    from bot.training import rasa_env

    out.mkdir(parents=True, exist_ok=True)
    model = out / f"{name}.tar.gz"
    model.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "rasa", "train", "--config", str(config),
           "--domain", str(build.domain), "--data", *[str(p) for p in build.data],
           "--out", str(out), "--fixed-model-name", name, "--force"]
    log = open(out / f"train-{name}.log", "wb")  # noqa: SIM115 - closed below
    started = time.monotonic()
    with log:
        result = subprocess.run(cmd, cwd=ROOT, env=rasa_env(), stdout=log,
                                stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    if result.returncode != 0 or not model.exists():
        raise RuntimeError(f"training {name} failed: see {out / f'train-{name}.log'}")
    return model, seconds


def accuracy(model: Path, config: Path) -> dict[str, float]:
    """Held-out accuracy as `make eval` computes it (in a child process: it loads TensorFlow)."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from bot import evaluate as e\n"
        "ins, oos = e.load_heldout()\n"
        "t, a = e.fallback_settings(Path(sys.argv[2]))\n"
        "p, rate = e.predict(Path(sys.argv[1]), ins, oos, a)\n"
        "s = e.score(p, t)\n"
        "print(json.dumps({'in_scope_correct': s.pct(s.correct, s.in_scope),"
        " 'oos_declined': s.pct(s.oos_declined, s.oos), 'parse_per_s': rate}))\n"
    )
    from bot.training import rasa_env

    out = subprocess.run([sys.executable, "-c", code, str(model), str(config)], cwd=ROOT,
                         env=rasa_env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"accuracy of {model.name} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- memory -----------------------------------------------------------------------------------

def group_rss_mib(pgid: int) -> float:
    """Resident memory of every process in a process group (Sanic workers included)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ...
            total += int(fields[21]) * page
    return total / 2**20


class PeakMemory:
    """Samples the peak RSS of the given process groups in a background thread."""

    def __init__(self, groups: dict[str, int], every: float = 0.25) -> None:
        self.groups, self.every = groups, every
        self.peak = dict.fromkeys(groups, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pgid in self.groups.items():
                self.peak[name] = max(self.peak[name], group_rss_mib(pgid))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- load -------------------------------------------------------------------------------------

@dataclass
class Level:
    concurrency: int
    messages: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[max(0, math.ceil(q / 100 * len(data)) - 1)]  # nearest rank

    def summary(self) -> dict:
        return {"concurrency": self.concurrency, "messages": self.messages,
                "errors": self.errors, "seconds": round(self.seconds, 2),
                "msgs_per_s": round(self.rate, 2), "p50_ms": round(self.pct(50), 1),
                "p95_ms": round(self.pct(95), 1), "p99_ms": round(self.pct(99), 1)}


def scripts(seed: int = 7) -> list[list[tuple[str, str | None]]]:
    """Conversations: three held-out knowledge questions, the declaration lookup, a goodbye."""
    from bot.evaluate import load_heldout

    questions = [q for q, _ in load_heldout()[0]]
    rng = random.Random(seed)
    out = []
    for _ in range(64):
        picked = [(q, None) for q in rng.sample(questions, 3)]
        out.append([("hello", None), *picked, LOOKUP, ("no thanks", None)])
    return out


async def drive(url: str, concurrency: int, max_messages: int, max_seconds: float,
                tag: str) -> Level:
    """`concurrency` users, each running conversations back to back, until a bound is hit."""
    import aiohttp

    level = Level(concurrency)
    convs = scripts()
    deadline = time.monotonic() + max_seconds
    budget = [max_messages]
    timeout = aiohttp.ClientTimeout(total=60)

    async def user(index: int) -> None:
        n = 0
        while True:
            sender = f"bench-{tag}-{concurrency}-{index}-{n}"
            # Each conversation is a new user on a new connection, as phones and browsers are:
            # with several Sanic workers, who accepts a connection decides who serves it.
            async with aiohttp.ClientSession(timeout=timeout) as session:
                if not await conversation(sender, convs[(index + n) % len(convs)], session):
                    return
            n += 1

    async def conversation(sender: str, script: list, session: aiohttp.ClientSession) -> bool:
        for text, expect in script:
            if budget[0] <= 0 or time.monotonic() > deadline:
                return False
            budget[0] -= 1
            started = time.perf_counter()
            try:
                async with session.post(url, json={"sender": sender, "message": text}) as r:
                    body = await r.json(content_type=None)
                    ok = r.status == 200 and bool(body)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                ok, body = False, None
            level.latencies_ms.append((time.perf_counter() - started) * 1000)
            level.messages += 1
            if ok and expect:
                ok = expect in " ".join(m.get("text", "") for m in body).lower()
            level.errors += 0 if ok else 1
        return True

    started = time.monotonic()
    await asyncio.gather(*(user(i) for i in range(concurrency)))
    level.seconds = time.monotonic() - started
    return level


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


def run_stack(name: str, model: Path, extra_env: dict[str, str]) -> dict:
    """Start one configuration, warm it up, drive every level; return its figures."""
    from bot import launcher

    home = BENCH_DIR / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = launcher.environment({
        "RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()),
        "WEB_PORT": str(free_port()), "VAR_DIR": str(home / "var"),
        "TRACKER_DB": str(home / "tracker.db"), "CUSTOMS_DB_URL": f"sqlite:///{home / 'app.db'}",
        "RATE_LIMIT_PER_MINUTE": "0", **extra_env})
    for key in ("TRACKER_DB_URL", "ACTION_SERVER_URL", "RASA_API_TOKEN"):
        if key not in extra_env:
            env.pop(key, None)
    subprocess.run([sys.executable, "-m", "actions.db", "init"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    stack = launcher.Stack(model=model, env=env, log_dir=home / "log", run_dir=home / "run")
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


# --- report -----------------------------------------------------------------------------------

def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def table(results: dict) -> str:
    """The side-by-side markdown table: ours and stock, with one and with two Sanic workers."""
    configs = results["configs"]
    pairs = [("ours", "stock")]
    if "ours-2w" in configs and "stock-2w" in configs:
        pairs.append(("ours-2w", "stock-2w"))
    head, sep = "| |", "|---|"
    for a, _ in pairs:
        workers = "2 Sanic workers" if a.endswith("2w") else "1 worker"
        head += (f" ours (config.yml), {workers} | stock (`rasa init`), {workers} |"
                 " ours / stock |")
        sep += "---:|---:|---:|"
    rows = [head, sep]

    def value(name: str, getter) -> float | None:
        try:
            return getter(configs[name])
        except (KeyError, IndexError, TypeError):
            return None

    def row(label: str, getter, digits: int = 0, better: str = "high") -> None:
        line = f"| {label} |"
        for a, b in pairs:
            x, y = value(a, getter), value(b, getter)
            ratio = ((x / y if better == "high" else y / x) if x and y else None)
            line += (f" {_fmt(x, digits) if x is not None else '–'} |"
                     f" {_fmt(y, digits) if y is not None else '–'} |"
                     f" {f'{ratio:.2f}x' if ratio is not None else '–'} |")
        rows.append(line)

    row("training time (s)", lambda c: c["train_s"], 0, "low")
    for i, concurrency in enumerate(LEVELS):
        row(f"{concurrency} conv.: messages/s", lambda c, i=i: c["levels"][i]["msgs_per_s"], 1)
        for q in ("p50", "p95", "p99"):
            row(f"{concurrency} conv.: {q} latency (ms)",
                lambda c, i=i, q=q: c["levels"][i][f"{q}_ms"], 0, "low")
    row("peak RSS, Rasa server (MiB)", lambda c: c["rss_rasa_mib"], 0, "low")
    row("peak RSS, action server (MiB)", lambda c: c["rss_actions_mib"], 0, "low")
    row("start-up to ready (s)", lambda c: c["ready_s"], 1, "low")
    row("held-out in-scope answered right (%)", lambda c: c["accuracy"]["in_scope_correct"], 1)
    row("held-out out-of-scope declined (%)", lambda c: c["accuracy"]["oos_declined"], 1)
    errors = {name: sum(lv["errors"] for lv in c["levels"])
              for name, c in configs.items() if "levels" in c}
    rows.append("")
    rows.append("Errors (non-200, empty or wrong answer): "
                + ", ".join(f"{k} {v}" for k, v in errors.items()) + ".")
    return "\n".join(rows)


def verdict(results: dict) -> str:
    configs = results["configs"]
    i8 = LEVELS.index(8)
    lines = []
    for ours, stock in (("ours", "stock"), ("ours-2w", "stock-2w")):
        if ours not in configs or stock not in configs:
            continue
        o, st = configs[ours], configs[stock]
        p95 = o["levels"][i8]["p95_ms"]
        speedups = [a["msgs_per_s"] / b["msgs_per_s"] for a, b in
                    zip(o["levels"], st["levels"], strict=True) if b["msgs_per_s"]]
        low = min(speedups) if speedups else float("nan")
        workers = "2 Sanic workers" if ours.endswith("2w") else "1 worker"
        lines.append(
            f"- {workers}: p95 at 8 conversations {p95:.0f} ms (target <= "
            f"{TARGET_P95_MS_AT_8}: {'met' if p95 <= TARGET_P95_MS_AT_8 else 'MISSED'}); "
            f"messages/s at least {low:.2f}x stock's over all levels (target >= "
            f"{TARGET_SPEEDUP}: {'met' if low >= TARGET_SPEEDUP else 'MISSED'}).")
    return "Targets:\n\n" + "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.8 / len(results["configs"])
    for k, (name, conf) in enumerate(results["configs"].items()):
        xs = [i + k * width for i in range(len(LEVELS))]
        left.bar(xs, [lv["msgs_per_s"] for lv in conf["levels"]], width, label=name)
        right.bar(xs, [lv["p95_ms"] for lv in conf["levels"]], width, label=name)
    for axis, title in ((left, "messages per second"), (right, "p95 latency (ms)")):
        axis.set_xticks([i + width * (len(results["configs"]) - 1) / 2
                         for i in range(len(LEVELS))])
        axis.set_xticklabels([f"{c} conv." for c in LEVELS])
        axis.set_title(title)
    right.axhline(TARGET_P95_MS_AT_8, color="grey", linestyle="--", linewidth=1)
    left.legend()
    fig.suptitle(f"make bench, {results['date']}, {results['cpus']} CPUs, REST on loopback")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


PROFILE_NOTE = """### Where the time goes

Profiled with py-spy on the Rasa server at 8 conversations (SQLite store), step by step; the
load generator, the action server and the Rasa server share the same 2 cores. Messages per
second at 8 conversations, one worker, as each fix landed: 28 (start of the session) -> 35
(int8 ONNX encoder) -> 40 (pooled SQLite connections, cheaper redaction, rules parsed once) ->
53 (column-major logistic regression) -> 60 (store queries in plain SQL, kept-alive action
server connection) -> 67 (rule index) -> 71 (feature rows built directly).

- **Sentence embeddings.** The MiniLM encoder was 40 % of the server's time in float32 numpy;
  the ONNX file runs it in about 3-5 ms (it is int8 on disk but computed in float32:
  cosine 0.9996 with the numpy reference, held-out accuracy unchanged). It is still the largest
  single cost (about 30 %). A truly integer model (onnxruntime dynamic quantization,
  per-channel) measured 1.45 ms against 3.2 ms, but its vectors drift (cosine 0.987-0.994)
  and it needs the `onnx` package at build time: not adopted.
- **Fixes to Rasa's own turn (`bot/rasa_speedups.py`, `bot/tracker_store.py`,
  `bot/nlu/logistic.py`), each tested to give Rasa's results:** the action-answer schema
  built once (was 52 % before the first bench); RulePolicy rules parsed once and indexed by
  the action and intent they need (was 10-14 %); one kept-alive connection to the action server
  (a new TCP connection and name lookup per call was 7 %); the tracker store's session query
  in plain SQL (SQLAlchemy rebuilt the cache key of Rasa's ORM query every call: 8 %) over
  pooled connections (a connect, pragmas and close per call: 9 %); the logistic regression's
  weights stored column-major (scipy copied the whole matrix before every product: 6 %).
- **What is left is Rasa's turn itself:** loading and replaying the tracker, featurizing it
  for the policies twice, running the graph, the REST channel. The stock configuration pays it
  too and, on this data, trains no TED model (there are no stories), so its own extra cost is
  DIET's inference, about 6 ms. Because both configurations share the fixes above and this
  remainder, the ratio between them stays near 1.1-1.4x; the 2.5x target is not reachable by
  the NLU/policy configuration alone on this data.
- **Sanic workers:** with conversations arriving on separate connections, two workers use
  both cores. Each loads the model (twice the memory). Run one worker per core, with the Redis
  lock store, or replicas behind the proxy (docs/deployment.md).
"""


def markdown(results: dict) -> str:
    return "\n".join([
        "## Performance",
        "",
        f"Measured by `make bench` on {results['date']} ({results['cpus']} CPU cores, "
        "everything on one machine, REST over loopback). Both configurations were trained in "
        "the same run on the same data; each level runs conversations back to back (hello, "
        "three held-out knowledge questions, a declaration lookup, goodbye) and is bounded "
        f"by a message count and {MAX_SECONDS:.0f} s. 'stock' is Rasa 3.6's default "
        "configuration (what `rasa init` trains: DIET, ResponseSelector, TED and "
        "UnexpecTED, 100 epochs each). Latency is per message, measured by the client.",
        "",
        table(results),
        "",
        verdict(results),
        "",
        "![messages per second and p95 latency](bench.png)",
        "",
        PROFILE_NOTE,
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.bench", description=__doc__)
    parser.add_argument("--no-workers", action="store_true",
                        help="skip the SANIC_WORKERS=2 run (it needs Redis)")
    parser.add_argument("--render", action="store_true",
                        help="rewrite docs/performance.md and the plot from the last results")
    args = parser.parse_args(argv)
    if args.render:
        results = json.loads((BENCH_DIR / "results.json").read_text("utf-8"))
        plot(results, DOCS / "bench.png")
        (DOCS / "performance.md").write_text(markdown(results), "utf-8")
        print(markdown(results))
        return 0
    from bot import training
    from bot.paths import CONFIG_FILE

    busy = subprocess.run(["pgrep", "-f", "rasa train"], capture_output=True, text=True)
    if busy.stdout.strip():
        print("Note: another `rasa train` is running; figures will be lower than on an idle "
              "machine.", flush=True)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    build = training.build()
    stock_path = BENCH_DIR / "stock-config.yml"
    stock_path.write_text(yaml.safe_dump(stock_config(), sort_keys=False), "utf-8")
    results: dict = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "configs": {}}
    models = {}
    for name, config in (("ours", CONFIG_FILE), ("stock", stock_path)):
        print(f"Training {name} ({config.name})...", flush=True)
        models[name], seconds = train(name, config, build, BENCH_DIR / "models")
        print(f"  {name}: {seconds:.0f}s", flush=True)
        results["configs"][name] = {"train_s": round(seconds, 1),
                                    "accuracy": accuracy(models[name], config)}
    runs = [("ours", models["ours"], {}), ("stock", models["stock"], {})]
    redis_url = os.environ.get("BENCH_REDIS_URL", REDIS_BENCH_URL)
    if args.no_workers or not _reachable(redis_url):
        print(f"Skipping SANIC_WORKERS=2: no Redis at {redis_url}.", flush=True)
    else:
        two = {"SANIC_WORKERS": "2", "REDIS_URL": redis_url}
        runs += [("ours-2w", models["ours"], two), ("stock-2w", models["stock"], two)]
    for name, model, extra in runs:
        print(f"Load test: {name}", flush=True)
        figures = run_stack(name, model, extra)
        results["configs"].setdefault(name, {}).update(figures)
        if name.endswith("-2w"):  # same model, same training run and accuracy as 1 worker
            base = results["configs"][name[:-3]]
            results["configs"][name].update(train_s=base["train_s"], accuracy=base["accuracy"])
    (BENCH_DIR / "results.json").write_text(json.dumps(results, indent=2), "utf-8")
    plot(results, DOCS / "bench.png")
    text = markdown(results)
    (DOCS / "performance.md").write_text(text, "utf-8")
    print()
    print(text)
    print(f"Written: docs/performance.md, docs/bench.png, {BENCH_DIR / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
