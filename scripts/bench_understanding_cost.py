"""What bot.understanding costs per message, measured in one process: CPU, not wall time.

    PYTHONPATH=. .venv/bin/python scripts/bench_understanding_cost.py [--rounds 3] [--dump F]

`python -m bot bench --understanding` serves the model twice and drives REST conversations: its
messages/s move with whatever else the shared machine runs. Here the latest trained model is
loaded once (Rasa's Agent, the project's patches, the actions in-process as `python -m bot ask`
runs them) and the bench's conversations (bot/training/bench/load.py `scripts()`) go through
Rasa's own `handle_message` with CUSTOMS_UNDERSTANDING off and on, alternating by round so
that both see the same machine. Reported per message: CPU milliseconds of the whole turn and of
`parse_message` alone (`time.process_time`), model graph runs and messages read by the model.
`--dump F` writes every turn's parse with understanding on (JSON) and `--compare F` checks a
later run gives the same parses: the bot's answers unchanged by a speed-up. Nothing is printed
of the conversations' texts (held-out questions). The int8 encoder keeps the vectors of the
latest texts and the count featurizers the counts of the tokens they have read; every round
repeats the same conversations, so `--cold` forgets both before each round: a round then
gains only from what one pass repeats (the bench's scripts share their closing messages).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.settings.paths import ROOT


def latest_model() -> Path:
    from bot.settings.paths import models_dir

    found = sorted(models_dir().glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not found:
        sys.exit("no trained model: run `python -m bot train` first")
    return found[-1]


def comparable(parse: dict[str, Any]) -> dict[str, Any]:
    """What decides the bot's answer: intent, ranking, the understanding's notes."""
    keep = ("text", "intent", "intent_ranking", "compound", "understanding", "entities")
    return json.loads(json.dumps({k: parse.get(k) for k in keep}, default=str))


class Meter:
    """Counts graph runs and model readings, times `parse_message`, on one processor."""

    def __init__(self, processor: Any) -> None:
        self.runs = self.readings = 0
        self.parse_cpu = 0.0
        runner, target = processor.graph_runner, processor.model_metadata.nlu_target
        run, parse = runner.run, processor.parse_message

        def counted_run(inputs: Any = None, targets: Any = None) -> Any:
            if targets == [target]:
                from rasa.engine.constants import PLACEHOLDER_MESSAGE

                self.runs += 1
                self.readings += len((inputs or {}).get(PLACEHOLDER_MESSAGE) or [])
            return run(inputs=inputs, targets=targets)

        async def timed_parse(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return await parse(*args, **kwargs)
            finally:
                self.parse_cpu += time.process_time() - started

        runner.run = counted_run
        processor.parse_message = timed_parse


def forget(processor: Any) -> None:
    """Drop the encoder's kept vectors and the featurizers' kept token counts."""
    from bot.nlu import minilm

    for encoder in minilm._cache.values():
        encoder.__dict__.pop("_kept", None)
    for node in processor.graph_runner._instantiated_nodes.values():
        getattr(node, "_component", node).__dict__.pop("_bot_token_counts", None)


async def converse(agent: Any, convs: list, tag: str, parses: list | None) -> int:
    """Every conversation once, one message after another; returns the messages sent."""
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    sent = 0
    for n, script in enumerate(convs):
        sender = f"cost-{tag}-{n}"
        for text, _ in script:
            await agent.handle_message(UserMessage(text, CollectingOutputChannel(),
                                                   sender_id=sender))
            sent += 1
            if parses is not None:
                tracker = await agent.tracker_store.retrieve(sender)
                parses.append(comparable(tracker.latest_message.parse_data or {}))
    return sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode (after warm-up)")
    parser.add_argument("--dump", type=Path, help="write the parses with understanding on")
    parser.add_argument("--compare", type=Path, help="check the parses equal a --dump")
    parser.add_argument("--cold", action="store_true",
                        help="forget the kept vectors and token counts before each round")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="understanding-cost-"))
    os.environ["CUSTOMS_DB_URL"] = f"sqlite:///{home / 'app.db'}"
    os.environ.setdefault("RATE_LIMIT_PER_MINUTE", "0")
    subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ))
    from bot.support.ask import import_quickly
    from bot.training.bench.load import scripts
    from bot.training.evaluate import load_agent
    from bot.training.local_actions import in_process_endpoint

    import_quickly()
    model = args.model or latest_model()
    agent = load_agent(model, action_endpoint=in_process_endpoint())
    meter = Meter(agent.processor)
    convs = scripts()
    from bot.patches import understanding

    modes = {"off": "off", "one-by-one": "on", "on": "on"}
    many = understanding.Reader.many
    totals = {mode: [0, 0.0, 0.0, 0, 0] for mode in modes}  # msgs, cpu, parse cpu, runs, reads
    parses: dict[str, list] = {"one-by-one": [], "on": []}

    def one(mode: str, tag: str, keep: list | None) -> None:
        if args.cold:
            forget(agent.processor)
        os.environ["CUSTOMS_UNDERSTANDING"] = modes[mode]
        understanding.Reader.many = None if mode == "one-by-one" else many
        meter.runs = meter.readings = 0
        meter.parse_cpu = 0.0
        started = time.process_time()
        sent = asyncio.run(converse(agent, convs, tag, keep))
        row = totals[mode]
        row[0] += sent
        row[1] += time.process_time() - started
        row[2] += meter.parse_cpu
        row[3] += meter.runs
        row[4] += meter.readings

    for mode in modes:  # warm-up, not counted; the parses with understanding kept
        one(mode, f"warm-{mode}", parses.get(mode))
        totals[mode] = [0, 0.0, 0.0, 0, 0]
    for r in range(args.rounds):
        for mode in (list(modes) if r % 2 == 0 else list(modes)[::-1]):
            one(mode, f"{mode}-{r}", None)
    print(f"model {model.name}, {len(convs)} conversations, {args.rounds} rounds per mode")
    for mode, (msgs, cpu, parse_cpu, runs, reads) in totals.items():
        print(f"understanding {mode:>10}: {1000 * cpu / msgs:6.2f} ms CPU/message "
              f"(parse_message {1000 * parse_cpu / msgs:5.2f} ms), "
              f"graph runs/message {runs / msgs:.2f}, readings/message {reads / msgs:.2f}")
    off = totals["off"][1] / totals["off"][0]
    for mode in ("one-by-one", "on"):
        print(f"CPU per message {mode} / off: {totals[mode][1] / totals[mode][0] / off:.3f}x")
    failed = 0
    comparisons = [("one by one", parses["one-by-one"])]
    if args.compare:
        comparisons.append((str(args.compare), json.loads(args.compare.read_text("utf-8"))))
    for name, before in comparisons:
        differ = sum(a != b for a, b in zip(before, parses["on"], strict=False))
        differ += abs(len(before) - len(parses["on"]))
        print(f"parses with understanding compared with {name}: {len(parses['on'])} turns, "
              f"{differ} differ")
        failed += differ
    if args.dump:
        args.dump.write_text(json.dumps(parses["on"]), "utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
