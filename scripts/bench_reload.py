"""Seconds from saving a new knowledge entry to the running bot answering it (issue 15, item 2).

Starts the assistant as `make run` does (live retraining on) on loopback ports with a copy of
knowledge/ in a scratch folder, keeps one conversation sending a message every half second,
appends a new entry to a category file and asks its question from a fresh conversation every
second until the new entry's answer comes back. Prints the seconds from the save, the training
time from the retrain log, and what the conversation that ran meanwhile saw: messages, failures
(an HTTP error, no reply, the technical-problem apology) and its latencies around the switch.

usage: python scripts/bench_reload.py [--runs N] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.ops import launcher  # noqa: E402
from bot.training import trainer  # noqa: E402

MARKER = "Customs auctions of unclaimed and forfeited goods"


def new_entry(n: int) -> str:
    """A new entry about a topic the knowledge base does not cover (customs auctions)."""
    return f"""
  - id: customs_auctions_{n}
    question: When are customs auctions held?
    examples:
      - when is the next customs auction
      - how do i buy goods at a customs auction
      - auction of seized goods by customs
      - where are unclaimed goods auctioned
      - can i bid on cars seized by customs
      - customs auction dates
      - public auction of forfeited goods
      - how to register as a bidder at the customs auction
      - buying unclaimed cargo from customs
      - list of items for the customs auction
    answer: "{MARKER} are announced in the national newspapers and on {{website}}, with the
      list of lots and the viewing days (run {n})."
    source: "Customs and Excise Act, unclaimed goods [bench]"
    owner: Customs Support Unit
    reviewed: 2026-12-01
"""


class Conversation(threading.Thread):
    """One person chatting while the content changes: every reply, failure and latency."""

    QUESTIONS = ["hello", "what is the vat rate on imports", "how do i get a tpin",
                 "what are the border post opening hours", "thanks"]

    def __init__(self, rest_url: str, apology: str) -> None:
        super().__init__(daemon=True)
        self.rest_url, self.apology = rest_url, apology
        self.sender = f"bench-{uuid.uuid4().hex[:8]}"
        self.stop = threading.Event()
        self.sent: list[tuple[float, float]] = []  # (wall time, latency seconds)
        self.failures: list[str] = []

    def run(self) -> None:
        i = 0
        while not self.stop.wait(0.5):
            text = self.QUESTIONS[i % len(self.QUESTIONS)]
            i += 1
            started = time.monotonic()
            try:
                replies = launcher.rest_send(self.rest_url, self.sender, text)
            except Exception as error:  # noqa: BLE001 - counted, not fatal
                self.failures.append(f"{text!r}: {type(error).__name__}: {error}")
                continue
            self.sent.append((time.time(), time.monotonic() - started))
            texts = " ".join(r.get("text", "") for r in replies)
            if not replies or self.apology in texts:
                self.failures.append(f"{text!r}: {replies!r}")


def answered(rest_url: str) -> bool:
    replies = launcher.rest_send(rest_url, f"probe-{uuid.uuid4().hex[:8]}",
                                 "when is the next customs auction")
    return any(MARKER in r.get("text", "") for r in replies)


def one_run(model: Path, tmp: Path, n: int, timeout: float) -> dict:
    (tmp / "build").mkdir(parents=True)
    encoders = trainer.build_dir() / "encoders"
    if encoders.exists():  # the derived int8 encoder: reuse it rather than derive it again
        os.symlink(encoders, tmp / "build" / "encoders")
    # Rate limits off: one conversation at two messages a second plus a probe a second.
    overrides = {"BUILD_DIR": str(tmp / "build"), "MODELS_DIR": str(tmp / "models"),
                 "RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "0"}
    with launcher.scratch_stack(model, tmp, web=False, live_retrain=True,
                                overrides=overrides) as stack:
        rest = f"{stack.rasa_url}/webhooks/rest/webhook"
        assert not answered(rest), "the new entry is answered before it was saved"
        apology = "technical problem on our side"
        chat = Conversation(rest, apology)
        chat.start()
        time.sleep(3)
        with open(tmp / "knowledge" / "travellers.yml", "a", encoding="utf-8") as out:
            out.write(new_entry(n))
        saved = time.time()
        live = None
        while time.time() - saved < timeout:
            if answered(rest):
                live = time.time() - saved
                break
            time.sleep(1)
        time.sleep(3)
        chat.stop.set()
        chat.join(70)
        log = (stack.log_dir / "retrain.log").read_text("utf-8")
    trained = [line for line in log.splitlines() if "New model ready in" in line]
    # Replies that ended in the seconds around the swap (the model is loaded at most a pull
    # interval before the first answer of the new entry) against those during the training.
    switch = [lat for t, lat in chat.sent
              if live is not None and saved + live - 4 <= t <= saved + live + 1]
    training = [lat for t, lat in chat.sent if live is None or saved <= t < saved + live - 4]
    return {"live": live, "trained": trained[-1].split(" ", 2)[2] if trained else "(none)",
            "messages": len(chat.sent), "failures": chat.failures,
            "p50": statistics.median(lat for _, lat in chat.sent) if chat.sent else 0,
            "max": max((lat for _, lat in chat.sent), default=0),
            "max_training": max(training, default=0), "max_switch": max(switch, default=0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    b = trainer.build()
    model, _ = trainer.train(b)
    print(f"Knowledge: {len(b.report.kb.entries)} entries; starting model {model.name}")
    results = []
    for n in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="bench-reload-") as tmp:
            shutil.copytree(ROOT / "knowledge", Path(tmp) / "knowledge")
            r = one_run(model, Path(tmp), n, args.timeout)
        results.append(r)
        live = f"{r['live']:.1f} s" if r["live"] is not None else f"not within {args.timeout} s"
        print(f"run {n}: new entry answered {live} after the save; {r['trained']}")
        print(f"  conversation meanwhile: {r['messages']} messages, {len(r['failures'])} "
              f"failed; latency median {r['p50'] * 1000:.0f} ms, max {r['max'] * 1000:.0f} ms "
              f"(while training {r['max_training'] * 1000:.0f} ms, around the swap "
              f"{r['max_switch'] * 1000:.0f} ms)")
        for failure in r["failures"][:5]:
            print(f"    failed: {failure}")
    lives = [r["live"] for r in results if r["live"] is not None]
    if lives:
        print(f"Saved → answered: median {statistics.median(lives):.1f} s over {len(lives)} "
              f"run(s) (target ≤ 180 s)")
    return 0 if len(lives) == len(results) and not any(r["failures"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
