"""The load generator: concurrent conversations over the REST channel, latency per message.

Each simulated user runs conversations back to back, each on a new connection (as phones and
browsers do), until the level's message budget or time limit is reached. A reply counts as an
error when it is not 200, is empty, or lacks the text the script expects.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field

LEVELS = (1, 8, 32)  # concurrent conversations
MAX_MESSAGES = {1: 120, 8: 480, 32: 960}
MAX_SECONDS = 45.0
WARMUP_MESSAGES = 12
LOOKUP = ("status of LSK/2026/C/10452 tpin 1002003004", "assessed")

Script = list[tuple[str, str | None]]  # (message, text the reply must contain, if any)


@dataclass
class Level:
    """What one concurrency level measured."""

    concurrency: int
    messages: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """The q-th percentile latency, nearest rank (a latency that was actually measured)."""
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[max(0, math.ceil(q / 100 * len(data)) - 1)]

    def summary(self) -> dict:
        """The figures kept in results.json."""
        return {"concurrency": self.concurrency, "messages": self.messages,
                "errors": self.errors, "seconds": round(self.seconds, 2),
                "msgs_per_s": round(self.rate, 2), "p50_ms": round(self.pct(50), 1),
                "p95_ms": round(self.pct(95), 1), "p99_ms": round(self.pct(99), 1)}


def scripts(seed: int = 7) -> list[Script]:
    """Conversations: three held-out knowledge questions, the declaration lookup, a goodbye."""
    from bot.training.evaluate import load_heldout

    questions = [q for q, _ in load_heldout()[0]]
    rng = random.Random(seed)
    out = []
    for _ in range(64):
        picked = [(q, None) for q in rng.sample(questions, 3)]
        out.append([("hello", None), *picked, LOOKUP, ("no thanks", None)])
    return out


async def drive(url: str, concurrency: int, max_messages: int, max_seconds: float,
                tag: str, convs: list[Script] | None = None) -> Level:
    """`concurrency` users, each running conversations back to back, until a bound is hit."""
    import aiohttp

    level = Level(concurrency)
    convs = convs or scripts()
    deadline = time.monotonic() + max_seconds
    budget = [max_messages]
    timeout = aiohttp.ClientTimeout(total=60)

    async def user(index: int) -> None:
        n = 0
        while True:
            sender = f"bench-{tag}-{concurrency}-{index}-{n}"
            # Each conversation is a new user on a new connection, as phones and browsers are:
            # with several Sanic workers, who accepts a connection decides who serves it.
            async with aiohttp.ClientSession(timeout=timeout) as session:
                if not await conversation(sender, convs[(index + n) % len(convs)], session):
                    return
            n += 1

    async def conversation(sender: str, script: Script, session: aiohttp.ClientSession) -> bool:
        for text, expect in script:
            if budget[0] <= 0 or time.monotonic() > deadline:
                return False
            budget[0] -= 1
            started = time.perf_counter()
            try:
                async with session.post(url, json={"sender": sender, "message": text}) as r:
                    body = await r.json(content_type=None)
                    ok = r.status == 200 and bool(body)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                ok, body = False, None
            level.latencies_ms.append((time.perf_counter() - started) * 1000)
            level.messages += 1
            if ok and expect:
                ok = expect in " ".join(m.get("text", "") for m in body).lower()
            level.errors += 0 if ok else 1
        return True

    started = time.monotonic()
    await asyncio.gather(*(user(i) for i in range(concurrency)))
    level.seconds = time.monotonic() - started
    return level
