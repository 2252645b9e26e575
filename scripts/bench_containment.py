"""Containment on the bench's conversations, counted the old way and the report's way.

Plays conversations over REST against a scratch assistant on loopback, then reads them back
from its tracker store with the report's own code (`bot.support.report.data.build_report`):

- bench: the conversations `make bench` sends (greeting, three held-out questions, a
  declaration lookup, goodbye);
- real wording: one conversation per message of eval/realworld.yml (misspellings, stories,
  other languages, near misses...), each followed by nothing: what a person who asks once does.

"Old" is what the report used to print: every conversation without a hand-over counted as
handled. "Now" counts a conversation as handled only when a question was answered and nobody
asked for a person; declined-only conversations are shown beside it.

usage: python scripts/bench_containment.py
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.ops import launcher  # noqa: E402
from bot.support.report.data import build_report  # noqa: E402
from bot.training import realworld, trainer  # noqa: E402
from bot.training.bench.load import scripts  # noqa: E402


def conversations() -> dict[str, list[list[str]]]:
    bench = [[text for text, _ in script] for script in scripts()]
    items = realworld.single_items(realworld.load())
    wording = [[text] for texts in items.values() for text, _ in texts]
    return {"bench": bench, "real wording": wording}


def measure(model: Path, name: str, convs: list[list[str]]) -> str:
    import sqlalchemy as sa

    with tempfile.TemporaryDirectory(prefix="containment-") as tmp, \
            launcher.scratch_stack(model, Path(tmp), web=False, overrides={
                "RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "0"}) as stack:
        url = f"{stack.rasa_url}/webhooks/rest/webhook"
        for conv in convs:
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            for text in conv:
                launcher.rest_send(url, sender, text)
        engine = sa.create_engine(f"sqlite:///{Path(tmp) / 'tracker.db'}")
        today = dt.date.today()
        report = build_report(engine, today - dt.timedelta(days=1), today)
    n = report.conversations
    old = (n - report.handed_over) / n if n else 0.0
    return (f"{name:<13} {n:>5} conversations | old containment {old:6.1%} | now "
            f"{report.containment or 0:6.1%} handled, {report.declined_only / n:6.1%} "
            f"declined only, {report.handed_over / n:6.1%} handed over, "
            f"{report.no_question / n:6.1%} no question")


def main() -> int:
    model, _ = trainer.train(trainer.build())
    for name, convs in conversations().items():
        print(measure(model, name, convs), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
