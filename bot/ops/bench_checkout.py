"""`python -m bot bench --against-checkout PATH [--rounds N]`: this tree against another
checkout of the project (an older commit in a `git worktree`), for "no slower than before" in
one run.

Each side serves the model its own `make train` builds and is started by its own launcher (its
servers, settings and code: `CheckoutStack`; this tree's launcher would serve old code with new
settings), under this tree's load (bot/training/bench/load.py). The two are run alternately, N
rounds (A B A B), as a shared machine drifts; each round's ratio and the medians are printed and
written to var/bench/checkout.json after every round. The two models differ: `make eval` in each
tree compares what they answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from bot.settings.paths import ROOT
from bot.training.bench.load import LEVELS

# Run with python -c in the other checkout (its `bot` first on PYTHONPATH): its own environment
# defaults, database set-up and launcher. The spec comes on stdin (no settings in `ps`); it
# prints the servers' process ids, then {"ready": true}, and stays their parent (so their ids
# cannot be reused while this tree may still signal them) until its stdin closes: then it stops
# them with the checkout's own launcher.
START_IN_CHECKOUT = """
import json, subprocess, sys
from pathlib import Path
from bot.ops import launcher
spec = json.loads(sys.stdin.readline())
home = Path(spec["home"])
env = launcher.environment(spec["overrides"])
for key in spec["drop"]:
    env.pop(key, None)
subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=launcher.ROOT, env=env,
               check=True, stdout=subprocess.DEVNULL)
stack = launcher.Stack(model=Path(spec["model"]), env=env, log_dir=home / "log",
                       run_dir=home / "run")
try:
    stack.start_actions()
    stack.start_rasa()
    print(json.dumps({"pids": {name: proc.pid for name, proc in stack.procs.items()}}),
          flush=True)
    stack.wait_ready(timeout=spec["timeout"])
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.read()
finally:
    stack.stop()
"""

# The model that checkout's `make train` builds (trained there if missing), its path last.
TRAIN_IN_CHECKOUT = "from bot.training import trainer; print(trainer.train(trainer.build())[0])"


def checkout_env(checkout: Path) -> dict[str, str]:
    """This environment with the other checkout's code first on the path (not this tree's)."""
    return {**os.environ, "PYTHONPATH": str(checkout)}


def checkout_model(checkout: Path) -> Path:
    """The other checkout's `make train` model, trained in that checkout."""
    out = subprocess.run([sys.executable, "-c", TRAIN_IN_CHECKOUT], cwd=checkout,
                         env=checkout_env(checkout), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"training in {checkout} failed:\n{out.stderr[-2000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


@dataclass
class _Server:
    pid: int  # of a process-group leader (PeakMemory reads the group)


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, parent, ...), or []."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


class CheckoutStack:
    """Another checkout's action and Rasa servers, started and stopped by that checkout's own
    launcher (`START_IN_CHECKOUT`), so that an older commit runs as its `make run` ran it. Same
    calls as `launcher.Stack` where `run_stack` uses it."""

    def __init__(self, checkout: Path, model: Path, overrides: dict[str, str], drop: list[str],
                 home: Path, timeout: float = 300) -> None:
        self.checkout, self.home, self.timeout = checkout, home, timeout
        self.spec = {"model": str(model), "overrides": overrides, "drop": drop,
                     "home": str(home), "timeout": timeout}
        self.rasa_url = f"http://127.0.0.1:{overrides['RASA_PORT']}"
        self.procs: dict[str, _Server] = {}
        self._starter: subprocess.Popen | None = None

    def start_actions(self) -> None:
        """Both servers start in `start_rasa`: the checkout's launcher starts them."""

    def start_rasa(self) -> None:
        (self.home / "log").mkdir(parents=True, exist_ok=True)
        with open(self.home / "log" / "start.log", "wb") as log:
            self._starter = subprocess.Popen(
                [sys.executable, "-c", START_IN_CHECKOUT], cwd=self.checkout,
                env=checkout_env(self.checkout), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, text=True, start_new_session=True)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_forward, args=(self._starter.stdout, self._lines),
                         daemon=True).start()
        self._starter.stdin.write(json.dumps(self.spec) + "\n")
        self._starter.stdin.flush()
        pids = self._message("pids", 60)
        # Only the starter's own children, each leading its own group, are ever signalled.
        self.procs = {name: _Server(int(pid)) for name, pid in pids.items()
                      if int(pid) > 1 and _parent(int(pid)) == self._starter.pid}

    def _message(self, key: str, timeout: float) -> Any:
        """The next line of the starter's that is a JSON object with `key` (others skipped)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if not line:  # the starter ended
                break
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                if isinstance(message, dict) and key in message:
                    return message[key]
        raise RuntimeError(f"{self.checkout}: its stack did not report {key!r}:\n"
                           + self.log_tail("start") + "\n" + self.log_tail("rasa"))

    def wait_ready(self, timeout: float = 300) -> None:
        self._message("ready", timeout + 30)

    def dead(self) -> list[str]:
        return [name for name, server in self.procs.items() if not _alive(server.pid)]

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.home / "log" / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])

    def stop(self, timeout: float = 20) -> None:
        """Close the starter's stdin (its launcher stops the servers); if it does not end in
        `timeout`, kill the servers' groups while it is still their parent, then it."""
        starter, self.procs, groups = self._starter, {}, [s.pid for s in self.procs.values()]
        if starter is None:
            return
        with contextlib.suppress(OSError):
            starter.stdin.close()
        try:
            starter.wait(timeout)
        except subprocess.TimeoutExpired:
            for pgid in [*groups, starter.pid]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
            starter.wait(5)
        self._starter = None


