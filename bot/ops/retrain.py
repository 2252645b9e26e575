"""New knowledge live without a restart: watch knowledge/, retrain in the background, publish.

While `make run` is up, a thread looks at the knowledge files' modification times once a second.
When they change and then stay unchanged for a quiet period (a burst of saves trains once), it
runs one build in a child process (`python -m bot.ops.retrain`: validate, compile, train unless a
model for exactly these inputs exists) and, on success, publishes the model on the loopback model
server, from which the Rasa server pulls and swaps it in between two messages
(bot/ops/model_server.py). One thread does watching and building in turn, so two trainings never
run at once; saves made during a training start the next one when it ends.

A knowledge base with errors or a failed training publishes nothing: the running model keeps
answering and the log (and the `make run` console) lists each problem as `file:line: what to fix`,
as `python -m bot validate` prints it. Answer edits need no new model (the action server reads
answers live); the build then finds its model already exists and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from bot.ops.model_server import ModelServer, model_etag
from bot.settings.paths import ROOT
from bot.settings.retrain import RetrainSettings

POLL_SECONDS = 1.0
# Exit codes of the build child: the knowledge has errors / training failed.
CONTENT_ERRORS, TRAINING_FAILED = 1, 2


def knowledge_stamp(directory: Path) -> tuple:
    """(name, mtime, size) of every knowledge file: what changes when staff save one."""
    try:
        with os.scandir(directory) as it:
            return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size)
                                for e in it if e.name.endswith((".yml", ".yaml"))))
    except OSError:
        return ()


def newest_mtime(stamp: tuple) -> float:
    """Wall-clock time of the latest save in a stamp (seconds)."""
    return max((mtime for _, mtime, _ in stamp), default=time.time_ns()) / 1e9


class Retrainer:
    """The watching-and-building thread of one running assistant."""

    def __init__(self, env: Mapping[str, str], server: ModelServer, log: Path,
                 settings: RetrainSettings, notify: Callable[[str], None] = print,
                 command: list[str] | None = None, poll_seconds: float = POLL_SECONDS) -> None:
        self.env = dict(env)
        self.server = server
        self.log = Path(log)
        self.settings = settings
        self.notify = notify
        self.command = command or [sys.executable, "-m", "bot.ops.retrain"]
        self.poll_seconds = poll_seconds
        self.directory = Path(self.env.get("KNOWLEDGE_DIR") or ROOT / "knowledge")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen | None = None
        self._saved_at: dict[str, float] = {}  # ETag -> time of the save it was built from
        self.builds = 0
        server.on_switch = self._switched

    # -- messages -------------------------------------------------------------------------

    def say(self, text: str, console: bool = True) -> None:
        """One line (or several) in the retrain log, and on the console unless `console` is off."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a", encoding="utf-8") as out:
            for line in text.splitlines() or [""]:
                out.write(f"{stamp} {line}\n")
        if console:
            self.notify(text)

    def _switched(self, etag: str) -> None:
        """The Rasa server reported running `etag` (called by the model server)."""
        name = etag.strip('"')
        saved = self._saved_at.pop(etag, None)
        if saved is None:  # the model it started with
            self.say(f"Live retraining: the Rasa server runs model {name}.", console=False)
            return
        self.say(f"Live: the Rasa server now answers with model {name}, "
                 f"{time.time() - saved:.0f}s after the save.")

    # -- the thread -----------------------------------------------------------------------

    def start(self, built_from: tuple | None = None) -> None:
        """Watch from now on; `built_from` is the stamp of the knowledge the running model was
        built from (taken before that build), so saves made meanwhile are not missed."""
        self._stamp = knowledge_stamp(self.directory) if built_from is None else built_from
        self._thread = threading.Thread(target=self._run, name="retrain", daemon=True)
        self._thread.start()
        self.say(f"Live retraining on: saving new entries or examples in {self.directory} "
                 f"retrains in the background (log: {self.log}).", console=False)

    def stop(self) -> None:
        """Stop watching; end a training in progress (its model would be published to nobody)."""
        self._stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            stamp = knowledge_stamp(self.directory)
            if stamp == self._stamp:
                continue
            stamp = self._settle(stamp)
            if stamp is None:
                return
            self._stamp = stamp
            try:
                self.build(newest_mtime(stamp))
            except Exception as error:  # noqa: BLE001 - the watcher must outlive one bad build
                self.say(f"Live retraining: the build could not run ({type(error).__name__}: "
                         f"{error}); the current model keeps answering.")

    def _settle(self, stamp: tuple) -> tuple | None:
        """The stamp once the files stayed unchanged for the quiet period (None: stopping)."""
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < self.settings.debounce_seconds:
            if self._stop.wait(min(self.poll_seconds, self.settings.debounce_seconds)):
                return None
            now = knowledge_stamp(self.directory)
            if now != stamp:
                stamp, quiet_since = now, time.monotonic()
        return stamp

    def build(self, saved_at: float) -> Path | None:
        """One build in a child process; publish its model. The model, or None if refused."""
        self.builds += 1
        self.say("Knowledge changed: checking it (and training if new entries or examples) "
                 "in the background; the bot keeps answering meanwhile.")
        with tempfile.TemporaryDirectory(prefix="retrain-") as tmp:
            result = Path(tmp) / "model"
            started = time.monotonic()
            code, output = self._child_run([*self.command, "--result", str(result),
                                            "--train-log", str(self.log.with_name(
                                                "retrain-rasa.log"))])
            seconds = time.monotonic() - started
            model = Path(result.read_text("utf-8").strip()) if code == 0 and result.exists() \
                else None
        self.say(output.rstrip(), console=False)
        if self._stop.is_set():
            return None
        if model is None:
            problems = "\n".join(f"  {line}" for line in output.splitlines()
                                 if ": error: " in line) or _tail(output)
            if code == CONTENT_ERRORS:
                why, then = ("the knowledge base has errors", "Fix the file and save it again "
                             "(`make validate` lists the same problems).")
            else:
                why, then = "the training failed", (
                    f"Rasa's full output: {self.log.with_name('retrain-rasa.log')}; the next "
                    f"save tries again.")
            self.say(f"Not trained: {why}. The bot keeps answering with the current model.\n"
                     f"{problems}\n{then}")
            return None
        if model_etag(model) == model_etag(self.server.model):
            self.say("Training data unchanged: answer edits are live without a new model.")
            return model
        self._saved_at[model_etag(model)] = saved_at
        self.server.publish(model)
        self.say(f"New model ready in {seconds:.0f}s ({model.name}): the Rasa server switches "
                 f"to it within {self.settings.pull_seconds}s, between two messages.")
        return model

    def _child_run(self, cmd: list[str]) -> tuple[int, str]:
        """Run the build child in its own process group (so stop() can end it)."""
        with tempfile.TemporaryFile() as out:
            self._child = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           start_new_session=True)
            if self._stop.is_set():  # stop() ran while it was starting: it saw no child
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._child.pid, signal.SIGTERM)
            try:
                code = self._child.wait()
            finally:
                self._child = None
            out.seek(0)
            return code, out.read().decode("utf-8", "replace")


