"""How often the follow-up reading changes a whole question asked after another answer.

    PYTHONPATH=. .venv/bin/python scripts/probe_context_harm.py

A follow-up leans on the previous answer; a whole question asked next ("what does a red lane
mean" after the VAT rate) must be read as it is. Each single question of the development sets
(eval/dev_wrapped*.yml, dev_one_word*.yml; never eval/realworld.yml or heldout.yml) goes through
the bot twice: with no previous answer, and after each of three other entries (seeded). Prints
how many readings the previous answer changed, and how (right / wrong / declined before and
after)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import yaml

from bot.content.live import get_knowledge
from bot.names import INTENT_PREFIX
from bot.training import evaluate
from bot.understanding import build
from bot.understanding.context import refers_back

ROOT = Path(__file__).resolve().parent.parent
SETS = ("dev_wrapped*.yml", "dev_one_word*.yml")


def outcome(result: dict, expected: str) -> str:
    name = str((result.get("intent") or {}).get("name") or "")
    if name == f"{INTENT_PREFIX}{expected}":
        return "right"
    return "wrong" if name.startswith(INTENT_PREFIX) else "declined"


async def main() -> None:
    model = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)[-1]
    parse = evaluate.parsers(evaluate.load_agent(model))["model"]
    understanding = build.current()
    kb = get_knowledge()
    entries = sorted(kb.entries)
    items = [(item["text"], item["expect"]) for pattern in SETS
             for path in sorted((ROOT / "eval").glob(pattern))
             for item in yaml.safe_load(path.read_text("utf-8")) or []
             if isinstance(item.get("expect"), str)]
    # The knowledge's own wordings (trained on: the model is sure of them alone) that refer to
    # something ("what does it mean", "can they"): the words a follow-up is recognised by.
    own = [(text, entry.id) for entry in kb.entries.values()
           for text in (entry.question, *entry.examples) if refers_back(text)]
    print(f"{len(items)} development questions, {len(own)} knowledge wordings that refer back")
    items += own
    rng = random.Random(12)
    changes: Counter[tuple[str, str]] = Counter()
    total = 0
    for text, expected in items:
        alone = outcome(await understanding(text, parse, build.context_from([])), expected)
        for previous in rng.sample([e for e in entries if e != expected], 3):
            after = outcome(await understanding(text, parse, build.context_for(previous)),
                            expected)
            total += 1
            if after != alone:
                changes[(alone, after)] += 1
    print(f"{len(items)} questions x 3 previous answers = {total} readings; changed by the "
          f"previous answer: {sum(changes.values())}")
    for (before, after), n in changes.most_common():
        print(f"  {before:8s} -> {after:8s} {n}")


if __name__ == "__main__":
    asyncio.run(main())
