"""Check and choose bot/understanding/context.py's follow-up method on the development sets.

    .venv/bin/python scripts/tune_followups.py            # right / wrong / declined per set
    .venv/bin/python scripts/tune_followups.py --misses   # and every miss, with its readings
    .venv/bin/python scripts/tune_followups.py --grid     # and the constants' grid

Each item of eval/dev_followups*.yml is a conversation: its turns go through the bot's
understanding (`build.current()`) with the latest trained model, and each turn's context is
built as the running bot builds it from the tracker (`bot.patches.understanding`): the entry
answered within the latest user messages, and the message it answered. The grid scores every
combination of the constants on the TUNING sets only (right minus twice wrong, because
answering wrongly is worse than declining) and shows the CHECK set beside it, so a constant
that only fits its own examples shows. Never run it on eval/realworld.yml: that set measures
the result. Run it with the worktree first on the path (`PYTHONPATH=.`): the script's folder
comes first otherwise, and `bot` may be imported from another checkout.

With the constants in bot/understanding/context.py and pipeline.py (right / wrong / declined),
same model (78d777a16ef0ea87), with NAMED_MARGIN and SURE_REPLY (issue #12 item 2):
    tuning (dev_followups.yml to 5, and 7; 291)  259 / 10 / 22  (the method before: 254 / 10 / 27)
    check (dev_followups6.yml; 53, written fresh before the method changed, never tuned on, its
           misses never shown: BLIND)              45 / 3 / 5    (the method before: 45 / 3 / 5)
    check (dev_followups8.yml; 42, written fresh before MIN_MARGIN changed, BLIND)
                                                   31 / 2 / 9    (the method before: 31 / 2 / 9)
    check (dev_followups9.yml; 41, written fresh before NAMED_MARGIN and SURE_REPLY, BLIND)
                                                   37 / 2 / 2    (the method before: 36 / 2 / 3)
On the model before (c0ef582f8d89ec86), MIN_MARGIN 0.4 gave tuning 257 / 6 / 28 (0.25: 261 /
10 / 20), check 46 / 3 / 4 and 32 / 2 / 8.
Each line also counts the declined follow-ups whose entry is among the buttons they are asked
with (now: tuning 20 of 22, check 4 of 5, 7 of 9 and 1 of 2; on the model before, with the
best three other entries as buttons and MIN_MARGIN 0.25, 13 of 20, 3 of 4 and 1 of 7).
Knowledge examples for two confused families (issue #12 item 2, model 80176d4c3e7a72a3 against
89d25f218239282d, same code): short car wordings for import_motor_vehicle_duty ("taxes on
cars": "n 4 cars?" after the VAT rate read as used-car duty) and "get / hire / choose" wordings
for how_to_appoint_clearing_agent ("how do i get one" after "do i need an agent" read as
becoming one): tuning 263 / 8 / 20 -> 264 / 7 / 20 (right - 2 wrong 247 -> 250); check
dev_followups6.yml 45 / 3 / 5 -> 46 / 2 / 5, dev_followups8.yml 30 / 2 / 10 and
dev_followups9.yml 37 / 2 / 2 unchanged, dev_followups10.yml (43, written fresh before the
change, BLIND) 34 / 4 / 5 -> 35 / 4 / 4; eval/dev_clean.yml 99.4 % right either way. Tried and
not kept: the person's previous message as one more wording to read the follow-up after
(tuning 262 / 10 / 19, worse); answering the entry both readings put first when neither is sure
(tuning 265 / 13 / 13 at a margin of 0.25, 264 / 10 / 17 at 1.0: more wrong); wordings of the
duty rate for customs_duty_bands (tuning 265 / 6 / 20 but dev_followups6.yml 45 / 3 / 5: worse).
Session 9 (same model 215ab4d18352162b): dev_followups11.yml (46, BLIND, written fresh before
any change, same-entry follow-ups with a detail changed or a condition added) scores 34 / 6 / 6.
Tried and not kept: smoothing the second reading's log ratios (LIFT_SMOOTHING 0.001 to 0.1, with
the priors and margin re-gridded: tuning at best 260 / 6 / 25, worse); answering the entry just
answered again when the follow-up adds a condition ("n if i dont?") and no other entry reads
0.4 alone (tuning 266 / 7 / 18 against 264 / 7 / 20, but the check sets together 183 / 18 / 24
against 181 / 17 / 27: one wrong more); that and "and for X" fragments (267 / 8 / 16: more
wrong). No signal of the readings (the share the previous entry keeps, its lift and lead, the
best other entry's own evidence) told "same entry, one detail changed" ("n 4 my company?")
from "another entry in common words" ("how do i get mine" after what a TPIN is) on the 59
tuning follow-ups that reach the first reading. While that was looked at, the first 20 items
of dev_followups10.yml were printed once (its header was read with them): it is a little less
blind than the others.
dev_followups5.yml was the check set of the method before; it was looked at, so it is tuned on
now (RARE_IN, TOPIC_WORD_EVIDENCE and SAME_TOPIC_SHARE were chosen looking at it then).
dev_followups7.yml: messages after an answer that refer back ("it", "that") to nothing customs
answers, beside ones that add a detail ("mine is a hybrid"); for IN_KNOWLEDGE.
Session 10 (model 215ab4d18352162b): dev_followups12.yml (40, BLIND, written fresh by a helper
before any change; its header and first item were printed once) scores 33 / 2 / 5, the 5
declined all asked with the entry meant among the buttons. Two model changes, measured here
and not kept (see scripts/tune_wrapped.py): training some examples inside a story (tuning sets
2 to 7: 233 / 6 / 20 -> 226 / 12 / 21, dev_followups7.yml 19 / 0 / 0 -> 14 / 5 / 0: stories of
travel and trade make "a good hotel in that town" a customs question; check sets 6 and 8 to 12
214 / 19 / 32 -> 217 / 23 / 25) and six more wordings of goods in transit (tuning sets 2 to 7
233 / 6 / 20 -> 233 / 7 / 19, check sets 214 / 19 / 32 -> 212 / 19 / 34).
A naive reading for comparison (the previous question and the message read together, the
model's best entry when 0.4 sure and 0.1 ahead): tuning 177 / 102 / 12, check (6, 8 to 11)
157 / 56 / 12, against the method's 264 / 6 / 21 and 181 / 17 / 27.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.names import INTENT_PREFIX
from bot.training import evaluate
from bot.understanding import build
from bot.understanding import context as ctx

ROOT = Path(__file__).resolve().parent.parent
TUNING = ("dev_followups.yml", "dev_followups2.yml", "dev_followups3.yml", "dev_followups4.yml",
          "dev_followups5.yml", "dev_followups7.yml")
CHECK = ("dev_followups6.yml", "dev_followups8.yml", "dev_followups9.yml", "dev_followups10.yml",
         "dev_followups11.yml", "dev_followups12.yml")
# Check sets whose misses are never shown (only their totals), so they stay independent.
BLIND = ("dev_followups6.yml", "dev_followups8.yml", "dev_followups9.yml",
         "dev_followups10.yml", "dev_followups11.yml", "dev_followups12.yml")
Parse = Callable[[str], Awaitable[dict[str, Any]]]


@dataclass
class Outcome:
    set_name: str
    turns: list[str]
    expected: str | None
    got: str | None
    note: str
    buttons: tuple[str, ...] = ()  # the entries a decline offers as "did you mean" buttons

    @property
    def kind(self) -> str:
        if self.got == self.expected:
            return "right"
        return "declined" if self.got is None else "wrong"


def load(name: str) -> list[tuple[list[str], str | None]]:
    items = yaml.safe_load((ROOT / "eval" / name).read_text("utf-8")) or []
    return [([str(t) for t in item[:-1]], item[-1]) for item in items]


def cached(parse: Parse) -> Parse:
    """The model's parse is the same for the same text: read each text once."""
    seen: dict[str, dict[str, Any]] = {}

    async def once(text: str) -> dict[str, Any]:
        if text not in seen:
            seen[text] = await parse(text)
        return seen[text]

    return once


