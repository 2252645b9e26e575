"""The benchmark's results as docs/performance.md (table, targets, plot), from results.json.

The figures are generated; the analysis below them ("Where the time goes", from `NOTES_HEADING`
to the end of docs/performance.md) is written by people and kept as it is on every render, so
profiling notes live in the docs, not in this code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.training.bench.load import LEVELS, MAX_SECONDS

TARGET_P95_MS_AT_8 = 150
TARGET_SPEEDUP = 2.5
NOTES_HEADING = "### Where the time goes"

COLUMNS = {
    "ours": "ours (config.yml)",
    "stock": "stock config, this runtime",
    "stock-rasa": "stock Rasa (`rasa init`)",
    "ours-2w": "ours, 2 workers",
    "stock-2w": "stock config, 2 workers",
}
RATIOS = (("ours", "stock"), ("ours", "stock-rasa"), ("ours-2w", "stock-2w"))

INTRO = """\
Measured by `make bench` on {date} ({cpus} CPU cores, everything on one machine, REST over \
loopback). Both configurations were trained in the same run on the same data; each level runs \
conversations back to back (hello, three held-out knowledge questions, a declaration lookup, \
goodbye), each conversation on a new connection, bounded by a message count and {seconds:.0f} s. \
Latency is per message, measured by the client.

