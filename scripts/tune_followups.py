"""Choose bot/understanding/context.py's constants on the development follow-ups.

    .venv/bin/python scripts/tune_followups.py

Parses each pair of eval/dev_followups.yml and dev_followups2.yml with the latest trained
model (the follow-up alone and after the previous entry's question), then scores every
combination of the constants: right minus twice wrong, because answering wrongly is worse than
declining. Never run it on eval/realworld.yml: that set measures the result.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import yaml

from bot.training import evaluate
from bot.understanding import build
from bot.understanding import context as ctx

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    model = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)[-1]
    parse = evaluate.parsers(evaluate.load_agent(model))["model"]
    items = [item for name in ("dev_followups.yml", "dev_followups2.yml")
             for item in yaml.safe_load((ROOT / "eval" / name).read_text("utf-8"))]

    async def readings() -> list:
        rows = []
        for first, follow, expect in items:
            previous = (await parse(first))["intent"]["name"].removeprefix("kb_")
            context = build.context_for(previous)
            alone = await parse(follow)
            combined = await parse(f"{context.previous_question} {follow}")
            rows.append((context, ctx.entry_scores(alone.get("intent_ranking") or []),
                         ctx.entry_scores(combined.get("intent_ranking") or []), expect))
        return rows

    rows = asyncio.run(readings())

    def run(min_score: float, margin: float, bonus: float, malus: float) -> tuple[int, int, int]:
        ctx.MIN_SCORE, ctx.MIN_MARGIN, ctx.RELATED_BONUS, ctx.SAME_ENTRY_MALUS = (
            min_score, margin, bonus, malus)
        outcomes = [ctx.resolve(a, b, c).entry for c, a, b, _ in rows]
        right = sum(o == e for o, (*_, e) in zip(outcomes, rows, strict=True))
        wrong = sum(o is not None and o != e for o, (*_, e) in zip(outcomes, rows, strict=True))
        return right, wrong, len(rows) - right - wrong

    grid = itertools.product([0.3, 0.4, 0.5, 0.6], [0.0, 0.05, 0.1, 0.15, 0.2],
                             [0.0, 0.1, 0.15, 0.25], [0.3, 1.0])
    results = sorted(((r - 2 * w, r, w, d, combo) for combo in grid
                      for r, w, d in [run(*combo)]), reverse=True)
    print(f"{len(rows)} development follow-ups; best (right, wrong, declined, constants):")
    for _, r, w, d, combo in results[:8]:
        print(f"  {r:3d} {w:3d} {d:3d}  MIN_SCORE, MIN_MARGIN, RELATED_BONUS, MALUS = {combo}")


if __name__ == "__main__":
    main()
