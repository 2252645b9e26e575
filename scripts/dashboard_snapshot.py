"""The picture of the dashboard in docs/deployment.md, drawn from real data.

Grafana cannot be installed on the machine this was written on (no package, no internet), so
this script does what Grafana would do with deploy/grafana/dashboards/customs-assistant.json:

1. starts an assistant on loopback as `make run` does (two Rasa workers on the Redis lock
   store, METRICS_TOKEN set) and a real Prometheus (Debian's `prometheus` package) scraping
   both servers every 5 s with deploy/prometheus/alerts.yml loaded;
2. drives it with the bench's load generator (bot/training/bench/load.py): 1, 8 and 32
   concurrent conversations of held-out questions and declaration lookups, plus a few
   out-of-scope questions, hand-overs, votes and refused requests, then stops the action
   server for 90 s (the CustomsActionServerDown alert fires) and brings it back;
3. evaluates every panel's own PromQL over the run with Prometheus's query_range API and draws
   the panels in the dashboard's layout (docs/dashboard.png, headless Chromium); Debian's
   Prometheus has no web UI, so its alerts are shown by the dashboard's ALERTS panel.

    python scripts/dashboard_snapshot.py [--model models/x.tar.gz] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import math
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "customs-assistant.json"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
COLORS = ["#73bf69", "#f2cc0c", "#5794f2", "#ff780a", "#f2495c", "#b877d9", "#8ab8ff",
          "#ffb357", "#96d98d", "#ca95e5"]
EXTRA = [[("what is the weather in lusaka", None), ("/out_of_scope", None)],
         [("talk to a person", None), ("stop", None)],
         [("talk to a person", None), ("Mary Banda", None),
          ("Where is my parcel from Durban?", None), ("0977123456", None)],
         [("what is the vat rate on imports", None), ("/feedback_helpful", None)],
         [("how do i get a tpin", None), ("/feedback_not_helpful", None)]]


def prometheus_config(stack, token_file: Path, rules: Path) -> str:
    def job(name: str, port: str) -> dict:
        return {"job_name": name, "metrics_path": "/metrics", "scrape_interval": "5s",
                "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
                "static_configs": [{"targets": [f"127.0.0.1:{port}"],
                                    "labels": {"instance": f"{name}1"}}]}

    return json.dumps({"global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
                       "rule_files": [str(rules)],
                       "scrape_configs": [job("rasa", stack.env["RASA_PORT"]),
                                          job("actions", stack.env["ACTION_PORT"])]})


def query_range(prom: str, expr: str, start: float, end: float, step: float) -> list[dict]:
    query = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{prom}/api/v1/query_range?{query}", timeout=30) as answer:
        data = json.loads(answer.read())
    return data["data"]["result"]


def legend(template: str, labels: dict) -> str:
    out = template
    for key, value in labels.items():
        out = out.replace("{{" + key + "}}", value)
    return out.replace("{{", "").replace("}}", "").strip() or "value"


def fmt(value: float, unit: str, decimals: int | None = None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if decimals == 0:
        return f"{value:.0f}"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "percentunit":
        return f"{value * 100:.1f} %"
    if unit == "reqps":
        return f"{value:.2f}/s"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


GRAFANA_COLORS = {"green": "#37872d", "red": "#c4162a", "orange": "#fa6400",
                  "blue": "#1f60c4"}


def threshold_color(steps: list[dict], value: float) -> str:
    """The colour of the last threshold step at or below `value` (Grafana's rule)."""
    color = steps[0]["color"]
    for step in steps[1:]:
        if not math.isnan(value) and value >= step["value"]:
            color = step["color"]
    return GRAFANA_COLORS.get(color, color)


def svg_chart(series: list[tuple[str, list[tuple[float, float]]]], start: float, end: float,
              step: float, unit: str, stacked: bool, width: int, height: int) -> str:
    left, bottom, top, right = 64, 22, 8, 10
    plot_w, plot_h = width - left - right, height - top - bottom
    if stacked:
        series = stack(series)
    values = [v for _, pts in series for _, v in pts if not math.isnan(v)]
    high = max(values) if values else 1.0
    high = high * 1.1 if high > 0 else 1.0

    def x(t: float) -> float:
        return left + (t - start) / (end - start) * plot_w

    def y(v: float) -> float:
        return top + plot_h - v / high * plot_h

    parts = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for i in range(5):
        v = high * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                     'stroke="#2c3235"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" '
                     f'class="axis">{html.escape(fmt(v, unit))}</text>')
    for i in range(6):
        t = start + (end - start) * i / 5
        label = time.strftime("%H:%M", time.localtime(t))
        parts.append(f'<text x="{x(t):.1f}" y="{height - 6}" text-anchor="middle" '
                     f'class="axis">{label}</text>')
    order = list(enumerate(series))
    for index, (_, points) in reversed(order) if stacked else order:
        color = COLORS[index % len(COLORS)]
        for run in gapless(points, step):
            line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
            if stacked:  # the area under each sum, the highest drawn first
                base = f"{x(run[-1][0]):.1f},{y(0):.1f} {x(run[0][0]):.1f},{y(0):.1f}"
                parts.append(f'<polygon fill="{color}" fill-opacity="0.35" stroke="none" '
                             f'points="{line} {base}"/>')
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                         f'points="{line}"/>')
    parts.append("</svg>")
    return "".join(parts)