- **ours**: config.yml on this project's runtime (`make run`: guarded REST channel, redacting \
SQLite tracker store, the fixes of bot/patches/speedups.py).
- **stock config, this runtime**: Rasa 3.6's default configuration (what `rasa init` trains: \
DIET, ResponseSelector, TED and UnexpecTED, 100 epochs each) on the same runtime: the two \
configurations compared like for like.
- **stock Rasa (`rasa init`)**: the same stock model on Rasa as `rasa init` sets it up: Rasa's \
REST channel, in-memory conversation store, none of this project's code in the Rasa server; the \
action server is the project's.
- **2 workers**: `SANIC_WORKERS=2` with the Redis lock store."""


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _measured(configs: dict) -> list[str]:
    return [n for n in COLUMNS if n in configs and "levels" in configs[n]]


def table(results: dict) -> str:
    """The side-by-side markdown table: every configuration run, then the ratios."""
    configs = results["configs"]
    names = _measured(configs)
    ratios = [(a, b) for a, b in RATIOS if a in names and b in names]
    rows = ["| | " + " | ".join(COLUMNS[n] for n in names) + " | "
            + " | ".join(f"{a} / {b}" for a, b in ratios) + " |",
            "|---|" + "---:|" * (len(names) + len(ratios))]

    def row(label: str, getter: Callable[[dict], float], digits: int = 0,
            better: str = "high") -> None:
        values = {}
        for n in names:
            try:
                values[n] = getter(configs[n])
            except (KeyError, IndexError, TypeError):
                values[n] = None
        cells = [_fmt(values[n], digits) if values[n] is not None else "–" for n in names]
        for a, b in ratios:
            x, y = values[a], values[b]
            ratio = (x / y if better == "high" else y / x) if x and y else None
            cells.append(f"{ratio:.2f}x" if ratio is not None else "–")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")

    row("training time (s)", lambda c: c["train_s"], 0, "low")
    for i, concurrency in enumerate(LEVELS):
        row(f"{concurrency} conv.: messages/s", lambda c, i=i: c["levels"][i]["msgs_per_s"], 1)
        for q in ("p50", "p95", "p99"):
            row(f"{concurrency} conv.: {q} latency (ms)",
                lambda c, i=i, q=q: c["levels"][i][f"{q}_ms"], 0, "low")
    row("peak RSS, Rasa server (MiB)", lambda c: c["rss_rasa_mib"], 0, "low")
    row("peak RSS, action server (MiB)", lambda c: c["rss_actions_mib"], 0, "low")
    row("start-up to ready (s)", lambda c: c["ready_s"], 1, "low")
    row("held-out in-scope answered right (%)", lambda c: c["accuracy"]["in_scope_correct"], 1)
    row("held-out out-of-scope declined (%)", lambda c: c["accuracy"]["oos_declined"], 1)
    errors = {name: sum(lv["errors"] for lv in configs[name]["levels"]) for name in names}
    rows.append("")
    rows.append("Errors (non-200, empty or wrong answer): "
                + ", ".join(f"{k} {v}" for k, v in errors.items()) + ".")
    return "\n".join(rows)


def verdict(results: dict) -> str:
    """Each target, met or MISSED, with the figure that decides it."""
    configs = results["configs"]
    i8 = LEVELS.index(8)
    lines = []
    for name in ("ours", "ours-2w"):
        if name in configs and "levels" in configs[name]:
            p95 = configs[name]["levels"][i8]["p95_ms"]
            lines.append(f"- p95 at 8 conversations, {COLUMNS[name]}: {p95:.0f} ms (target <= "
                         f"{TARGET_P95_MS_AT_8}: "
                         f"{'met' if p95 <= TARGET_P95_MS_AT_8 else 'MISSED'}).")
    for ours, stock in RATIOS:
        if not all(n in configs and "levels" in configs[n] for n in (ours, stock)):
            continue
        speedups = [a["msgs_per_s"] / b["msgs_per_s"] for a, b in
                    zip(configs[ours]["levels"], configs[stock]["levels"], strict=True)
                    if b["msgs_per_s"]]
        low = min(speedups) if speedups else float("nan")
        lines.append(f"- messages/s, {COLUMNS[ours]} against {COLUMNS[stock]}: at least "
                     f"{low:.2f}x over all levels (target >= {TARGET_SPEEDUP}: "
                     f"{'met' if low >= TARGET_SPEEDUP else 'MISSED'}).")
    return "Targets:\n\n" + "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    """Messages per second and p95 latency per level, one bar per configuration (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = {n: c for n, c in results["configs"].items() if "levels" in c}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.8 / max(len(configs), 1)
    for k, (name, conf) in enumerate(configs.items()):
        xs = [i + k * width for i in range(len(LEVELS))]
        left.bar(xs, [lv["msgs_per_s"] for lv in conf["levels"]], width, label=name)
        right.bar(xs, [lv["p95_ms"] for lv in conf["levels"]], width, label=name)
    for axis, title in ((left, "messages per second"), (right, "p95 latency (ms)")):
        axis.set_xticks([i + width * (len(configs) - 1) / 2 for i in range(len(LEVELS))])
        axis.set_xticklabels([f"{c} conv." for c in LEVELS])
        axis.set_title(title)
    right.axhline(TARGET_P95_MS_AT_8, color="grey", linestyle="--", linewidth=1)
    left.legend()
    fig.suptitle(f"make bench, {results['date']}, {results['cpus']} CPUs, REST on loopback")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def hand_written_notes(existing: str) -> str:
    """The people-written part of a performance.md: from `NOTES_HEADING` to the end, or ''."""
    at = existing.find(NOTES_HEADING)
    return existing[at:] if at >= 0 else ""


def markdown(results: dict, notes: str = "") -> str:
    """docs/performance.md: the generated figures, then the hand-written `notes` unchanged."""
    parts = ["## Performance", "",
             INTRO.format(date=results["date"], cpus=results["cpus"], seconds=MAX_SECONDS), "",
             table(results), "", verdict(results), "",
             "![messages per second and p95 latency](bench.png)", ""]
    return "\n".join([*parts, notes] if notes else parts)


def write_docs(results: dict, docs: Path) -> str:
    """Rewrite docs/performance.md and docs/bench.png, keeping the notes; return the text."""
    page = docs / "performance.md"
    notes = hand_written_notes(page.read_text("utf-8")) if page.exists() else ""
    docs.mkdir(parents=True, exist_ok=True)
    plot(results, docs / "bench.png")
    text = markdown(results, notes)
    page.write_text(text, "utf-8")
    return text
