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


def form_questions() -> frozenset[str]:
    """What the hand-over form asks (knowledge/messages.yml)."""
    from bot.content.live import get_knowledge

    kb = get_knowledge()
    return frozenset(kb.message(key) for key in (
        "handoff_ask_name", "handoff_ask_question", "handoff_ask_contact"))


def run(url: str, sender: str, turns: int) -> Conversation:
    """One conversation of `turns` messages; each turn timed by the client.

    When the bot starts the hand-over form (two questions in a row it could not place), the
    person says "stop", as someone who wanted an answer would: otherwise every later turn is a
    form turn (the form answers the question and asks for the name again), and turn 500 would
    be compared with turn 10 across two kinds of turn rather than across the conversation's
    length."""
    conv = Conversation()
    asks = form_questions()
    script = iter(messages(turns))
    in_form = False
    for _ in range(turns):
        text = "stop" if in_form else next(script)
        started = time.perf_counter()
        try:
            replies = send(url, sender, text)
            ok = bool(replies)
        except (OSError, ValueError):
            replies, ok = [], False
        conv.latencies_ms.append((time.perf_counter() - started) * 1000)
        conv.errors += 0 if ok else 1
        in_form = any((r.get("text") or "") in asks for r in replies)
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
