"""The benchmark's parts, without the 20-minute run: the load driver against a stub REST
channel, percentiles, process-group memory, the rendered docs and the shared train command."""

from __future__ import annotations

import asyncio
import json
import math
import os
from pathlib import Path

import pytest

from bot.ops import bench as run
from bot.ops import bench_checkout
from bot.training.bench import load, memory, render
from bot.training.trainer import Build, rasa_train_command

NOTES = "### Where the time goes\n\nHand-written analysis, kept as it is.\n"


def level(concurrency: int, rate: float, p95: float, errors: int = 0) -> dict:
    return {"concurrency": concurrency, "messages": 100, "errors": errors, "seconds": 10.0,
            "msgs_per_s": rate, "p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 1.2}


def config(rates: tuple[float, ...], p95s: tuple[float, ...], train_s: float) -> dict:
    return {"train_s": train_s, "ready_s": 10.0, "rss_rasa_mib": 800, "rss_actions_mib": 60,
            "accuracy": {"in_scope_correct": 97.3, "oos_declined": 95.2, "parse_per_s": 50.0},
            "levels": [level(c, r, p) for c, r, p in zip(load.LEVELS, rates, p95s, strict=True)]}


RESULTS = {"date": "2026-11-29", "cpus": 2, "configs": {
    "ours": config((70.0, 114.0, 113.0), (27.0, 113.0, 462.0), 47.0),
    "stock": config((56.0, 68.0, 71.0), (28.0, 175.0, 628.0), 284.0),
}}


def test_percentiles_are_nearest_rank():
    lv = load.Level(8, messages=10, seconds=2.0, latencies_ms=[float(n) for n in range(10, 0, -1)])
    assert (lv.pct(50), lv.pct(95), lv.pct(99), lv.pct(0)) == (5.0, 10.0, 10.0, 1.0)
    assert lv.rate == 5.0
    assert lv.summary() == {"concurrency": 8, "messages": 10, "errors": 0, "seconds": 2.0,
                            "msgs_per_s": 5.0, "p50_ms": 5.0, "p95_ms": 10.0, "p99_ms": 10.0}
    assert math.isnan(load.Level(1).pct(50))


def test_scripts_are_deterministic_conversations_with_the_lookup():
    first = load.scripts()
    assert first == load.scripts() and len(first) == 64
    assert all(s[0] == ("hello", None) and s[4] == load.LOOKUP and len(s) == 6 for s in first)


async def _drive_stub(answer: dict[str, list], concurrency: int, budget: int) -> tuple:
    from aiohttp import web

    senders = set()

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        senders.add(body["sender"])
        return web.json_response(answer.get(body["message"], [{"text": "ok"}]))

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    script = [("hello", None), ("status please", "assessed"), ("bye", None)]
    try:
        lv = await load.drive(f"http://127.0.0.1:{port}/webhooks/rest/webhook", concurrency,
                              budget, 10.0, "test", convs=[script])
    finally:
        await runner.cleanup()
    return lv, senders


def test_the_driver_stops_at_the_budget_and_counts_wrong_answers():
    right = {"status please": [{"text": "Your declaration is ASSESSED."}]}
    lv, senders = asyncio.run(_drive_stub(right, concurrency=2, budget=12))
    assert (lv.messages, lv.errors, len(lv.latencies_ms)) == (12, 0, 12)
    assert len(senders) == 4  # 2 users x 2 conversations of 3 messages: one sender each
    wrong = {"status please": [{"text": "unavailable"}], "bye": []}
    lv, _ = asyncio.run(_drive_stub(wrong, concurrency=1, budget=6))
    assert (lv.messages, lv.errors) == (6, 4)  # the lookup without its word, the empty reply


def test_memory_of_this_process_group_is_measured():
    group = os.getpgid(0)
    assert memory.group_rss_mib(group) > 1
    with memory.PeakMemory({"me": group}, every=0.01) as peak:
        pass
    assert peak.peak["me"] > 1


def test_table_and_verdict_compare_the_configurations():
    table = render.table(RESULTS)
    assert table.splitlines()[0] == ("| | ours (config.yml) | stock config, this runtime | "
                                     "ours / stock |")
    assert "| training time (s) | 47 | 284 | 6.04x |" in table
    assert "| 8 conv.: messages/s | 114.0 | 68.0 | 1.68x |" in table
    assert table.endswith("Errors (non-200, empty or wrong answer): ours 0, stock 0.")
    verdict = render.verdict(RESULTS)
    assert "- p95 at 8 conversations, ours (config.yml): 113 ms (target <= 150: met)." in verdict
    assert "at least 1.25x over all levels (target >= 2.5: MISSED)." in verdict


def test_rendering_keeps_the_hand_written_notes(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "performance.md").write_text("## Performance\n\nold figures\n\n" + NOTES)
    text = render.write_docs(RESULTS, docs)
    assert (docs / "performance.md").read_text() == text
    assert "old figures" not in text and text.endswith("(bench.png)\n\n" + NOTES)
    assert "bounded by a message count and 45 s." in text
    assert (docs / "bench.png").read_bytes()[:4] == b"\x89PNG"
    assert render.markdown(RESULTS).endswith("(bench.png)\n")  # no notes yet: none invented


def test_render_command_reads_the_last_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run, "BENCH_DIR", tmp_path / "bench")
    monkeypatch.setattr(run, "DOCS", tmp_path / "docs")
    assert run.main(["--render"]) == 1
    assert "run `make bench` first" in capsys.readouterr().out
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "results.json").write_text(__import__("json").dumps(RESULTS))
    assert run.main(["--render"]) == 0
    assert "| training time (s) | 47 | 284 | 6.04x |" in capsys.readouterr().out
    assert (tmp_path / "docs" / "performance.md").exists()