async def converse(turns: list[str], parse: Parse) -> tuple[str | None, dict[str, Any]]:
    """The entry the last turn is answered with first (None: none), as the bot would."""
    understanding = build.current()
    history: list[tuple[str, str | None]] = []  # (text, entry answered to it), oldest first
    result: dict[str, Any] = {}
    for text in turns:
        result = await understanding(text, parse, build.context_from(history))
        name = str((result.get("intent") or {}).get("name") or "")
        answered = [n.removeprefix(INTENT_PREFIX) for n in (result.get("compound") or [name])
                    if n.startswith(INTENT_PREFIX)]
        history.append((text, answered[-1] if answered else None))
    return (answered[0] if answered else None), result


# As actions/knowledge.py's ActionClarify offers them (SUGGESTION_MIN_CONFIDENCE, MAX_SUGGESTIONS).
BUTTON_MIN_CONFIDENCE = 0.05
MAX_BUTTONS = 3


def buttons(result: dict[str, Any]) -> tuple[str, ...]:
    """The entries a decline offers as buttons: the ranking's knowledge entries, best first."""
    found = [str(r.get("name") or "") for r in result.get("intent_ranking") or []
             if str(r.get("name") or "").startswith(INTENT_PREFIX)
             and float(r.get("confidence") or 0.0) >= BUTTON_MIN_CONFIDENCE]
    return tuple(name.removeprefix(INTENT_PREFIX) for name in found[:MAX_BUTTONS])


