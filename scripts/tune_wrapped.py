"""Choose bot/understanding/pipeline.py's STORY_*, STATEMENT_*, WHOLE_SURE and OFFER_* constants
on the development stories, double questions, short messages and near misses, and check them on
sets never tuned on.

    PYTHONPATH=. .venv/bin/python scripts/tune_wrapped.py   # PYTHONPATH: this checkout's bot
    PYTHONPATH=. .venv/bin/python scripts/tune_wrapped.py --files   # per file, no grid
    PYTHONPATH=. .venv/bin/python scripts/tune_wrapped.py --misses dev_wrapped9.yml  # a
        development file's misses: the model alone and the bot (refused for a check file)

Tunes on eval/dev_wrapped.yml, dev_wrapped4.yml, dev_wrapped5.yml, dev_wrapped7.yml,
dev_wrapped9.yml, dev_wrapped10.yml, dev_wrapped11.yml, dev_wrapped12.yml, dev_compound.yml,
dev_compound2.yml, dev_compound4.yml, dev_compound5.yml, dev_compound7.yml, dev_one_word.yml and
dev_nearmiss.yml (domestic tax and other agencies' questions, plain and inside stories, and customs
questions worded like them): each through the whole pipeline (latest trained model) for a grid of
the constants, scored right minus twice wrong, as `make eval` counts them (two questions are also
right when one is answered and the other offered as a button). The OFFER_* constants have a grid of
their own, the others as pipeline.py has them: an offer is scored by the double questions it makes
right, less OFFER_NOISE for every message offered an entry it did not ask (a story's scene read as
a second question, a wrong button); the stories offered anything at all are counted too. Then
prints right / wrong / declined and offers per file, for the model alone and the bot with the
constants pipeline.py has now, including the check sets (dev_wrapped2.yml, dev_wrapped3.yml,
dev_wrapped6.yml, dev_wrapped8.yml, dev_compound3.yml, dev_compound6.yml, dev_compound8.yml,
dev_one_word2.yml): a story or a short message the bot reads worse than the model alone shows
there. dev_*5.yml, dev_*6.yml and dev_one_word*.yml were written fresh for issue #12, before the
code was changed for them; dev_*7.yml and dev_*8.yml (two requests without "also", and stories
opening with a want or a problem) before the offers were written. dev_wrapped10.yml (stories naming
other customs topics) and dev_wrapped11.yml (26 long stories, four to seven sentences) were written
in session 9 to find where the bot reads stories worse than the model alone: on dev_wrapped11 both
get 25 of 26, so a question after more than MAX_CLAUSES sentences is not lost (the model reads the
whole message); dev_wrapped12.yml (32 wants and problems before the question) showed the problem
told as a second question (STORY_QUESTION). dev_wrapped13.yml (36, written fresh in session 10
by a helper before any change, a check file: model alone and bot 34 / 1 / 1). Tried in session 10
and not kept (model 215ab4d18352162b before): one knowledge example in three also trained after
an opening and a story sentence (30 of each, none a request), so the question decides and not
the story's words: the model alone improved on stories (dev_wrapped10.yml 42 / 3 / 1 ->
46 / 0 / 0), the bot did not (tuning files 460 / 19 / 31 -> 456 / 19 / 35, check files
185 / 7 / 26 -> 180 / 11 / 27; follow-ups worse); six more wordings of goods in transit (routes
through Zambia, missed in four tuning files): tuning 460 / 19 / 31 -> 459 / 22 / 29, check
185 / 7 / 26 -> 187 / 6 / 25, eval/dev_clean3.yml (BLIND) 93.3 / 1.9 / 4.8 % -> 92.3 / 2.9 /
4.8 %: a small change of the examples moves other items both ways, as much as it fixes.
The story constants on a grid over all the files but dev_wrapped13.yml (728 items, totals only;
STORY_MIN_SCORE, STORY_MIN_MARGIN, STATEMENT_MIN_CONFIDENCE, STORY_OWNS, STORY_QUESTION,
PAIR_SURE): pipeline.py's 611 / 25 / 56, the best 610 / 24 / 58 (half a point of score more),
dev_wrapped13.yml 34 / 1 / 1 either way: the rules are at their best on all the development
stories, and what is left wrong is the model's reading of the whole message.
Never run it on eval/realworld.yml.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.training import evaluate, realworld
from bot.understanding import build, pipeline
from bot.understanding.context import Context

ROOT = Path(__file__).resolve().parent.parent
TUNE = ("dev_wrapped.yml", "dev_wrapped4.yml", "dev_wrapped5.yml", "dev_wrapped7.yml",
        "dev_wrapped9.yml", "dev_wrapped10.yml", "dev_wrapped11.yml", "dev_wrapped12.yml",
        "dev_compound.yml",
        "dev_compound2.yml", "dev_compound4.yml", "dev_compound5.yml", "dev_compound7.yml",
        "dev_one_word.yml", "dev_nearmiss.yml")
CHECK = ("dev_wrapped2.yml", "dev_wrapped3.yml", "dev_wrapped6.yml", "dev_wrapped8.yml",
         "dev_wrapped13.yml",
         "dev_compound3.yml", "dev_compound6.yml", "dev_compound8.yml", "dev_one_word2.yml")
GRID = {
    "STORY_MIN_SCORE": [0.6, 0.8, 1.0],
    "STORY_MIN_MARGIN": [0.0, 0.2, 0.4],
    "STATEMENT_MIN_CONFIDENCE": [0.6, 0.8, 0.9, 0.95],
    "WHOLE_SURE": [0.8, 0.9, 1.01],  # 1.01: never
    "STORY_OWNS": [0.6, 0.8, 0.9, 0.95, 1.01],  # 1.01: an answering whole always stands
}
OFFER_GRID = {
    "OFFER_ASKED": [0.6, 0.8, 0.9, 0.95, 1.01],  # 1.01: never
    "OFFER_REQUESTED": [0.6, 0.8, 0.9, 0.95, 1.01],
    "OFFER_TOLD": [0.8, 0.9, 0.95, 1.01],
    "MAX_OFFERS": [1, 2],
}
# A button to an entry the person did not ask: a cost, far less than a wrong answer's 2.
OFFER_NOISE = 0.5


@dataclass
class Counts:
    right: int = 0
    wrong: int = 0
    declined: int = 0
    by_offer: int = 0   # double questions right by one answered, the other offered
    noise: int = 0      # messages offered an entry they did not ask
    offered: int = 0    # messages offered anything

    @property
    def score(self) -> float:
        return self.right - 2 * self.wrong - OFFER_NOISE * self.noise

    def rwd(self) -> str:
        return f"{self.right}/{self.wrong}/{self.declined}"


def load(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((ROOT / "eval" / name).read_text("utf-8"))


def print_each_alone(rows: list[tuple[Any, ...]], grid: dict[str, list[Any]],
                     current: list[Any], cell: Any) -> None:
    """Each constant's values with the others as pipeline.py has them."""
    print("each constant alone, the others as pipeline.py has them:")
    for i, name in enumerate(grid):
        cells = [f"{values[i]}: {cell(counts)}" for counts, values in rows
                 if all(v == c for j, (v, c) in enumerate(zip(values, current, strict=True))
                        if j != i)]
        print(f"  {name:25s} {'  '.join(cells)}")