def _tail(text: str, lines: int = 12) -> str:
    """The last lines of a child's output, without progress bars."""
    kept = [line for line in text.strip().splitlines() if line.strip() and "it/s" not in line]
    return "\n".join(f"  {line}" for line in kept[-lines:])


def main(argv: list[str] | None = None) -> int:
    """The build child: validate and compile knowledge/, train unless the model exists, and
    write the model's path to `--result`. Exit 1: knowledge errors (printed as validate prints
    them); exit 2: training failed."""
    parser = argparse.ArgumentParser(prog="python -m bot.ops.retrain")
    parser.add_argument("--result", required=True, help="file to write the model path into")
    parser.add_argument("--train-log", help="file for Rasa's training output")
    args = parser.parse_args(argv)

    from bot.training import trainer

    try:
        b = trainer.build()
    except trainer.ContentError as error:
        print(error)
        return CONTENT_ERRORS
    print(b.report.summary())
    if not b.model.exists():
        print("New entries or examples: training a new model...", flush=True)
        try:
            _, seconds = trainer.train(b, log=Path(args.train_log) if args.train_log else None)
        except RuntimeError as error:
            print(error)
            return TRAINING_FAILED
        print(f"Trained in {seconds:.0f}s.")
    Path(args.result).write_text(str(b.model), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
