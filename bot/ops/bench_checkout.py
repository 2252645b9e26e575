"""`python -m bot bench --against-checkout PATH [--rounds N]`: this tree against another
checkout of the project (an older commit in a `git worktree`), for "no slower than before" in
one run.

Each side serves the model its own `make train` builds and is started by its own launcher (its
servers, settings and code: `CheckoutStack`; this tree's launcher would serve old code with new
settings), under this tree's load (bot/training/bench/load.py). The two are run alternately, N
rounds (A B A B), as a shared machine drifts; each round's ratio and the medians are printed and
written to var/bench/checkout.json. The two models differ: `make eval` in each tree compares what
they answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.ops.bench import BENCH_DIR, LEVELS, ROOT, run_stack

# Run with python -c in the other checkout (its `bot` first on PYTHONPATH): its own environment
# defaults, database set-up and launcher. Prints the servers' process ids, then exits once they are
# ready; they live on in their own process groups, which `CheckoutStack.stop` ends.
START_IN_CHECKOUT = """
import json, subprocess, sys
from pathlib import Path
from bot.ops import launcher
spec = json.loads(sys.argv[1])
home = Path(spec["home"])
env = launcher.environment(spec["overrides"])
for key in spec["drop"]:
    env.pop(key, None)
subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=launcher.ROOT, env=env,
               check=True, stdout=subprocess.DEVNULL)
stack = launcher.Stack(model=Path(spec["model"]), env=env, log_dir=home / "log",
                       run_dir=home / "run")
stack.start_actions()
stack.start_rasa()
print(json.dumps({name: proc.pid for name, proc in stack.procs.items()}), flush=True)
try:
    stack.wait_ready(timeout=spec["timeout"])
except BaseException:
    stack.stop()
    raise
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


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class CheckoutStack:
    """Another checkout's action and Rasa servers, started by that checkout's own launcher
    (`START_IN_CHECKOUT`), so that an older commit runs as its `make run` ran it: this tree's
    launcher would start this tree's servers and settings. Same calls as `launcher.Stack` where
    `run_stack` uses it."""

    def __init__(self, checkout: Path, model: Path, overrides: dict[str, str], drop: list[str],
                 home: Path, timeout: float = 300) -> None:
        self.checkout, self.home = checkout, home
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
                [sys.executable, "-c", START_IN_CHECKOUT, json.dumps(self.spec)],
                cwd=self.checkout, env=checkout_env(self.checkout), stdout=subprocess.PIPE,
                stderr=log, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        line = self._starter.stdout.readline()
        if not line:
            self._starter.wait()
            raise RuntimeError(f"{self.checkout}: its stack did not start:\n"
                               + self.log_tail("start"))
        self.procs = {name: _Server(pid) for name, pid in json.loads(line).items()}

    def wait_ready(self, timeout: float = 300) -> None:
        try:
            code = self._starter.wait(timeout + 30)
        except subprocess.TimeoutExpired:
            code = None
        if code != 0:
            raise RuntimeError(f"{self.checkout}: its stack is not ready:\n"
                               + self.log_tail("start") + "\n" + self.log_tail("rasa"))

    def dead(self) -> list[str]:
        return [name for name, server in self.procs.items() if not _alive(server.pid)]

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.home / "log" / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM every group (the starter's too), then SIGKILL what is left after `timeout`."""
        groups = [s.pid for s in self.procs.values()]
        if self._starter is not None and self._starter.poll() is None:
            groups.append(self._starter.pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pgid in groups:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, sig)
            deadline = time.monotonic() + timeout
            while any(map(_alive, groups)) and time.monotonic() < deadline:
                time.sleep(0.2)
            if self._starter is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._starter.wait(0.1)
            if not any(map(_alive, groups)):
                break
        self.procs = {}


def against_checkout(checkout: Path, rounds: int) -> int:
    """This tree and `checkout`, alternately, `rounds` times: the ratio per round and median."""
    from statistics import median

    from bot.training import trainer

    checkout = checkout.resolve()
    if checkout == ROOT.resolve():
        print("--against-checkout: that is this tree; give another checkout (git worktree add).")
        return 2
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    models = {"current": trainer.train(trainer.build())[0], "checkout": checkout_model(checkout)}
    print(f"current: {ROOT} ({models['current'].name}); checkout: {checkout} "
          f"({models['checkout'].name})", flush=True)
    runs: dict[str, list[dict]] = {"current": [], "checkout": []}
    for r in range(1, rounds + 1):
        print(f"Round {r}/{rounds}", flush=True)
        for side in ("current", "checkout"):
            runs[side].append(run_stack(f"{side}-{r}", models[side], {},
                                        checkout=checkout if side == "checkout" else None))
        for i, concurrency in enumerate(LEVELS):
            now, then = runs["current"][-1]["levels"][i], runs["checkout"][-1]["levels"][i]
            print(f"  x{concurrency}: {now['msgs_per_s'] / then['msgs_per_s']:.2f}x", flush=True)
    summary = {"date": time.strftime("%Y-%m-%d %H:%M"), "checkout": str(checkout),
               "models": {k: str(v) for k, v in models.items()}, "rounds": runs, "median": {}}
    for i, concurrency in enumerate(LEVELS):
        per = {side: [run["levels"][i] for run in runs[side]] for side in runs}
        ratios = [a["msgs_per_s"] / b["msgs_per_s"]
                  for a, b in zip(per["current"], per["checkout"], strict=True)]
        row = {"ratios": [round(x, 3) for x in ratios], "ratio": round(median(ratios), 3),
               **{f"{side}_{key}": round(median(lv[key] for lv in per[side]), 1)
                  for side in per for key in ("msgs_per_s", "p95_ms")},
               **{f"{side}_errors": sum(lv["errors"] for lv in per[side]) for side in per}}
        summary["median"][f"x{concurrency}"] = row
        print(f"x{concurrency}: ratios {' '.join(f'{x:.2f}' for x in ratios)}, median "
              f"{row['ratio']:.2f}x; msg/s {row['current_msgs_per_s']} vs "
              f"{row['checkout_msgs_per_s']}; p95 {row['current_p95_ms']:.0f} vs "
              f"{row['checkout_p95_ms']:.0f} ms; errors {row['current_errors']} vs "
              f"{row['checkout_errors']}")
    (BENCH_DIR / "checkout.json").write_text(json.dumps(summary, indent=2), "utf-8")
    return 0
