"""bot/ops/webserver.py over real HTTP on loopback: what it serves, and what it refuses."""

from __future__ import annotations

import base64
import hashlib
import http.client
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.ops.webserver import WEB_DIR, bot_origin, make_server, render_page

Fetch = Callable[..., tuple[int, dict[str, str], bytes]]


@pytest.fixture
def serve() -> Iterator[Callable[..., Fetch]]:
    """Factory: start a server; returns fetch(path, method="GET") -> (status, headers, body)."""
    servers = []

    def start(bot_url: str = "http://127.0.0.1:5005", web_dir: Path | None = None) -> Fetch:
        server = make_server("127.0.0.1", 0, bot_url, web_dir=web_dir)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        port = server.server_address[1]

        def fetch(path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
            conn.endheaders()
            response = conn.getresponse()
            body = response.read()
            conn.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body

        return fetch

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_index_points_the_widget_at_the_bot_and_allows_only_it(serve) -> None:
    fetch = serve("http://127.0.0.1:5123")
    for path in ("/", "/index.html"):
        status, headers, body = fetch(path)
        assert status == 200
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert headers["x-content-type-options"] == "nosniff"
        page = body.decode()
        assert page.count('data-bot-url="http://127.0.0.1:5123"') == 1
        assert 'data-bot-url="http://localhost:5005"' not in page
        csp = headers["content-security-policy"]
        assert "connect-src 'self' http://127.0.0.1:5123;" in csp
        assert "script-src 'self';" in csp
        assert "unsafe-inline" not in csp
        style = re.search(r"<style>(.*?)</style>", page, re.DOTALL).group(1)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_page_loads_the_widget_with_one_script_tag() -> None:
    page = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    tags = re.findall(r"<script\b[^>]*>", page)
    assert len(tags) == 1 and 'src="widget.js"' in tags[0] and "data-bot-url=" in tags[0]


@pytest.mark.parametrize(("path", "content_type"), [
    ("/widget.js", "text/javascript; charset=utf-8"),
    ("/widget.css", "text/css; charset=utf-8"),
])
def test_assets_have_their_content_types(serve, path: str, content_type: str) -> None:
    status, headers, body = serve()(path)
    assert status == 200
    assert headers["content-type"] == content_type
    assert headers["x-content-type-options"] == "nosniff"
    assert body == (WEB_DIR / path.lstrip("/")).read_bytes()


@pytest.mark.parametrize("path", [
    "/../pyproject.toml",
    "/%2e%2e/pyproject.toml",
    "/..%2fpyproject.toml",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/web/../../bot/webserver.py",
    "/..\\pyproject.toml",
    "/%5c..%5cpyproject.toml",
    "//etc/passwd",
    "/index.html%00.css",
    "/secret.txt",
    "/sub/",
    "/sub",
    "/.hidden.css",
    "/escape.css",
    "/nothing-here.js",
    "/notes.py",
])
def test_refuses_anything_outside_web_and_lists_no_directories(serve, tmp_path, path) -> None:
    web = tmp_path / "web"
    (web / "sub").mkdir(parents=True)
    (web / "index.html").write_text('<p data-bot-url="x">hi</p>', encoding="utf-8")
    (web / "sub" / "ok.css").write_text("p{}", encoding="utf-8")
    (web / ".hidden.css").write_text("p{}", encoding="utf-8")
    (web / "notes.py").write_text("SECRET = 1", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("SECRET", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("SECRET", encoding="utf-8")
    (web / "escape.css").symlink_to(tmp_path / "secret.txt")
    fetch = serve(web_dir=web)

    assert fetch("/sub/ok.css")[0] == 200  # the tree itself is served
    status, headers, body = fetch(path)
    assert status == 404, (path, body)
    assert b"SECRET" not in body and b"ok.css" not in body
    assert headers["x-content-type-options"] == "nosniff"


def test_read_only(serve) -> None:
    fetch = serve()
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = fetch("/index.html", method)
        assert status == 405
        assert headers["allow"] == "GET, HEAD"
    status, headers, body = fetch("/widget.js", "HEAD")
    assert status == 200 and body == b""
    assert int(headers["content-length"]) == (WEB_DIR / "widget.js").stat().st_size


@pytest.mark.parametrize("bad", [
    "javascript:alert(1)",
    "ftp://bot.example",
    "bot.example:5005",
    'http://bot.example"><script>',
    "http://user:pw@bot.example",
    "http://bot.example; script-src *",
])
def test_rejects_unsafe_bot_urls(bad: str) -> None:
    with pytest.raises(ValueError):
        bot_origin(bad)
    with pytest.raises(ValueError):
        make_server("127.0.0.1", 0, bad)


def test_bot_url_is_escaped_and_its_origin_used() -> None:
    body, csp = render_page('<script data-bot-url="old"></script>', "https://bot.example:5005/rasa/")
    assert body == b'<script data-bot-url="https://bot.example:5005/rasa"></script>'
    assert "connect-src 'self' https://bot.example:5005;" in csp
