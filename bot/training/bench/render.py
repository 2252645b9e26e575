"""The benchmark's results as docs/performance.md (table, targets, plot), from results.json.

The figures are generated; the analysis below them ("Where the time goes", from `NOTES_HEADING`
to the end of docs/performance.md) is written by people and kept as it is on every render, so
profiling notes live in the docs, not in this code.
"""

from __future__ import annotations

import statistics
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


TARGET_TRAIN_S_AT_500 = 120
TARGET_LONG_RATIO = 1.5
CHECKPOINTS = ("1", "10", "100", "500")


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "–"


def growth_section(growth: dict) -> str:
    """Cost growth: training and turn latency by knowledge-base size, one long conversation."""
    sizes, long = growth.get("sizes", {}), growth.get("long", {})
    lines = [GROWTH_HEADING, "",
             f"Measured by `make bench` on {growth.get('date', '?')}, in one run. Sizes beyond the "
             "real 52 entries add CLINC150 intents as entries of 15 examples "
             "(bot/training/bench/growth_load.py). *Before*: scikit-learn's fit "
             "(`fast_fit: false`) under plain `rasa train`, and the whole session read back at "
             "every turn (`TRACKER_WINDOW_TURNS=0`); *after*: what `make train` and `make run` "
             "do now.", "",
             "| entries | examples | training before (s) | training after (s) | before / after "
             "| turn latency, median of 30 (ms) | peak RSS, Rasa (MiB) |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for size, e in sizes.items():
        before, after = e.get("train_s_before"), e.get("train_s_after")
        lines.append(f"| {size} | {e.get('examples', '–')} | {_fmt(before) if before else '–'} "
                     f"| {_fmt(after) if after else '–'} | {_ratio(before, after)} "
                     f"| {_fmt(e.get('turn_ms', 0), 1)} | {e.get('rss_rasa_mib', '–')} |")
    edits = [f"{int(size) + 1} entries right after the {size}-entry training, from its "
             f"training cache (bot/nlu/vector_cache.py, warm_start.py): "
             f"{_fmt(e['train_s_edit'])} s" for size, e in sizes.items() if e.get("train_s_edit")]
    if edits:
        lines += ["", "Training again after an edit: " + "; ".join(edits) + "."]
    separate = [f"{size} entries before: trained alone after the run, at {e[key]}"
                for size, e in sizes.items() for key in ("before_run_separately",) if key in e]
    if separate:
        lines += ["", "(" + "; ".join(separate) + ": over a quarter of an hour, too long for "
                  "the bench itself.)"]
    first = next(iter(sizes.values()), {})
    acc = [(w, first.get(f"accuracy_{w}")) for w in ("before", "after")]
    acc_text = ", ".join(f"{w} {a['in_scope_correct']:.1f} % in scope right, "
                         f"{a['oos_declined']:.1f} % out of scope declined"
                         for w, a in acc if a)
    if acc_text:
        lines += ["", "Held-out accuracy of the 52-entry model (`make eval`'s measure): "
                  f"{acc_text}."]
    if long:
        lines += ["", "One conversation of 500 turns (52 entries), latency at turn t (ms, median "
                  "of the turns around t; turn 1: median of five new conversations):", "",
                  "| | " + " | ".join(f"turn {c}" for c in CHECKPOINTS)
                  + " | turn 500 / turn 10 | peak RSS, Rasa (MiB) |",
                  "|---|" + "---:|" * (len(CHECKPOINTS) + 2)]
        for when in ("before", "after"):
            run = long.get(when)
            if not run:
                continue
            at = run["latency_ms"]
            lines.append(f"| {when} | " + " | ".join(_fmt(at.get(c, 0), 1) for c in CHECKPOINTS)
                         + f" | {run['ratio_last_to_10']:.2f}x | {run['rss_rasa_mib']} |")
        if long.get("before") and long.get("after"):
            b, a = long["before"]["latency_ms"]["500"], long["after"]["latency_ms"]["500"]
            lines.append(f"\nTurn 500, before / after: {b / a:.1f}x.")
    lines += ["", "Targets:", ""]
    after_500 = sizes.get("500", {}).get("train_s_after")
    edit_500 = sizes.get("500", {}).get("train_s_edit")
    if after_500:
        met = "met" if after_500 <= TARGET_TRAIN_S_AT_500 else "MISSED"
        lines.append(f"- training 500 entries from scratch: {after_500:.0f} s (target <= "
                     f"{TARGET_TRAIN_S_AT_500}: {met}).")
    if edit_500:
        met = "met" if edit_500 <= TARGET_TRAIN_S_AT_500 else "MISSED"
        lines.append(f"- training again after adding a 501st entry (the training cache of the "
                     f"500-entry training): {edit_500:.0f} s (target <= "
                     f"{TARGET_TRAIN_S_AT_500}: {met}).")
    if long.get("after"):
        ratio = long["after"]["ratio_last_to_10"]
        met = "met" if ratio <= TARGET_LONG_RATIO else "MISSED"
        lines.append(f"- turn 500 / turn 10 of one conversation: {ratio:.2f}x (target <= "
                     f"{TARGET_LONG_RATIO}: {met}).")
    lines += ["", "![training time by size, turn latency along a conversation](growth.png)", ""]
    return "\n".join(lines)


def growth_plot(growth: dict, path: Path) -> None:
    """Training seconds by size (before, after) and latency by turn (before, after) (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    sizes = growth.get("sizes", {})
    for when, style in (("before", "o--"), ("after", "o-")):
        points = [(int(s), e[f"train_s_{when}"]) for s, e in sizes.items()
                  if e.get(f"train_s_{when}")]
        if points:
            left.plot(*zip(*points, strict=True), style, label=when)
    left.axhline(TARGET_TRAIN_S_AT_500, color="grey", linestyle=":", linewidth=1)
    left.set_xlabel("knowledge entries")
    left.set_title("training time (s)")
    left.legend()
    for when, run in growth.get("long", {}).items():
        values = run.get("all_ms") or []
        if values:
            window = 9
            smooth = [statistics.median(values[max(0, i - window):i + window + 1])
                      for i in range(len(values))]
            right.plot(range(1, len(values) + 1), smooth, label=when)
    right.set_xlabel("turn of one conversation")
    right.set_title("turn latency (ms, running median)")
    right.legend()
    fig.suptitle(f"make bench, cost growth, {growth.get('date', '')}")
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
    if results.get("growth"):
        parts += [growth_section(results["growth"]), ""]
    return "\n".join([*parts, notes] if notes else parts)


GROWTH_HEADING = "### Cost growth"


def write_growth_docs(growth: dict, docs: Path) -> str:
    """Only the cost-growth section of docs/performance.md (and docs/growth.png), the rest of
    the page kept as it is (`python -m bot bench --growth`); return the section."""
    page = docs / "performance.md"
    text = page.read_text("utf-8") if page.exists() else ""
    section = growth_section(growth)
    end = text.find(NOTES_HEADING)
    end = len(text) if end < 0 else end
    start = text.find(GROWTH_HEADING)
    start = end if start < 0 or start > end else start
    docs.mkdir(parents=True, exist_ok=True)
    growth_plot(growth, docs / "growth.png")
    page.write_text(text[:start] + section + "\n" + text[end:], "utf-8")
    return section


def write_docs(results: dict, docs: Path) -> str:
    """Rewrite docs/performance.md and docs/bench.png, keeping the notes; return the text."""
    if not any("levels" in c for c in results.get("configs", {}).values()):
        # Only the cost-growth section was run: the load-test figures on the page stay.
        return write_growth_docs(results["growth"], docs) if results.get("growth") else ""
    page = docs / "performance.md"
    notes = hand_written_notes(page.read_text("utf-8")) if page.exists() else ""
    docs.mkdir(parents=True, exist_ok=True)
    plot(results, docs / "bench.png")
    if results.get("growth"):
        growth_plot(results["growth"], docs / "growth.png")
    text = markdown(results, notes)
    page.write_text(text, "utf-8")
    return text