def describe(result: dict[str, Any]) -> str:
    ranking = result.get("intent_ranking") or []
    top = ", ".join(f"{r['name'].removeprefix(INTENT_PREFIX)} {float(r['confidence']):.2f}"
                    for r in ranking[:3])
    notes = result.get("understanding") or {}
    return f"[{top}] {'follow-up' if 'follow_up_of' in notes else 'alone'}"


async def run_all(parse: Parse, names: tuple[str, ...]) -> list[Outcome]:
    outcomes = []
    for name in names:
        for turns, expected in load(name):
            got, result = await converse(turns, parse)
            offered = buttons(result) if got is None else ()
            outcomes.append(Outcome(name, turns, expected, got, describe(result), offered))
    return outcomes


def on_buttons(outcomes: list[Outcome]) -> int:
    """Declined follow-ups whose entry is among the buttons offered instead."""
    return sum(1 for o in outcomes
               if o.kind == "declined" and o.expected is not None and o.expected in o.buttons)


def tally(outcomes: list[Outcome]) -> tuple[int, int, int]:
    kinds = [o.kind for o in outcomes]
    return kinds.count("right"), kinds.count("wrong"), kinds.count("declined")


GRID: dict[str, list[float]] = {
    "SAME_TOPIC_PRIOR": [3.5, 4.0, 4.5],
    "RELATED_PRIOR": [1.0, 1.5, 2.0],
    "ALONE_WEIGHT": [0.25, 0.5, 1.0],
    "SURE_MARGIN": [1.0, 1.25, 1.5],
    "IN_KNOWLEDGE": [0.0, 0.9, 0.95],
}


# Constants other modules import by value: setting them on `ctx` changes nothing there.
IMPORTED = ("CONTEXT_TURNS", "READING_EXAMPLES", "CONFIDENT_ALONE")


def parse_options() -> argparse.Namespace:
    args = argparse.ArgumentParser()
    args.add_argument("--misses", action="store_true")
    args.add_argument("--grid", action="store_true")
    args.add_argument("--vary", action="append", default=[], metavar="NAME=V1,V2",
                      help="the grid over these constants only (repeatable)")
    options = args.parse_args()
    if options.vary:
        GRID.clear()
        for item in options.vary:
            name, values = item.split("=", 1)
            if not isinstance(getattr(ctx, name, None), (int, float)) or name in IMPORTED:
                args.error(f"--vary {name}: not a constant of bot/understanding/context.py "
                           f"read there ({', '.join(IMPORTED)} are read elsewhere)")
            GRID[name] = [type(getattr(ctx, name))(float(v)) for v in values.split(",")]
        options.grid = True
    return options


def main() -> None:
    options = parse_options()
    model = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)[-1]
    parse = cached(evaluate.parsers(evaluate.load_agent(model))["model"])

    def measure() -> dict[str, list[Outcome]]:
        return {"tuning": asyncio.run(run_all(parse, TUNING)),
                "check": asyncio.run(run_all(parse, CHECK))}

    runs = measure()
    for label, outcomes in runs.items():
        for name in dict.fromkeys(o.set_name for o in outcomes):
            mine = [o for o in outcomes if o.set_name == name]
            r, w, d = tally(mine)
            print(f"{label:7s} {name:22s} right {r:3d}  wrong {w:3d}  declined {d:3d} "
                  f"(its entry a button: {on_buttons(mine)})")
    if options.misses:
        for outcome in (o for outcomes in runs.values() for o in outcomes):
            if outcome.kind != "right" and outcome.set_name not in BLIND:
                print(f"  {outcome.kind:8s} {' / '.join(outcome.turns)} -> {outcome.got} "
                      f"(expected {outcome.expected}) {outcome.note}"
                      + (f" buttons {list(outcome.buttons)}" if outcome.kind == "declined" else ""))
    if options.grid:
        saved = {name: getattr(ctx, name) for name in GRID}
        rows = []
        for combo in itertools.product(*GRID.values()):
            for name, value in zip(GRID, combo, strict=True):
                setattr(ctx, name, value)
            build._topics.clear()  # the rare words depend on RARE_IN
            scored = {label: tally(outcomes) for label, outcomes in measure().items()}
            r, w, _ = scored["tuning"]
            rows.append((r - 2 * w, combo, scored))
        for name, value in saved.items():
            setattr(ctx, name, value)
        build._topics.clear()
        print(f"best on the tuning sets ({', '.join(GRID)}): tuning r/w/d | check r/w/d")
        for _, combo, scored in sorted(rows, key=lambda row: -row[0])[:10]:
            print(f"  {combo}  {scored['tuning']} | {scored['check']}")


if __name__ == "__main__":
    main()
