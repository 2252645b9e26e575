"""Choose bot/understanding/pipeline.py's STORY_* and STATEMENT_* constants on the
development stories, double questions and near misses.

    PYTHONPATH=. .venv/bin/python scripts/tune_wrapped.py   # PYTHONPATH: this checkout's bot

Runs eval/dev_wrapped.yml, eval/dev_compound.yml and eval/dev_nearmiss.yml (domestic tax and
other agencies' questions, plain and inside stories, and customs questions worded like them)
through the whole pipeline (latest trained model) for a grid of the constants and scores right
minus twice wrong, as `make eval` counts them. Never run it on eval/realworld.yml.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import yaml

from bot.training import evaluate, realworld
from bot.understanding import build, pipeline
from bot.understanding.context import Context

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    model = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)[-1]
    parse = evaluate.parsers(evaluate.load_agent(model))["model"]
    items = yaml.safe_load((ROOT / "eval" / "dev_wrapped.yml").read_text("utf-8"))
    items += yaml.safe_load((ROOT / "eval" / "dev_compound.yml").read_text("utf-8"))
    items += yaml.safe_load((ROOT / "eval" / "dev_nearmiss.yml").read_text("utf-8"))
    understanding = build.current()

    async def outcomes() -> tuple[int, int, int]:
        right = wrong = 0
        for item in items:
            text, expect = item["text"], item["expect"]
            result = await understanding(text, parse, Context())
            outcome = realworld.outcome_of_parse(result, expect)
            right += outcome == "right"
            wrong += outcome == "wrong"
        return right, wrong, len(items) - right - wrong

    current = [pipeline.STORY_MIN_SCORE, pipeline.STORY_MIN_MARGIN,
               pipeline.STATEMENT_MIN_CONFIDENCE]
    rows = []
    for score, margin, statement in itertools.product([0.6, 0.8, 1.0], [0.0, 0.2],
                                                      [0.4, 0.6, 0.8, 0.9, 0.95]):
        pipeline.STORY_MIN_SCORE, pipeline.STORY_MIN_MARGIN = score, margin
        pipeline.STATEMENT_MIN_CONFIDENCE = statement
        r, w, d = asyncio.run(outcomes())
        rows.append((r - 2 * w, r, w, d, score, margin, statement))
    print(f"{len(items)} development stories, double questions and near misses; best (right, "
          "wrong, declined, STORY_MIN_SCORE, STORY_MIN_MARGIN, STATEMENT_MIN_CONFIDENCE):")
    for _, r, w, d, *constants in sorted(rows, reverse=True)[:8]:
        print(f"  {r:3d} {w:3d} {d:3d}  {constants}")
    for _, r, w, d, *constants in rows:
        if constants == current:
            print(f"  {r:3d} {w:3d} {d:3d}  {constants} (pipeline.py now)")


if __name__ == "__main__":
    main()
