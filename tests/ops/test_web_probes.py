"""The web page server's probes: `/health` while it runs, `/ready` only with its files."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.error
import urllib.request

from bot.ops.webserver import make_server
from tests.conftest import ROOT


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_ready_needs_the_page_and_the_widget(tmp_path) -> None:
    web = tmp_path / "web"
    shutil.copytree(ROOT / "web", web)
    server = make_server("127.0.0.1", 0, "http://localhost:5005", web_dir=web)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert get(f"{url}/ready") == (200, {"ready": True})
        (web / "widget.js").unlink()
        assert get(f"{url}/ready") == (503, {"ready": False, "reason": "missing: widget.js"})
        assert get(f"{url}/health") == (200, {"status": "ok"})
    finally:
        server.shutdown()
        server.server_close()