def stack(series: list[tuple[str, list[tuple[float, float]]]]
          ) -> list[tuple[str, list[tuple[float, float]]]]:
    """Each series added on top of the ones before it (Grafana's "normal" stacking)."""
    totals: dict[float, float] = {}
    out = []
    for name, points in series:
        pts = []
        for t, v in points:
            totals[t] = totals.get(t, 0.0) + (0.0 if math.isnan(v) else v)
            pts.append((t, totals[t]))
        out.append((name, pts))
    return out


def gapless(points: list[tuple[float, float]], step: float) -> list[list[tuple[float, float]]]:
    """The runs of points without NaN (0/0) or a missing sample (a server not scraped), drawn
    as separate lines, as Grafana leaves a gap."""
    runs: list[list[tuple[float, float]]] = [[]]
    last = None
    for t, v in points:
        if math.isnan(v) or (last is not None and t - last > 1.5 * step):
            runs.append([])
        if not math.isnan(v):
            runs[-1].append((t, v))
        last = t
    return [run for run in runs if run]


def render(prom: str, start: float, end: float, out_html: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))
    step = max(5.0, (end - start) / 240)
    unit_px, row_px = 58, 42
    boxes = []
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        unit = panel["fieldConfig"]["defaults"].get("unit", "none")
        width, height = grid["w"] * unit_px - 8, grid["h"] * row_px - 8
        series = []
        for target in panel["targets"]:
            for result in query_range(prom, target["expr"], start, end, step):
                points = [(float(t), float(v)) for t, v in result["values"]]
                series.append((legend(target.get("legendFormat", ""), result["metric"]),
                               points))
        series.sort(key=lambda item: item[0])
        style = (f"left:{grid['x'] * unit_px}px;top:{grid['y'] * row_px}px;"
                 f"width:{width}px;height:{height}px")
        title = html.escape(panel["title"])
        if panel["type"] == "stat":
            cells = []
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            for name, points in series:
                last = next((v for _, v in reversed(points) if not math.isnan(v)), float("nan"))
                color = threshold_color(steps, last)
                shown = fmt(last, unit, panel["fieldConfig"]["defaults"].get("decimals"))
                cells.append(f'<div class="stat" style="background:{color}">'
                             f'<span>{html.escape(name)}</span><b>{shown}</b></div>')
            body = "".join(cells) or '<div class="stat">no data</div>'
            boxes.append(f'<div class="panel" style="{style}"><h3>{title}</h3>'
                         f'<div class="stats">{body}</div></div>')
            continue
        stacked = panel["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
        chart = svg_chart(series, start, end, step, unit, stacked, width - 16, height - 58)
        keys = "".join(f'<span><i style="background:{COLORS[i % len(COLORS)]}"></i>'
                       f"{html.escape(name)}</span>" for i, (name, _) in enumerate(series))
        boxes.append(f'<div class="panel" style="{style}"><h3>{title}</h3>{chart}'
                     f'<div class="legend">{keys}</div></div>')
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"]) * row_px
    span = time.strftime("%Y-%m-%d %H:%M", time.localtime(start)) + " to " + \
        time.strftime("%H:%M", time.localtime(end))
    out_html.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ background:#111217; color:#ccccdc; font:13px Inter, Helvetica, Arial, sans-serif;
       margin:0; padding:12px; }}
