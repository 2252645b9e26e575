"""The nginx example (deploy/nginx.conf) sends HSTS, Referrer-Policy and the web page server's
own Content-Security-Policy on every answer, and is valid for `nginx -t` (when nginx is
installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.ops.webserver import render_page

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "nginx.conf"


def headers() -> dict[str, str]:
    """The `add_header` directives of the file: name -> value."""
    text = CONF.read_text("utf-8")
    return {name.lower(): value for name, value in
            re.findall(r'^\s*add_header\s+(\S+)\s+"([^"]*)"\s+always;', text, re.M)}


def test_hsts_and_referrer_policy_on_every_answer():
    found = headers()
    assert re.fullmatch(r"max-age=(\d+); includeSubDomains",
                        found["strict-transport-security"])
    assert int(found["strict-transport-security"].split("=")[1].split(";")[0]) >= 15_552_000
    assert found["referrer-policy"] == "strict-origin-when-cross-origin"
    assert found["x-content-type-options"] == "nosniff"
    # add_header in a location would stop these from being inherited there.
    server_block = CONF.read_text("utf-8").split("server {", 1)[1]
    assert len(re.findall(r"^\s*add_header", server_block, re.M)) == len(found)


def test_the_csp_is_the_web_page_servers_with_the_bot_at_the_same_origin():
    page = (ROOT / "web" / "index.html").read_text("utf-8")
    _, served = render_page(page, "https://assistant.example")
    assert headers()["content-security-policy"] == served.replace(
        " https://assistant.example", "")
    assert "unsafe-inline" not in served


def test_nginx_accepts_the_file(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    # The Compose service names do not resolve here; the syntax and directives are the same.
    text = re.sub(r"\b(rasa1|rasa2|web):(\d+)", r"127.0.0.1:\2", CONF.read_text("utf-8"))
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n" + text)
    result = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(tmp_path),
                             "-e", str(tmp_path / "error.log")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
