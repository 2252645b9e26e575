"""Choose bot/understanding/pipeline.py's STORY_* constants on the development stories.

    .venv/bin/python scripts/tune_wrapped.py

Runs eval/dev_wrapped.yml through the whole pipeline (latest trained model) for a grid of the
constants and scores right minus twice wrong. Never run it on eval/realworld.yml.
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
    understanding = build.current()

    async def outcomes() -> tuple[int, int, int]:
        right = wrong = 0
        for item in items:
            text, expect = item["text"], item["expect"]
            result = await understanding(text, parse, Context())
            name = result["intent"]["name"]
            right += name == f"kb_{expect}"
            wrong += name.startswith("kb_") and name != f"kb_{expect}"
        return right, wrong, len(items) - right - wrong

    rows = []
    for score, margin in itertools.product([0.5, 0.6, 0.7, 0.8, 0.9, 1.0], [0.0, 0.1, 0.2, 0.3]):
        pipeline.STORY_MIN_SCORE, pipeline.STORY_MIN_MARGIN = score, margin
        r, w, d = asyncio.run(outcomes())
        rows.append((r - 2 * w, r, w, d, score, margin))
    print(f"{len(items)} development stories; best (right, wrong, declined, score, margin):")
    for _, r, w, d, score, margin in sorted(rows, reverse=True)[:8]:
        print(f"  {r:3d} {w:3d} {d:3d}  STORY_MIN_SCORE={score} STORY_MIN_MARGIN={margin}")


if __name__ == "__main__":
    main()