def _forward(stream: Any, lines: queue.Queue) -> None:
    """The starter's stdout, line by line, then "" when it ends (read on a thread: a timed
    wait on a buffered pipe would miss lines already read into its buffer)."""
    for line in stream:
        lines.put(line)
    lines.put("")


def _parent(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if len(fields) > 1 else -1


def _ratio(now: float, then: float) -> float:
    return now / then if then else float("nan")


def against_checkout(checkout: Path, rounds: int, run_stack: Callable[..., dict],
                     bench_dir: Path) -> int:
    """This tree and `checkout`, alternately, `rounds` times: the ratio per round and median.
    `run_stack(name, model, extra_env, stack_factory=...)` is bot/ops/bench.py's."""
    from bot.training import trainer

    checkout = checkout.resolve()
    if checkout == ROOT.resolve():
        print("--against-checkout: that is this tree; give another checkout (git worktree add).")
        return 2
    if rounds < 1:
        print("--rounds: at least 1.")
        return 2
    bench_dir.mkdir(parents=True, exist_ok=True)
    models = {"current": trainer.train(trainer.build())[0], "checkout": checkout_model(checkout)}
    print(f"current: {ROOT} ({models['current'].name}); checkout: {checkout} "
          f"({models['checkout'].name})", flush=True)

    def other(overrides: dict[str, str], drop: list[str], home: Path) -> CheckoutStack:
        return CheckoutStack(checkout, models["checkout"], overrides, drop, home)

    runs: dict[str, list[dict]] = {"current": [], "checkout": []}
    for r in range(1, rounds + 1):
        print(f"Round {r}/{rounds}", flush=True)
        for side in ("current", "checkout"):
            runs[side].append(run_stack(f"{side}-{r}", models[side], {},
                                        stack_factory=other if side == "checkout" else None))
        for i, concurrency in enumerate(LEVELS):
            now, then = runs["current"][-1]["levels"][i], runs["checkout"][-1]["levels"][i]
            print(f"  x{concurrency}: {_ratio(now['msgs_per_s'], then['msgs_per_s']):.2f}x",
                  flush=True)
        summary = summarize(checkout, models, runs)  # kept after every round
        (bench_dir / "checkout.json").write_text(json.dumps(summary, indent=2), "utf-8")
    for level, row in summary["median"].items():
        print(f"{level}: ratios {' '.join(f'{x:.2f}' for x in row['ratios'])}, median "
              f"{row['ratio']:.2f}x; msg/s {row['current_msgs_per_s']} vs "
              f"{row['checkout_msgs_per_s']}; p95 {row['current_p95_ms']:.0f} vs "
              f"{row['checkout_p95_ms']:.0f} ms; errors {row['current_errors']} vs "
              f"{row['checkout_errors']}")
    return 0


def summarize(checkout: Path, models: dict[str, Path], runs: dict[str, list[dict]]) -> dict:
    """Per level: each round's ratio of messages/s, their median, medians of msg/s and p95."""
    summary: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "checkout": str(checkout),
                               "models": {k: str(v) for k, v in models.items()}, "rounds": runs,
                               "median": {}}
    for i, concurrency in enumerate(LEVELS):
        per = {side: [run["levels"][i] for run in runs[side]] for side in runs}
        ratios = [_ratio(a["msgs_per_s"], b["msgs_per_s"])
                  for a, b in zip(per["current"], per["checkout"], strict=True)]
        summary["median"][f"x{concurrency}"] = {
            "ratios": [round(x, 3) for x in ratios], "ratio": round(median(ratios), 3),
            **{f"{side}_{key}": round(median(lv[key] for lv in per[side]), 1)
               for side in per for key in ("msgs_per_s", "p95_ms")},
            **{f"{side}_errors": sum(lv["errors"] for lv in per[side]) for side in per}}
    return summary
