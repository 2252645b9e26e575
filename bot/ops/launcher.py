"""Start and stop the running assistant: action server, Rasa server and web page.

Used by `make run` and by the test suite, so that tests exercise the same start-up as users.
Each child runs in its own process group; stopping (Ctrl-C, SIGTERM, or a test's teardown)
ends every process that was started.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.metrics import prepare_dir
from bot.settings.credentials import build_credentials
from bot.settings.endpoints import write_endpoints
from bot.settings.errors import StartupError
from bot.settings.paths import ROOT, build_dir, var_dir
from bot.training.trainer import rasa_env

if TYPE_CHECKING:
    from bot.ops.retrain import Retrainer

DEFAULT_PORTS = {"RASA_PORT": "5005", "ACTION_PORT": "5055", "WEB_PORT": "8080"}


def environment(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment with every documented default filled in."""
    env = rasa_env()
    env.setdefault("PYTHONWARNINGS", "ignore")  # library deprecation noise, not for operators
    for key, value in DEFAULT_PORTS.items():
        env.setdefault(key, value)
    env.update(overrides or {})
    env.setdefault("BIND_HOST", "127.0.0.1")
    env.setdefault("ACTION_BIND_HOST", "127.0.0.1")
    if not env.get("ACTION_SERVER_TOKEN") and not env.get("ACTION_SERVER_URL"):
        # Our own action server: a fresh secret per start, known only to our two processes.
        env["ACTION_SERVER_TOKEN"] = secrets.token_urlsafe(32)
    web = f"http://localhost:{env['WEB_PORT']}"
    web_ip = f"http://127.0.0.1:{env['WEB_PORT']}"
    env.setdefault("WEB_ALLOWED_ORIGINS", f"{web} {web_ip}")
    return env


def rasa_command(env: dict[str, str], model: Path, run_dir: Path,
                 models: dict | None = None) -> list[str]:
    """Write the effective endpoints and credentials into `run_dir`; the `rasa run` command.

    One definition for `make run` and the containers (`python -m bot serve-rasa`); `models` is
    the model server endpoint Rasa pulls new models from (live retraining)."""
    endpoints = write_endpoints(env, run_dir / "endpoints.yml", models=models)
    creds = run_dir / "credentials.yml"
    creds.touch(mode=0o600, exist_ok=True)
    os.chmod(creds, 0o600)  # channel tokens are in it
    creds.write_text(yaml.safe_dump(build_credentials(env), sort_keys=False), "utf-8")
    cmd = [sys.executable, "-m", "rasa", "run", "--model", str(model),
           "--interface", env["BIND_HOST"], "--port", env["RASA_PORT"],
           "--endpoints", str(endpoints), "--credentials", str(creds),
           "--cors", *env["WEB_ALLOWED_ORIGINS"].split()]
    if env.get("RASA_API_TOKEN"):
        cmd += ["--enable-api", "--auth-token", env["RASA_API_TOKEN"]]
    return cmd


