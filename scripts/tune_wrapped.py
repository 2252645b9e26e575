"""Choose bot/understanding/pipeline.py's STORY_*, STATEMENT_* and WHOLE_SURE constants on the
development stories, double questions, short messages and near misses, and check them on sets
never tuned on.

    PYTHONPATH=. .venv/bin/python scripts/tune_wrapped.py   # PYTHONPATH: this checkout's bot

Tunes on eval/dev_wrapped.yml, dev_wrapped4.yml, dev_wrapped5.yml, dev_compound.yml,
dev_compound2.yml, dev_compound4.yml, dev_compound5.yml, dev_one_word.yml and dev_nearmiss.yml
(domestic tax and other agencies' questions, plain and inside stories, and customs questions
worded like them): each through the whole pipeline (latest trained model) for a grid of the
constants, scored right minus twice wrong, as `make eval` counts them. Then prints right /
wrong / declined per file, for the model alone and the bot with the constants pipeline.py has
now, including the check sets (dev_wrapped2.yml, dev_wrapped3.yml, dev_wrapped6.yml,
dev_compound3.yml, dev_compound6.yml, dev_one_word2.yml): a story or a short message the bot
reads worse than the model alone shows there. dev_*5.yml, dev_*6.yml and dev_one_word*.yml
were written fresh for issue #12, before the code was changed for them. Never run it on
eval/realworld.yml.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from pathlib import Path
from typing import Any

import yaml

from bot.training import evaluate, realworld
from bot.understanding import build, pipeline
from bot.understanding.context import Context

ROOT = Path(__file__).resolve().parent.parent
TUNE = ("dev_wrapped.yml", "dev_wrapped4.yml", "dev_wrapped5.yml", "dev_compound.yml",
        "dev_compound2.yml", "dev_compound4.yml", "dev_compound5.yml", "dev_one_word.yml",
        "dev_nearmiss.yml")
CHECK = ("dev_wrapped2.yml", "dev_wrapped3.yml", "dev_wrapped6.yml", "dev_compound3.yml",
         "dev_compound6.yml", "dev_one_word2.yml")
GRID = {
    "STORY_MIN_SCORE": [0.6, 0.8, 1.0],
    "STORY_MIN_MARGIN": [0.0, 0.2, 0.4],
    "STATEMENT_MIN_CONFIDENCE": [0.6, 0.8, 0.9, 0.95],
    "WHOLE_SURE": [0.8, 0.9, 1.01],  # 1.01: never
    "STORY_OWNS": [0.6, 0.8, 0.9, 0.95, 1.01],  # 1.01: an answering whole always stands
}


def load(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((ROOT / "eval" / name).read_text("utf-8"))


def print_each_alone(rows: list[tuple[int, int, int, int, list[float]]],
                     current: list[float]) -> None:
    """Each constant's values with the others as pipeline.py has them."""
    print("each constant alone, the others as pipeline.py has them (right, wrong, declined):")
    for i, name in enumerate(GRID):
        cells = [f"{values[i]}: {r}/{w}/{d}" for _, r, w, d, values in rows
                 if all(v == c for j, (v, c) in enumerate(zip(values, current, strict=True))
                        if j != i)]
        print(f"  {name:25s} {'  '.join(cells)}")


def main() -> None:
    model = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)[-1]
    model_alone = evaluate.parsers(evaluate.load_agent(model))["model"]
    seen: dict[str, dict[str, Any]] = {}

    async def parse(text: str) -> dict[str, Any]:
        if text not in seen:  # the model is the same for every point of the grid
            seen[text] = await model_alone(text)
        return copy.deepcopy(seen[text])

    understanding = build.current()

    async def outcomes(items: list[dict[str, Any]], alone: bool = False) -> tuple[int, int, int]:
        right = wrong = 0
        for item in items:
            text, expect = item["text"], item["expect"]
            result = await (parse(text) if alone else understanding(text, parse, Context()))
            outcome = realworld.outcome_of_parse(result, expect)
            right += outcome == "right"
            wrong += outcome == "wrong"
        return right, wrong, len(items) - right - wrong

    tuning = [item for name in TUNE for item in load(name)]
    current = [getattr(pipeline, name) for name in GRID]
    rows = []
    for values in itertools.product(*GRID.values()):
        for name, value in zip(GRID, values, strict=True):
            setattr(pipeline, name, value)
        r, w, d = asyncio.run(outcomes(tuning))
        rows.append((r - 2 * w, r, w, d, list(values)))
    print(f"{len(tuning)} development stories, double questions and near misses; best (right, "
          f"wrong, declined, {', '.join(GRID)}):")
    for _, r, w, d, values in sorted(rows, reverse=True)[:8]:
        print(f"  {r:3d} {w:3d} {d:3d}  {values}")
    for _, r, w, d, values in rows:
        if values == current:
            print(f"  {r:3d} {w:3d} {d:3d}  {values} (pipeline.py now)")
    print_each_alone(rows, current)
    for name, value in zip(GRID, current, strict=True):
        setattr(pipeline, name, value)
    print("\nper file (right / wrong / declined), model alone -> bot with pipeline.py's constants:")
    for name in TUNE + CHECK:
        items = load(name)
        alone = asyncio.run(outcomes(items, alone=True))
        bot = asyncio.run(outcomes(items))
        kind = "tuned on" if name in TUNE else "check"
        print(f"  {name:22s} {len(items):4d}  {'/'.join(map(str, alone)):>9s} -> "
              f"{'/'.join(map(str, bot)):9s} ({kind})")


if __name__ == "__main__":
    main()
