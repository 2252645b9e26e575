"""A model file server on loopback for Rasa's own model pulling (`models:` in endpoints.yml).

Rasa asks `GET /model` every few seconds with `If-None-Match: <the ETag of the model it runs>`:
the same ETag gets a 304 (nothing to do), another one the model file, which Rasa loads and swaps
in between two messages (rasa/core/agent.py, `_update_model_from_server`). Conversations live
in the tracker store, not in the model, so the swap loses none of them.

The ETag is the model's fingerprint (its file name), so the If-None-Match Rasa sends afterwards
says which model it runs: that is how the launcher learns the switch happened. Bound to
127.0.0.1 only: the model is read by our own Rasa server and nobody else.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PATH = "/model"


def model_etag(model: Path) -> str:
    """The ETag of a model file: its fingerprint (the name without .tar.gz), quoted."""
    name = Path(model).name
    return '"' + (name[:-len(".tar.gz")] if name.endswith(".tar.gz") else name) + '"'


def _etags(header: str | None) -> set[str]:
    """The ETags listed in an If-None-Match header, quoted, weak markers dropped."""
    tags = set()
    for part in (header or "").split(","):
        part = part.strip().removeprefix("W/")
        if part:
            tags.add(part if part.startswith('"') else f'"{part}"')
    return tags


class ModelServer:
    """Serves one model file at a time; `publish` replaces it."""

    def __init__(self, model: Path, port: int = 0,
                 on_switch: Callable[[str], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._model = Path(model)
        self._etag = model_etag(self._model)
        self.running_etag: str | None = None  # what the Rasa server last said it runs
        self.on_switch = on_switch
        self._switched = threading.Condition(self._lock)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{PATH}"

    @property
    def model(self) -> Path:
        with self._lock:
            return self._model

    def endpoint(self, pull_seconds: int) -> dict:
        """Rasa's `models:` endpoint for this server."""
        return {"url": self.url, "wait_time_between_pulls": int(pull_seconds)}

    def publish(self, model: Path) -> None:
        """Serve `model` from now on: the Rasa server fetches it at its next pull."""
        with self._lock:
            self._model = Path(model)
            self._etag = model_etag(self._model)

    def wait_running(self, model: Path, timeout: float) -> bool:
        """Block until the Rasa server says it runs `model` (True), or `timeout` seconds."""
        etag = model_etag(model)
        with self._switched:
            return self._switched.wait_for(lambda: self.running_etag == etag, timeout)

    def _seen(self, tags: set[str]) -> None:
        """Rasa asked with these ETags: the current one means it runs the current model."""
        with self._lock:
            if self._etag not in tags or self.running_etag == self._etag:
                return
            self.running_etag = etag = self._etag
            self._switched.notify_all()
        if self.on_switch is not None:
            self.on_switch(etag)

    def _current(self) -> tuple[Path, str]:
        with self._lock:
            return self._model, self._etag

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?")[0] != PATH:
                    self.send_error(404)
                    return
                model, etag = server._current()
                tags = _etags(self.headers.get("If-None-Match"))
                server._seen(tags)
                if etag in tags:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                try:
                    body = model.read_bytes()
                except OSError:
                    self.send_error(404, "model file missing")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("filename", model.name)  # Rasa names the download after it
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Silent: Rasa asks every few seconds."""

        return Handler

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="model-server",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        with contextlib.suppress(OSError):
            self.httpd.server_close()
