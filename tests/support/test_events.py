"""Where the staff tools find the conversation store, how they turn days into instants, and what
the support layer may import."""

from __future__ import annotations

import ast
import datetime as dt
import subprocess
import sys
from pathlib import Path

from bot.settings.endpoints import build_endpoints, tracker_db_url
from bot.support.days import day_range, day_start

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "bot" / "support"


def test_staff_tools_read_the_store_the_rasa_server_writes():
    env = {"ACTION_PORT": "5055"}
    store = build_endpoints(env)["tracker_store"]
    assert tracker_db_url(env) == f"sqlite:///{store['db']}" == f"sqlite:///{ROOT}/var/tracker.db"
    env["TRACKER_DB"] = "var/other.db"
    assert tracker_db_url(env) == f"sqlite:///{build_endpoints(env)['tracker_store']['db']}"
    env["TRACKER_DB_URL"] = "postgres://u:pw@db:5432/rasa"
    assert tracker_db_url(env) == "postgresql://u:pw@db:5432/rasa"
    assert build_endpoints(env)["tracker_store"]["dialect"] == "postgresql"


def test_a_day_starts_at_local_midnight_given_in_utc():
    day = dt.date(2026, 11, 29)
    start = day_start(day)
    assert start.tzinfo == dt.timezone.utc
    assert start.timestamp() == dt.datetime.combine(day, dt.time()).timestamp()
    assert start.astimezone().replace(tzinfo=None) == dt.datetime(2026, 11, 29)
    first, end = day_range(day, day + dt.timedelta(days=2))
    assert first == start and end == day_start(dt.date(2026, 12, 2))


def test_the_support_layer_never_imports_actions():
    # The staff tools share the application database with the action server through bot.appdb;
    # importing `actions` would pull in rasa_sdk. (Rasa itself: tests/architecture/test_layers.py.)
    bad = []
    for path in sorted(SUPPORT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            bad += [f"{path.relative_to(ROOT)}:{node.lineno} {name}" for name in names
                    if name.split(".")[0] == "actions"]
    assert bad == []


def test_importing_the_support_tools_loads_neither_rasa_nor_actions():
    # Catches indirect imports too (a module the support layer uses that imports Rasa).
    code = ("import sys, bot.support.report, bot.support.retention, bot.support.tickets\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'rasa', 'actions',"
            " 'tensorflow'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"