@pytest.mark.parametrize("force", [False, True])
def test_bench_and_make_train_share_the_train_command(tmp_path, force):
    b = Build(report=None, rasa_dir=tmp_path / "rasa", fingerprint="abc", config=Path("c.yml"))
    cmd = rasa_train_command(b, tmp_path / "out", "stock", config=Path("stock.yml"), force=force)
    assert cmd[1:4] == ["-m", "bot.training.rasa_train", "train"]
    assert cmd[cmd.index("--config") + 1] == "stock.yml"
    assert cmd[cmd.index("--domain") + 1] == str(tmp_path / "rasa" / "domain")
    assert cmd[cmd.index("--fixed-model-name") + 1] == "stock"
    assert cmd[cmd.index("--out") + 1] == str(tmp_path / "out")
    assert ("--force" in cmd) is force
    assert rasa_train_command(b, tmp_path, "abc")[cmd.index("--config") + 1] == "c.yml"


GROWTH = {
    "date": "2026-12-01 11:49",
    "sizes": {"52": {"examples": 830, "train_s_before": 72.0, "train_s_after": 42.0,
                     "turn_ms": 17.1, "rss_rasa_mib": 752,
                     "accuracy_before": {"in_scope_correct": 96.5, "oos_declined": 97.6},
                     "accuracy_after": {"in_scope_correct": 96.9, "oos_declined": 97.6}},
              "500": {"examples": 7550, "train_s_after": 358.0, "train_s_edit": 97.0,
                      "turn_ms": 19.3, "rss_rasa_mib": 831}},
    "long": {w: {"latency_ms": {"1": 12, "10": 12.0, "100": a, "500": b},
                 "ratio_last_to_10": b / 12.0, "rss_rasa_mib": 760, "all_ms": [12.0] * 20}
             for w, a, b in (("before", 43.0, 204.0), ("after", 19.0, 16.0))},
}


def test_growth_section_states_ratios_and_targets():
    text = render.growth_section(GROWTH)
    assert "| 52 | 830 | 72 | 42 | 1.71x |" in text
    assert "| 500 | 7550 | – | 358 | – |" in text
    assert "training 500 entries from scratch: 358 s (target <= 120: MISSED)" in text
    assert "after adding a 501st entry (the training cache of the 500-entry training): 97 s " \
        "(target <= 120: met)" in text
    assert "501 entries right after the 500-entry training, from its training cache" in text
    assert "turn 500 / turn 10 of one conversation: 1.33x (target <= 1.5: met)" in text
    assert "Turn 500, before / after: 12.8x." in text
    assert "before 96.5 % in scope right" in text and "after 96.9 %" in text


