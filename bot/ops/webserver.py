"""Tiny static server for the demo customs page and the chat widget (``web/``).

It exists so that ``make run`` can show the widget on any port without a separate web server:
the demo page is served with its ``data-bot-url`` pointing at the running bot and a
Content-Security-Policy that allows talking to exactly that bot. Standard library only (no
Rasa, no TensorFlow), read-only, no directory listings, nothing outside ``web/``.

    python -m bot web --host 127.0.0.1 --port 8080 --bot-url http://localhost:5005

Probes: `GET /health` (liveness: the process answers) and `GET /ready` (readiness: the page,
the widget and its style sheet are there to serve; 503 with the missing ones otherwise).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import json
import logging
import os
import re
import socket
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

from bot.settings.http import server_timeouts  # noqa: E402
from bot.settings.paths import ROOT  # noqa: E402

WEB_DIR = ROOT / "web"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}

# What the demo page needs to work: readiness fails without any of them.
REQUIRED_FILES = ("index.html", "widget.js", "widget.css")

_BOT_URL_ATTR = re.compile(r'data-bot-url="[^"]*"')
_INLINE_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def bot_origin(bot_url: str) -> str:
    """Return ``scheme://host[:port]`` of an http(s) bot URL, or raise ValueError."""
    parts = urlsplit(bot_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"bot url must be an absolute http(s) URL, got {bot_url!r}")
    if parts.username or parts.password or re.search(r"[\s\"'<>;,]", bot_url):
        raise ValueError(f"bot url must not carry credentials or special characters: {bot_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def render_page(source: str, bot_url: str) -> tuple[bytes, str]:
    """Point the page's widget at ``bot_url``; return the page and its Content-Security-Policy.

    Inline ``<style>`` blocks are allowed by their hash, so no 'unsafe-inline' is needed.
    """
    origin = bot_origin(bot_url)
    attr = f'data-bot-url="{html.escape(bot_url.rstrip("/"), quote=True)}"'
    page = _BOT_URL_ATTR.sub(lambda _m: attr, source)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.encode()).digest()).decode()}'"
        for m in _INLINE_STYLE.findall(page)
    )
    csp = (
        "default-src 'none'; script-src 'self'; "
        f"style-src 'self'{' ' + hashes if hashes else ''}; "
        "img-src 'self' data: https:; "
        f"connect-src 'self' {origin}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
    )
    return page.encode("utf-8"), csp


def resolve_path(web_dir: Path, url_path: str) -> Path | None:
    """Map a request path to a file inside ``web_dir``; None for anything else.

    Refuses traversal (``..``, encoded or not), backslashes, NUL bytes, hidden files,
    directories and unknown file types.
    """
    path = unquote(urlsplit(url_path).path)
    if "\x00" in path or "\\" in path:
        return None
    if path in ("", "/"):
        path = "/index.html"
    parts = PurePosixPath(path).parts[1:]
    if not parts or any(p in ("..", ".") or p.startswith(".") for p in parts):
        return None
    base = web_dir.resolve()
    candidate = base.joinpath(*parts).resolve()
    try:
        candidate.relative_to(base)
    except ValueError:
        return None
    if not candidate.is_file() or candidate.suffix.lower() not in CONTENT_TYPES:
        return None
    return candidate


class _DeadlineReader(io.RawIOBase):
    """A socket read within one deadline for the whole request: per-read timeouts alone let a
    client trickle a byte every few seconds and hold a thread for ever."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request was not received in time")
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    """Serves the files of ``web_dir``; class attributes are set per server by make_server."""

    server_version = "zax-web"
    sys_version = ""
    web_dir: Path = WEB_DIR
    bot_url: str = "http://localhost:5005"
    # The request line and headers must arrive within this many seconds in all (a half-sent
    # or trickled request is closed); HTTP/1.0, so one request per connection.
    request_seconds: float = 10.0

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.request_seconds)
        self.rfile = io.BufferedReader(_DeadlineReader(
            self.connection, time.monotonic() + self.request_seconds))

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _not_allowed(self) -> None:
        self._respond(HTTPStatus.METHOD_NOT_ALLOWED, b"Method not allowed\n",
                      "text/plain; charset=utf-8", extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def _serve(self, send_body: bool) -> None:
        probe = urlsplit(self.path).path
        if probe in ("/health", "/ready"):
            status, body = (HTTPStatus.OK, {"status": "ok"}) if probe == "/health" \
                else readiness(self.web_dir)
            self._respond(status, json.dumps(body).encode(), "application/json",
                          send_body=send_body)
            return
        target = resolve_path(self.web_dir, self.path)
        if target is None:
            self._respond(HTTPStatus.NOT_FOUND, b"Not found\n", "text/plain; charset=utf-8",
                          send_body=send_body)
            return
        content_type = CONTENT_TYPES[target.suffix.lower()]
        extra: dict[str, str] = {}
        if target.suffix.lower() == ".html":
            body, extra["Content-Security-Policy"] = render_page(
                target.read_text(encoding="utf-8"), self.bot_url)
            extra["X-Frame-Options"] = "DENY"
        else:
            body = target.read_bytes()
        self._respond(HTTPStatus.OK, body, content_type, extra=extra, send_body=send_body)

    def _respond(self, status: HTTPStatus, body: bytes, content_type: str,
                 extra: dict[str, str] | None = None, send_body: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
        self.send_header("Cache-Control", "no-cache")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.info("%s %s", self.address_string(), format % args)


def readiness(web_dir: Path) -> tuple[HTTPStatus, dict]:
    """200 when every file of REQUIRED_FILES can be read, else 503 naming the missing ones."""
    missing = [name for name in REQUIRED_FILES
               if not (web_dir / name).is_file() or not os.access(web_dir / name, os.R_OK)]
    if missing:
        return HTTPStatus.SERVICE_UNAVAILABLE, {"ready": False,
                                                "reason": "missing: " + ", ".join(missing)}
    return HTTPStatus.OK, {"ready": True}


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 made a burst of connections wait seconds for a SYN
    # retry before they were even accepted.
    request_queue_size = 128
    daemon_threads = True


def make_server(host: str, port: int, bot_url: str, web_dir: Path | None = None,
                request_seconds: float | None = None) -> ThreadingHTTPServer:
    """Build (not start) a server for ``web_dir`` whose demo page talks to ``bot_url``.

    Port 0 picks a free port; read it from ``server.server_address[1]``. A request must
    arrive within ``request_seconds`` (default REQUEST_HEADER_TIMEOUT_SECONDS) in all.
    """
    bot_origin(bot_url)  # fail early on a bad URL
    handler = type("WebHandler", (_Handler,), {
        "web_dir": (web_dir or WEB_DIR).resolve(),
        "bot_url": bot_url.rstrip("/"),
        "request_seconds": (server_timeouts().header_seconds if request_seconds is None
                            else request_seconds),
    })
    server = _Server((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    """Serve the demo page until interrupted."""
    parser = argparse.ArgumentParser(description="Serve the demo page with the ZAX chat widget.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8080")))
    parser.add_argument("--bot-url",
                        default=f"http://localhost:{os.environ.get('RASA_PORT', '5005')}",
                        help="address of the Rasa server the widget talks to")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    try:
        server = make_server(args.host, args.port, args.bot_url)
    except (ValueError, OSError) as exc:
        print(f"webserver: {exc}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    print(f"Demo page with the chat widget: http://{shown}:{port}/ (bot: {args.bot_url})",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
