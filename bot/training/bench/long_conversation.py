"""Turn latency along one long conversation: does a turn cost more the longer the conversation?

One sender sends `turns` messages one after another over the REST channel (held-out knowledge
questions, with a thanks, a follow-up and a feedback click now and then, as people write), and
the client times each turn. A figure "at turn t" is the median over a few turns around t (one
turn is too noisy on a shared machine); turn 1 is the median of the first turn of a few
conversations, since it includes the session start.
"""

from __future__ import annotations

import statistics
import time
import urllib.request
from dataclasses import dataclass, field

CHECKPOINTS = (1, 10, 100, 500)
WINDOW = 5  # turns on each side of a checkpoint (not beyond the conversation)


@dataclass
class Conversation:
    """Latencies (ms) of each turn of one conversation, in order; errors counted."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def at(self, turn: int, window: int = WINDOW) -> float:
        """Median latency of the turns around `turn` (1-based)."""
        lo, hi = max(1, turn - window), min(len(self.latencies_ms), turn + window)
        return statistics.median(self.latencies_ms[lo - 1:hi])


def messages(count: int, seed: int = 11) -> list[str]:
    """What the one user says, in order: held-out questions, now and then a short follow-up,
    a thanks or a feedback click."""
    import random

    from bot.training.evaluate import load_heldout

    questions = [q for q, _ in load_heldout()[0]]
    rng = random.Random(seed)
    extras = ("thanks", "and for cars?", "/feedback_helpful", "ok")
    out = []
    for n in range(count):
        out.append(extras[n // 7 % len(extras)] if n % 7 == 6 else rng.choice(questions))
    return out


def send(url: str, sender: str, text: str, timeout: float = 60) -> list[dict]:
    import json

    request = urllib.request.Request(url, json.dumps({"sender": sender, "message": text})
                                     .encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"[]")


def run(url: str, sender: str, turns: int) -> Conversation:
    """One conversation of `turns` messages; each turn timed by the client."""
    conv = Conversation()
    for text in messages(turns):
        started = time.perf_counter()
        try:
            ok = bool(send(url, sender, text))
        except (OSError, ValueError):
            ok = False
        conv.latencies_ms.append((time.perf_counter() - started) * 1000)
        conv.errors += 0 if ok else 1
    return conv


def first_turns(url: str, tag: str, count: int = 5) -> float:
    """Median latency of the first turn of `count` new conversations (session start included)."""
    latencies = [run(url, f"{tag}-first-{n}", 1).latencies_ms[0] for n in range(count)]
    return statistics.median(latencies)


def measure(url: str, tag: str, turns: int = max(CHECKPOINTS)) -> dict:
    """Latency at each checkpoint and the ratio the target is about (turn 500 / turn 10)."""
    first = first_turns(url, tag)
    conv = run(url, f"{tag}-long", turns)
    at = {str(t): round(first if t == 1 else conv.at(t), 1) for t in CHECKPOINTS if t <= turns}
    last = max(t for t in CHECKPOINTS if t <= turns)
    return {"turns": turns, "errors": conv.errors, "latency_ms": at,
            "ratio_last_to_10": round(at[str(last)] / at["10"], 2) if at.get("10") else None,
            "all_ms": [round(x, 1) for x in conv.latencies_ms]}