class Runner:
    """The latest trained model (its readings kept: the same for every point of a grid) and
    the understanding around it."""

    def __init__(self) -> None:
        model = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)[-1]
        self.model_alone = evaluate.parsers(evaluate.load_agent(model))["model"]
        self.seen: dict[str, dict[str, Any]] = {}
        self.understanding = build.current()
        self.current = {name: getattr(pipeline, name) for name in [*GRID, *OFFER_GRID]}

    async def parse(self, text: str) -> dict[str, Any]:
        if text not in self.seen:
            self.seen[text] = await self.model_alone(text)
        return copy.deepcopy(self.seen[text])

    async def _outcomes(self, items: list[dict[str, Any]], alone: bool) -> Counts:
        counts = Counts()
        for item in items:
            text, expect = item["text"], item["expect"]
            result = await (self.parse(text) if alone
                            else self.understanding(text, self.parse, Context()))
            outcome = realworld.outcome_of_parse(result, expect)
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            _, offered = realworld.answered_and_offered(result)
            asked = expect if isinstance(expect, list) else [expect]
            counts.offered += bool(offered)
            counts.noise += any(o not in asked for o in offered)
            counts.by_offer += isinstance(expect, list) and str(
                realworld.right_by(result, expect)).startswith("offered")
        return counts

    def outcomes(self, items: list[dict[str, Any]], alone: bool = False) -> Counts:
        return asyncio.run(self._outcomes(items, alone))

    def grid(self, grid: dict[str, list[Any]], items: list[dict[str, Any]]
             ) -> list[tuple[Counts, list[Any]]]:
        rows = []
        for values in itertools.product(*grid.values()):
            for name, value in zip(grid, values, strict=True):
                setattr(pipeline, name, value)
            rows.append((self.outcomes(items), list(values)))
        for name in grid:
            setattr(pipeline, name, self.current[name])
        return rows