def test_growth_only_results_rewrite_only_the_growth_section(tmp_path):
    page = tmp_path / "performance.md"
    page.write_text("## Performance\n\n| the load-test table |\n\n"
                    f"{render.NOTES_HEADING}\n\nnotes\n", "utf-8")
    results = {"date": "x", "cpus": 2, "configs": {}, "growth": GROWTH}
    for _ in range(2):  # a second render replaces the section, it does not add another
        render.write_docs(results, tmp_path)
    text = page.read_text("utf-8")
    assert text.startswith("## Performance\n\n| the load-test table |")
    assert text.count(render.GROWTH_HEADING) == 1 and text.endswith("notes\n")
    assert text.index(render.GROWTH_HEADING) < text.index(render.NOTES_HEADING)
    assert (tmp_path / "growth.png").stat().st_size > 0 and not (tmp_path / "bench.png").exists()


def test_the_long_conversation_says_stop_when_the_hand_over_form_starts(monkeypatch):
    from bot.content.live import get_knowledge
    from bot.training.bench import long_conversation as lc

    ask_name = get_knowledge().message("handoff_ask_name")
    sent: list[str] = []

    def fake_send(url, sender, text, timeout=60):
        sent.append(text)
        if len(sent) == 3:  # the bot gives up and starts the hand-over form
            return [{"text": "It's best to ask a person."}, {"text": ask_name}]
        return [{"text": "an answer"}]

    monkeypatch.setattr(lc, "send", fake_send)
    conv = lc.run("http://unused", "s", 6)
    script = lc.messages(6)
    assert sent == script[:3] + ["stop"] + script[3:5]
    assert len(conv.latencies_ms) == 6 and conv.errors == 0


STUB_LAUNCHER = '''
import json, os, subprocess
from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]
def environment(overrides):
    return {**os.environ, "DEFAULTED": "by the checkout", **overrides}
class Stack:
    def __init__(self, model, env, log_dir, run_dir):
        self.env, self.procs = env, {}
    def start_actions(self):
        self.procs["actions"] = subprocess.Popen(["sleep", "60"], start_new_session=True)
    def start_rasa(self):
        self.procs["rasa"] = subprocess.Popen(["sleep", "60"], start_new_session=True)
    def wait_ready(self, timeout):
        seen = [self.env[k] for k in ("PYTHONPATH", "DEFAULTED", "RASA_PORT")]
        (ROOT / "seen.json").write_text(json.dumps(seen + ["TRACKER_DB_URL" in self.env]))
    def stop(self):
        for proc in self.procs.values():
            proc.kill()
            proc.wait()
        (ROOT / "stopped").write_text("by the checkout's launcher")
'''


def test_another_checkout_is_started_by_its_own_launcher_and_stopped_here(tmp_path, monkeypatch):
    """`--against-checkout`: that checkout's code, environment defaults and launcher start its
    servers; they outlive the starter and this tree stops their process groups."""
    (tmp_path / "bot" / "ops").mkdir(parents=True)
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "bot" / "__main__.py").write_text("")  # `python -m bot db init`: nothing to do
    (tmp_path / "bot" / "ops" / "__init__.py").write_text("")
    (tmp_path / "bot" / "ops" / "launcher.py").write_text(STUB_LAUNCHER)
    monkeypatch.setenv("TRACKER_DB_URL", "sqlite:///elsewhere.db")
    stack = bench_checkout.CheckoutStack(tmp_path, tmp_path / "model.tar.gz", {"RASA_PORT": "5999"},
                              ["TRACKER_DB_URL"], tmp_path / "home")
    assert stack.rasa_url == "http://127.0.0.1:5999"
    try:
        stack.start_actions()
        stack.start_rasa()
        stack.wait_ready(timeout=30)
        assert json.loads((tmp_path / "seen.json").read_text()) == [
            str(tmp_path), "by the checkout", "5999", False]
        pids = {name: server.pid for name, server in stack.procs.items()}
        assert set(pids) == {"rasa", "actions"} and stack.dead() == []
        assert all(os.getpgid(pid) == pid for pid in pids.values())  # own groups: PeakMemory
    finally:
        stack.stop()
    assert not any(map(bench_checkout._alive, pids.values()))
    assert (tmp_path / "stopped").exists()  # stopped by its own launcher, not killed from here


def test_against_checkout_refuses_this_tree(capsys, tmp_path):
    assert bench_checkout.against_checkout(run.ROOT, 1, run.run_stack, tmp_path) == 2
    assert "another checkout" in capsys.readouterr().out
