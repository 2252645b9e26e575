"""Fixtures for driving the chat widget in Debian's headless Chromium through Playwright.

Playwright's Python package brings its own driver; we never download its browser builds and
launch /usr/bin/chromium instead (CHROMIUM_PATH overrides). Without either, browser tests skip
with the command that fixes it.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.ops.webserver import make_server
from tests.browser.fake_rasa import FakeRasa

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


# Package scope: Playwright's sync API keeps an event loop in this thread while it is open,
# which would break asyncio.run() in the tests collected after the browser tests.
@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """One headless Chromium for the session, or a skip saying what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need the playwright package: pip install -e '.[dev]'")
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}: run scripts/install-browser.sh")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """Records what must never happen on a page: JS errors and dialogs (alert/confirm)."""

    def __init__(self, page: object) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

        def on_dialog(dialog: object) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)


@pytest.fixture
def new_page(browser: object) -> Iterator[Callable[..., object]]:
    """Factory for pages in fresh contexts (clean localStorage); all closed after the test."""
    contexts = []

    def make(viewport: dict[str, int] = DESKTOP, **options: object) -> object:
        context = browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.watch = PageWatch(page)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., object]) -> object:
    """A desktop-sized page (1280x800)."""
    return new_page()


@pytest.fixture
def serve_web() -> Iterator[Callable[[str], str]]:
    """Factory: serve web/ with bot/ops/webserver.py pointing at a given bot URL; returns the
    page URL."""
    servers = []

    def start(bot_url: str) -> str:
        server = make_server("127.0.0.1", 0, bot_url)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    """A scripted REST-channel stand-in on a free loopback port."""
    fake = FakeRasa().start()
    yield fake
    fake.stop()


class TcpProxy:
    """Loopback TCP forwarder that can be stopped and restarted on the same port.

    Stopping closes the listener and every open connection, so to a browser the server is
    simply gone (connection refused), without touching the real server behind it.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        # Optional header rewrites, each (pattern, replacement) on raw bytes; see rewrite_origin.
        self.requests_rewrite: list[tuple[re.Pattern[bytes], bytes]] = []
        self.responses_rewrite: list[tuple[re.Pattern[bytes], bytes]] = []
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rewrite_origin(self, page_origin: str, allowed_origin: str) -> None:
        """Present a page served from ``page_origin`` to the bot as ``allowed_origin``.

        The bot's CORS list names only the real demo page; a test page on another port would
        be refused. Rewriting the Origin header on the way in and Access-Control-Allow-Origin
        on the way out keeps real CORS in play without widening the bot's configuration.
        """
        def header(name: str, value: str) -> re.Pattern[bytes]:
            return re.compile(rb"(?im)^(" + name.encode() + rb":[ \t]*)" + re.escape(value.encode())
                              + rb"(?=\r\n)")

        self.requests_rewrite.append(
            (header("Origin", page_origin), rb"\g<1>" + allowed_origin.encode()))
        self.responses_rewrite.append(
            (header("Access-Control-Allow-Origin", allowed_origin),
             rb"\g<1>" + page_origin.encode()))

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            self._close(conn)

    @staticmethod
    def _close(conn: socket.socket) -> None:
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.update((client, upstream))
            for src, dst, rules in ((client, upstream, self.requests_rewrite),
                                    (upstream, client, self.responses_rewrite)):
                threading.Thread(target=self._pump, args=(src, dst, rules), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket,
              rules: list[tuple[re.Pattern[bytes], bytes]]) -> None:
        try:
            while data := src.recv(65536):
                for pattern, replacement in rules:
                    data = pattern.sub(replacement, data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for conn in (src, dst):
                with self._lock:
                    self._conns.discard(conn)
                self._close(conn)


@pytest.fixture
def tcp_proxy() -> Iterator[Callable[[str], TcpProxy]]:
    """Factory: a started TcpProxy in front of ``http://host:port``; stopped after the test."""
    proxies = []

    def start(url: str) -> TcpProxy:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 80).start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots are kept (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