@dataclass
class Stack:
    """The running processes of one assistant."""

    model: Path
    env: dict[str, str]
    log_dir: Path = field(default_factory=lambda: var_dir() / "log")
    run_dir: Path = field(default_factory=lambda: build_dir() / "run")
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    # Offer live retraining (`make run`; LIVE_RETRAIN=off turns it off): bot/ops/retrain.py.
    live_retrain: bool = False
    notify: Callable[[str], None] = print
    retrainer: Retrainer | None = None
    knowledge_stamp: tuple | None = None  # of the knowledge `model` was built from (retrain.py)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.env['ACTION_PORT']}"

    @property
    def web_url(self) -> str:
        return f"http://localhost:{self.env['WEB_PORT']}/"

    def _spawn(self, name: str, cmd: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        env = self.env
        if name in ("rasa", "actions"):
            # Each server's own folder of metric values, emptied: its /metrics adds up its
            # Sanic workers and nothing else (bot/metrics).
            env = dict(self.env)
            prepare_dir(self.run_dir / "metrics" / name, env)
        self.procs[name] = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)

    def start_actions(self) -> None:
        """`python -m bot actions`: rasa-sdk's app on loopback behind ACTION_SERVER_TOKEN."""
        self._spawn("actions", [sys.executable, "-m", "bot", "actions",
                                "--port", self.env["ACTION_PORT"]])

    def start_rasa(self) -> None:
        models = None
        if self.retrainer is not None:
            models = self.retrainer.server.endpoint(self.retrainer.settings.pull_seconds)
        self._spawn("rasa", rasa_command(self.env, self.model, self.run_dir, models=models))

    def start_live_retrain(self) -> None:
        """The loopback model server the Rasa server pulls from, and the knowledge watcher that
        retrains and publishes there (unless LIVE_RETRAIN=off)."""
        from bot.ops.model_server import ModelServer
        from bot.ops.retrain import Retrainer
        from bot.settings.retrain import retrain_settings

        settings = retrain_settings(self.env)
        if not settings.enabled:
            return
        server = ModelServer(self.model)
        server.start()
        self.retrainer = Retrainer(self.env, server, self.log_dir / "retrain.log", settings,
                                   notify=self.notify)
        self.retrainer.start(built_from=self.knowledge_stamp)

    def stop_live_retrain(self) -> None:
        retrainer, self.retrainer = self.retrainer, None
        if retrainer is not None:
            retrainer.stop()
            retrainer.server.stop()

    def start_web(self) -> None:
        bot_url = self.env.get("PUBLIC_BOT_URL") or f"http://localhost:{self.env['RASA_PORT']}"
        self._spawn("web", [sys.executable, "-m", "bot", "web", "--host",
                            self.env["BIND_HOST"], "--port", self.env["WEB_PORT"],
                            "--bot-url", bot_url])

    def check_ports(self) -> None:
        """Refuse to start on a busy port: readiness checks would talk to someone else."""
        for key in ("ACTION_PORT", "RASA_PORT", "WEB_PORT"):
            port = int(self.env[key])
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((self.env.get("BIND_HOST", "127.0.0.1"), port))
                except OSError:
                    raise StartupError(
                        f"port {port} ({key}) is already in use: is another assistant still "
                        f"running? Stop it, or choose another port with {key}=...") from None

    def start(self, web: bool = True) -> None:
        self.check_ports()
        if self.live_retrain:
            self.start_live_retrain()
        self.start_actions()
        self.start_rasa()
        if web:
            self.start_web()

    def _ready(self, url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = 180) -> None:
        """Block until every server is ready (its `/ready`: model loaded, databases, Redis and
        the action server answering); raise with the log tail if one dies or stalls."""
        checks = {"actions": f"{self.action_url}/ready", "rasa": f"{self.rasa_url}/ready"}
        if "web" in self.procs:
            checks["web"] = f"{self.web_url}ready"
        deadline = time.monotonic() + timeout
        pending = dict(checks)
        while pending:
            for name in list(pending):
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise StartupError(f"{name} exited with {proc.returncode}:\n"
                                       + self.log_tail(name))
                if self._ready(pending[name]):
                    del pending[name]
            if pending and time.monotonic() > deadline:
                raise StartupError(f"{', '.join(pending)} not ready after {timeout:.0f}s:\n"
                                   + "\n".join(self.log_tail(n) for n in pending))
            time.sleep(0.5)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])

    def stop_one(self, name: str, timeout: float = 10) -> None:
        self._terminate([name], timeout)

    def _terminate(self, names: list[str], timeout: float) -> None:
        """SIGTERM each process group, wait up to `timeout` in all, then SIGKILL what is left."""
        procs = [p for p in (self.procs.pop(n, None) for n in names) if p is not None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def stop(self) -> None:
        """Stop every process started, even if interrupted again while stopping."""
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
        except ValueError:  # not the main thread (e.g. a test helper): nothing to mask
            previous = {}
        try:
            if self.retrainer is not None:
                self.retrainer.stop()  # no new model for a server that is stopping
            self._terminate(list(self.procs), timeout=10)
            self.stop_live_retrain()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def supervise(self, interval: float = 1.0) -> list[str]:
        """Block while every process runs; the names of those that stopped."""
        while not (dead := self.dead()):
            time.sleep(interval)
        return dead

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]


def free_port() -> int:
    """A TCP port nobody listens on now (for scratch stacks and tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rest_send(rest_url: str, sender_id: str, text: str, timeout: float = 60,
              message_id: str | None = None) -> list[dict]:
    """One message over the REST channel; the bot's replies."""
    import json

    payload = {"sender": sender_id, "message": text}
    if message_id:
        payload["message_id"] = message_id
    request = urllib.request.Request(rest_url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


# Every client of a scratch stack (tests, `make eval`, the benchmarks) is 127.0.0.1, so limits
# keyed on a person (the client address, bot/channels/identity.py) would make them all one
# person: off there unless `overrides` sets them. Unit tests cover those limits.
ONE_ADDRESS = {
    "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "0", "TICKETS_PER_CLIENT_PER_HOUR": "0",
    "DECLARATION_MAX_FAILED_PER_CLIENT": "1000000", "DECLARATION_MAX_FAILED_PER_TPIN": "1000000",
    "DECLARATION_MAX_FAILED_PER_REFERENCE": "1000000",
}


@contextlib.contextmanager
def scratch_stack(model: Path, tmp: Path, knowledge: Path | None = None,
                  overrides: dict[str, str] | None = None, web: bool = True,
                  live_retrain: bool = False):
    """A whole assistant on free loopback ports with its own databases under `tmp`, stopped
    afterwards: what the conversation tests and `make eval` talk to (`live_retrain`: as
    `make run`, retrain and swap the model when `knowledge` changes)."""
    import shutil

    tmp.mkdir(parents=True, exist_ok=True)
    if knowledge is None:
        knowledge = tmp / "knowledge"
        if not knowledge.exists():
            shutil.copytree(ROOT / "knowledge", knowledge)
    env_overrides = {
        "RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()),
        "WEB_PORT": str(free_port()), "KNOWLEDGE_DIR": str(knowledge),
        "TRACKER_DB": str(tmp / "tracker.db"),
        "CUSTOMS_DB_URL": f"sqlite:///{tmp / 'customs.db'}", "VAR_DIR": str(tmp / "var"),
        **ONE_ADDRESS, **(overrides or {}),
    }
    env = environment(env_overrides)
    for key in ("TRACKER_DB_URL", "REDIS_URL", "ACTION_SERVER_URL", "RASA_API_TOKEN"):
        if key not in (overrides or {}):
            env.pop(key, None)
    if not env.get("ACTION_SERVER_TOKEN"):
        env["ACTION_SERVER_TOKEN"] = secrets.token_urlsafe(32)
    subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    stack = Stack(model=model, env=env, log_dir=tmp / "log", run_dir=tmp / "run",
                  live_retrain=live_retrain)
    try:
        stack.start(web=web)
        stack.wait_ready(timeout=240)
        yield stack
    finally:
        stack.stop()