header {{ font-size:18px; margin:0 0 10px 4px; }} header small {{ color:#8e8e8e; font-size:12px; }}
.grid {{ position:relative; height:{bottom}px; width:{24 * unit_px}px; }}
.panel {{ position:absolute; background:#181b1f; border:1px solid #2c3235; border-radius:3px;
          padding:6px 8px; box-sizing:border-box; overflow:hidden; }}
.panel h3 {{ margin:0 0 4px; font-size:13px; font-weight:500; color:#d8d9da; }}
.axis {{ fill:#8e8e8e; font-size:10px; }}
.legend {{ font-size:11px; color:#ccccdc; }}
.legend span {{ margin-right:10px; white-space:nowrap; }}
.legend i {{ display:inline-block; width:12px; height:3px; margin-right:4px;
             vertical-align:middle; }}
.stats {{ display:flex; gap:6px; height:calc(100% - 24px); }}
.stat {{ flex:1; border-radius:3px; display:flex; flex-direction:column; justify-content:center;
         align-items:center; background:#2c3235; }}
.stat b {{ font-size:22px; color:#fff; }} .stat span {{ font-size:11px; color:#eee; }}
</style></head><body><header>Customs assistant <small>{html.escape(span)}: the dashboard's
queries on a real Prometheus scraping a bench run (drawn by scripts/dashboard_snapshot.py;
Grafana itself was not available)</small></header><div class="grid">{"".join(boxes)}</div>
</body></html>""", "utf-8")


def screenshot(url: str, out: Path, width: int, height: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out), full_page=True)
        browser.close()


def refusals(rest: str, stop: threading.Event) -> None:
    """A little bad traffic: malformed bodies, and now and then one sender who sends eight
    messages at once (MAX_PENDING_PER_SENDER is 3)."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.ops.launcher import rest_send

    def eager(sender: str) -> None:
        try:
            rest_send(rest, sender, "/greet", timeout=30)
        except OSError:  # 429
            pass

    n = 0
    with ThreadPoolExecutor(8) as pool:
        while not stop.wait(3):
            n += 1
            request = urllib.request.Request(rest, data=b"not json",
                                             headers={"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=10)
            except OSError:
                pass
            if n % 5 == 0:
                list(pool.map(eager, [f"eager-{n}"] * 8))


def main() -> int:
    from bot.ops import launcher
    from bot.training.bench.load import drive, scripts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model to serve (default: train as make run does)")
    parser.add_argument("--quick", action="store_true", help="shorter phases (a trial run)")
    args = parser.parse_args()
    if shutil.which("prometheus") is None:
        print("needs Prometheus: apt-get install prometheus")
        return 1
    if args.model:
        model = Path(args.model)
    else:
        from bot.training import trainer

        model, _ = trainer.train(trainer.build())
    phase = 15.0 if args.quick else 45.0
    tmp = Path(tempfile.mkdtemp(prefix="dashboard-"))
    token = secrets.token_urlsafe(24)
    overrides = {"METRICS_TOKEN": token, "SANIC_WORKERS": "2",
                 "REDIS_URL": "redis://127.0.0.1:6379/13", "RATE_LIMIT_PER_MINUTE": "30",
                 # All the load comes from one address: no per-client limit (the bench's own
                 # senders stay under the per-sender one; `refusals` trips that on purpose).
                 "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "0", "TICKETS_PER_CLIENT_PER_HOUR": "0",
                 "TICKETS_PER_CONTACT_PER_HOUR": "0", "TICKETS_PER_HOUR": "0"}
    convs = scripts() + EXTRA * 6
    with launcher.scratch_stack(model, tmp / "stack", overrides=overrides, web=False) as stack:
        token_file = tmp / "token"
        token_file.write_text(token, "utf-8")
        config = tmp / "prometheus.yml"
        config.write_text(prometheus_config(stack, token_file, RULES), "utf-8")
        prom_port = launcher.free_port()
        prom = f"http://127.0.0.1:{prom_port}"
        log = open(tmp / "prometheus.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(["prometheus", f"--config.file={config}",
                                 f"--storage.tsdb.path={tmp / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        rest = f"{stack.rasa_url}/webhooks/rest/webhook"
        stop = threading.Event()
        threading.Thread(target=refusals, args=(rest, stop), daemon=True).start()
        try:
            time.sleep(10)
            start = time.time() - 10
            for concurrency in (1, 8, 32):
                level = asyncio.run(drive(rest, concurrency, 10**6, phase, "dash", convs))
                print(f"{concurrency:>2} conversations: {level.messages} messages, "
                      f"{level.rate:.1f}/s, p95 {level.pct(95):.0f} ms, {level.errors} errors")
            print("action server stopped for 90 s")
            stack.stop_one("actions")
            asyncio.run(drive(rest, 4, 10**6, 90, "dash-down", convs))
            stack.start_actions()
            stack.wait_ready(timeout=60)
            level = asyncio.run(drive(rest, 8, 10**6, phase, "dash-after", convs))
            print(f"after: {level.messages} messages, p95 {level.pct(95):.0f} ms")
            time.sleep(12)
            end = time.time()
            page = tmp / "dashboard.html"
            render(prom, start, end, page)
            screenshot(page.as_uri(), ROOT / "docs" / "dashboard.png", 1420, 900)
            print("wrote docs/dashboard.png")
        finally:
            stop.set()
            proc.terminate()
            proc.wait(20)
            log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