def print_story_grid(runner: Runner, tuning: list[dict[str, Any]]) -> None:
    rows = runner.grid(GRID, tuning)
    now = [runner.current[name] for name in GRID]
    print(f"{len(tuning)} development stories, double questions and near misses; best (right, "
          f"wrong, declined, {', '.join(GRID)}):")
    for counts, values in sorted(rows, key=lambda r: -(r[0].right - 2 * r[0].wrong))[:8]:
        print(f"  {counts.right:3d} {counts.wrong:3d} {counts.declined:3d}  {values}")
    for counts, values in rows:
        if values == now:
            print(f"  {counts.right:3d} {counts.wrong:3d} {counts.declined:3d}  {values} "
                  "(pipeline.py now)")
    print_each_alone(rows, GRID, now, Counts.rwd)


def offer_line(counts: Counts, values: list[Any]) -> str:
    return (f"  {counts.score:6.1f}  {counts.rwd():>10s}  by offer {counts.by_offer:2d}  "
            f"noise {counts.noise:2d}  offered {counts.offered:2d}  {values}")


def print_offer_grid(runner: Runner, tuning: list[dict[str, Any]]) -> None:
    rows = runner.grid(OFFER_GRID, tuning)
    now = [runner.current[name] for name in OFFER_GRID]
    print(f"\noffers, the other constants as pipeline.py has them; best (score = right - 2 wrong "
          f"- {OFFER_NOISE} x messages offered an entry not asked; right by an offer, such "
          f"messages, messages offered anything; {', '.join(OFFER_GRID)}):")
    for counts, values in sorted(rows, key=lambda r: -r[0].score)[:10]:
        print(offer_line(counts, values))
    for counts, values in rows:
        if values == now:
            print(offer_line(counts, values) + " (pipeline.py now)")
    print_each_alone(rows, OFFER_GRID, now, lambda c: f"{c.by_offer}/{c.noise}/{c.offered}")
    print("  (right by an offer / noise / offered)")


def print_files(runner: Runner) -> None:
    print("\nper file (right / wrong / declined), model alone -> bot with pipeline.py's constants;"
          " the bot's offers: right by one / noise / messages offered anything:")
    for group, names in (("tuned on", TUNE), ("check", CHECK)):
        total = Counts()
        for name in names:
            items = load(name)
            alone, bot = runner.outcomes(items, alone=True), runner.outcomes(items)
            for key in vars(total):
                setattr(total, key, getattr(total, key) + getattr(bot, key))
            print(f"  {name:22s} {len(items):4d}  {alone.rwd():>9s} -> {bot.rwd():9s} "
                  f"offers {bot.by_offer}/{bot.noise}/{bot.offered} ({group})")
        print(f"  {'all ' + group:22s} {total.right + total.wrong + total.declined:4d}  "
              f"{'':>9s}    {total.rwd():9s} offers {total.by_offer}/{total.noise}/"
              f"{total.offered}")


def print_misses(runner: Runner, name: str) -> None:
    """Every item of a tuning file that the model alone or the bot misses, with both readings:
    where the bot reads a story worse than the model alone shows here."""
    for item in load(name):
        alone = asyncio.run(runner.parse(item["text"]))
        bot = asyncio.run(runner.understanding(item["text"], runner.parse, Context()))
        outcomes = [realworld.outcome_of_parse(p, item["expect"]) for p in (alone, bot)]
        if outcomes != ["right", "right"]:
            readings = [f"{p['intent']['name']} {p['intent']['confidence']:.2f}"
                        for p in (alone, bot)]
            print(f"  {outcomes[0]:>8s} -> {outcomes[1]:8s} {item['expect']}: {item['text']}\n"
                  f"           alone {readings[0]}; bot {readings[1]}")


def main() -> None:
    if "--misses" in sys.argv[1:]:
        names = sys.argv[sys.argv.index("--misses") + 1:]
        name = names[0] if names else ""
        path = (ROOT / "eval" / name).resolve()
        if (name in CHECK or not name.startswith("dev_") or path.parent != ROOT / "eval"
                or not path.is_file() or evaluate.blind(path)):
            raise SystemExit(f"--misses {name}: only a development file's misses are shown, "
                             f"not a check file's ({', '.join(CHECK)}), a blind set's nor the "
                             "held-out sets'")
        print_misses(Runner(), name)
        return
    runner = Runner()
    if "--files" in sys.argv[1:]:  # the per-file lines alone, without the grids
        print_files(runner)
        return
    tuning = [item for name in TUNE for item in load(name)]
    print_story_grid(runner, tuning)
    print_offer_grid(runner, tuning)
    print_files(runner)


if __name__ == "__main__":
    main()
