"""Choose bot/understanding/pipeline.py's STORY_* and STATEMENT_* constants on the
development stories and double questions.

    .venv/bin/python scripts/tune_wrapped.py

Runs eval/dev_wrapped.yml and eval/dev_compound.yml through the whole pipeline (latest trained
model) for a grid of the constants and scores right minus twice wrong. Never run it on
eval/realworld.yml.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import yaml

from bot.training import evaluate
from bot.understanding import build, pipeline
from bot.understanding.context import Context

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    model = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)[-1]
    parse = evaluate.parsers(evaluate.load_agent(model))["model"]
    items = yaml.safe_load((ROOT / "eval" / "dev_wrapped.yml").read_text("utf-8"))
    items += yaml.safe_load((ROOT / "eval" / "dev_compound.yml").read_text("utf-8"))
    understanding = build.current()

    async def outcomes() -> tuple[int, int, int]:
        right = wrong = 0
        for item in items:
            text, expect = item["text"], item["expect"]
            result = await understanding(text, parse, Context())
            got = result.get("compound") or [result["intent"]["name"]]
            want = [f"kb_{e}" for e in (expect if isinstance(expect, list) else [expect])]
            right += got == want
            wrong += got != want and any(g.startswith("kb_") and g not in want for g in got)
        return right, wrong, len(items) - right - wrong

    rows = []
    for score, margin, statement in itertools.product([0.6, 0.8, 1.0], [0.0, 0.2],
                                                      [0.4, 0.6, 0.8, 0.9, 0.95]):
        pipeline.STORY_MIN_SCORE, pipeline.STORY_MIN_MARGIN = score, margin
        pipeline.STATEMENT_MIN_CONFIDENCE = statement
        r, w, d = asyncio.run(outcomes())
        rows.append((r - 2 * w, r, w, d, score, margin, statement))
    print(f"{len(items)} development stories and double questions; best (right, wrong, "
          "declined, STORY_MIN_SCORE, STORY_MIN_MARGIN, STATEMENT_MIN_CONFIDENCE):")
    for _, r, w, d, *constants in sorted(rows, reverse=True)[:8]:
        print(f"  {r:3d} {w:3d} {d:3d}  {constants}")


if __name__ == "__main__":
    main()
