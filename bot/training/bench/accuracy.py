"""Held-out accuracy of one trained model, as `make eval` computes it, printed as JSON.

Run in a child process by the benchmark (`python -m bot.training.bench.accuracy MODEL CONFIG`):
loading a model imports TensorFlow, which the benchmark's own process must not hold while it
measures the servers' memory and speed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def held_out_accuracy(model: Path, config: Path) -> dict[str, float]:
    """In-scope questions answered right and out-of-scope declined (%), and parses per second."""
    from bot.training import evaluate

    in_scope, oos = evaluate.load_heldout()
    threshold, ambiguity = evaluate.fallback_settings(config)
    parse = evaluate.parsers(evaluate.load_agent(model))["bot"]  # as `make eval` reports
    predictions, rate = evaluate.predict(parse, in_scope, oos, ambiguity)
    s = evaluate.score(predictions, threshold)
    return {"in_scope_correct": s.pct(s.correct, s.in_scope),
            "oos_declined": s.pct(s.oos_declined, s.oos), "parse_per_s": rate}


def main(argv: list[str]) -> int:
    model, config = argv
    print(json.dumps(held_out_accuracy(Path(model), Path(config))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
