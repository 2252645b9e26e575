"""`make eval`: an honest measure of understanding on held-out questions never trained on.

The bot answers a knowledge entry only when the top intent is that entry and its confidence
clears the FallbackClassifier threshold of config.yml; anything else (fallback, out_of_scope,
a conversation intent) counts as declined. A sweep over thresholds shows the trade-off, so the
threshold in config.yml is chosen by these numbers.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.names import INTENT_PREFIX, NLU_FALLBACK, OUT_OF_SCOPE
from bot.settings.paths import CONFIG_FILE, ROOT

HELDOUT_FILE = ROOT / "eval" / "heldout.yml"
SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
Parse = Callable[[str], Awaitable[dict]]


@dataclass
class Prediction:
    text: str
    expected: str | None  # entry id, or None for out of scope
    intent: str  # top intent ignoring nlu_fallback
    confidence: float
    margin: float = 1.0  # top confidence minus the second's
    ambiguity: float = 0.0
    suggestions: tuple[str, ...] = ()  # knowledge intents the clarify buttons would offer

    def answered(self, threshold: float) -> str | None:
        """The entry the bot would answer with, or None when it declines."""
        if (self.intent.startswith(INTENT_PREFIX) and self.confidence >= threshold
                and self.margin >= self.ambiguity):
            return self.intent[len(INTENT_PREFIX):]
        return None


@dataclass
class Scores:
    threshold: float
    in_scope: int = 0
    correct: int = 0
    wrongly_declined: int = 0
    declined_but_suggested: int = 0
    wrong_entry: int = 0
    oos: int = 0
    oos_declined: int = 0
    oos_answered: int = 0
    per_entry: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    confusions: Counter = field(default_factory=Counter)

    def pct(self, part: int, whole: int) -> float:
        return 100.0 * part / whole if whole else 0.0


def load_heldout(path: Path = HELDOUT_FILE) -> tuple[list[tuple[str, str]], list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    in_scope = [(str(q), entry) for entry, qs in (data.get("in_scope") or {}).items()
                for q in qs]
    return in_scope, [str(q) for q in data.get(OUT_OF_SCOPE) or []]


def score(predictions: list[Prediction], threshold: float) -> Scores:
    s = Scores(threshold)
    for p in predictions:
        got = p.answered(threshold)
        if p.expected is None:
            s.oos += 1
            if got is None:
                s.oos_declined += 1
            else:
                s.oos_answered += 1
            continue
        s.in_scope += 1
        s.per_entry[p.expected][1] += 1
        if got == p.expected:
            s.correct += 1
            s.per_entry[p.expected][0] += 1
        elif got is None:
            s.wrongly_declined += 1
            if INTENT_PREFIX + p.expected in p.suggestions:
                s.declined_but_suggested += 1
        else:
            s.wrong_entry += 1
            s.confusions[(p.expected, got)] += 1
    return s


def fallback_settings(config: Path = CONFIG_FILE) -> tuple[float, float]:
    """(threshold, ambiguity_threshold) of the FallbackClassifier in a config."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for component in data.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return (float(component.get("threshold", 0.3)),
                    float(component.get("ambiguity_threshold", 0.1)))
    return 0.0, 0.0


def load_agent(model: Path, action_endpoint: Any = None):
    """The trained model in-process, with the project's patches (so parsing goes through
    bot.understanding as in the running bot); `action_endpoint` runs its custom actions."""
    logging.getLogger("rasa").setLevel(logging.WARNING)
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no debug line per parsed message

    from bot import patches

    patches.install()
    return Agent.load(str(model), action_endpoint=action_endpoint)


def parsers(agent) -> dict[str, Parse]:
    """'model': the trained model alone; 'bot': through bot.understanding (no conversation)."""
    from rasa.core.channels.channel import UserMessage

    from bot.patches import ORIGINALS

    original = ORIGINALS.get("MessageProcessor.parse_message")

    async def model_only(text: str) -> dict:
        if original is None:
            return await agent.parse_message(text)
        return await original(agent.processor, UserMessage(text))

    async def bot(text: str) -> dict:
        return await agent.parse_message(text)

    return {"model": model_only, "bot": bot}


def predict(parse: Parse, in_scope: list[tuple[str, str]], oos: list[str],
            ambiguity: float = 0.0) -> tuple[list[Prediction], float]:
    """Parse every held-out question; return predictions and messages per second."""
    items = [(t, e) for t, e in in_scope] + [(t, None) for t in oos]

    async def parse_all() -> list[Prediction]:
        out = []
        for text, expected in items:
            result = await parse(text)
            ranking = [r for r in result.get("intent_ranking") or []
                       if r.get("name") != NLU_FALLBACK]
            intent = (result.get("intent") or {}).get("name") or ""
            if intent and intent != NLU_FALLBACK and not intent.startswith(INTENT_PREFIX):
                # A conversation intent set outside the model (another language): declined.
                ranking = [{"name": intent, "confidence": 1.0}]
            top = ranking[0] if ranking else {"name": "", "confidence": 0.0}
            second = float(ranking[1]["confidence"]) if len(ranking) > 1 else 0.0
            suggestions = tuple(r["name"] for r in ranking
                                if r["name"].startswith(INTENT_PREFIX))[:3]
            out.append(Prediction(text, expected, top["name"], float(top["confidence"]),
                                  float(top["confidence"]) - second, ambiguity, suggestions))
        return out

    started = time.perf_counter()
    predictions = asyncio.run(parse_all())
    rate = len(items) / (time.perf_counter() - started)
    return predictions, rate


def report(predictions: list[Prediction], threshold: float, rate: float) -> str:
    s = score(predictions, threshold)
    ambiguity = predictions[0].ambiguity if predictions else 0.0
    lines = [f"Held-out evaluation at the configured threshold {threshold:.2f}, ambiguity "
             f"{ambiguity:.2f} "
             f"({s.in_scope} in-scope, {s.oos} out-of-scope questions; parsing {rate:.0f} msg/s)",
             "", "Top-1 accuracy per entry (correct/asked):"]
    for entry, (ok, total) in sorted(s.per_entry.items(), key=lambda kv: kv[1][0] / kv[1][1]):
        mark = "" if ok == total else "   <--"
        lines.append(f"  {entry:40s} {ok:2d}/{total:<2d} {100 * ok / total:5.1f}%{mark}")
    lines += ["", "Most confused pairs (expected -> answered instead):"]
    for (expected, got), n in s.confusions.most_common(10):
        lines.append(f"  {n} x {expected} -> {got}")
    if not s.confusions:
        lines.append("  none")
    lines += [
        "",
        f"In-scope answered with the right entry: {s.pct(s.correct, s.in_scope):5.1f}%",
        f"In-scope wrongly declined:              {s.pct(s.wrongly_declined, s.in_scope):5.1f}%"
        f"  (right entry among the 'did you mean' buttons for "
        f"{s.pct(s.declined_but_suggested, s.wrongly_declined):.0f}% of them)",
        f"In-scope answered with a wrong entry:   {s.pct(s.wrong_entry, s.in_scope):5.1f}%",
        f"Out-of-scope declined:                  {s.pct(s.oos_declined, s.oos):5.1f}%",
        f"Out-of-scope answered with an entry:    {s.pct(s.oos_answered, s.oos):5.1f}%",
        "",
        "Threshold sweep (in-scope right / wrongly declined / wrong entry | OOS declined):",
    ]
    for t in sorted(set(SWEEP) | {threshold}):
        x = score(predictions, t)
        mark = "  <- config.yml" if t == threshold else ""
        lines.append(f"  {t:.2f}: {x.pct(x.correct, x.in_scope):5.1f}% / "
                     f"{x.pct(x.wrongly_declined, x.in_scope):4.1f}% / "
                     f"{x.pct(x.wrong_entry, x.in_scope):4.1f}% | "
                     f"{x.pct(x.oos_declined, x.oos):5.1f}%{mark}")
    return "\n".join(lines)


def summary_line(label: str, predictions: list[Prediction], threshold: float) -> str:
    s = score(predictions, threshold)
    return (f"  {label:34s} right {s.pct(s.correct, s.in_scope):5.1f}%  wrong entry "
            f"{s.pct(s.wrong_entry, s.in_scope):4.1f}%  declined "
            f"{s.pct(s.wrongly_declined, s.in_scope):4.1f}%  | out of scope declined "
            f"{s.pct(s.oos_declined, s.oos):5.1f}%")


# The held-out sets measure the result: never tuned on, their misses not shown by `--set`.
BLIND_SETS = ("heldout.yml", "realworld.yml")


def blind(path: Path) -> bool:
    """A held-out set (even through a link or a copy's name) or a set whose header says BLIND."""
    resolved = path.resolve()
    if resolved.name in BLIND_SETS or path.name in BLIND_SETS:
        return True
    try:
        with path.open(encoding="utf-8") as f:
            header = "".join(line for line in itertools.islice(f, 10) if line.startswith("#"))
    except OSError:
        return False
    return "BLIND" in header


def misses(predictions: list[Prediction], threshold: float) -> list[str]:
    """Each in-scope question not answered right and each out-of-scope one answered, with what
    the bot did instead (top intent and confidence when it declined)."""
    lines = []
    for p in predictions:
        got = p.answered(threshold)
        if got == p.expected:
            continue
        if p.expected is None or got is not None:
            what = f"answered {got}"
        else:
            what = f"declined (top {p.intent or '-'} {p.confidence:.2f}, margin {p.margin:.2f})"
        lines.append(f"  {p.expected or OUT_OF_SCOPE} -> {what}: {p.text}")
    return lines


def main_set(path: Path, totals_only: bool = False) -> int:
    """A development set in eval/heldout.yml's format, scored as `make eval` scores the held-out
    questions; `totals_only` (for a check set, kept blind) prints the two summary lines alone."""
    from bot.training import trainer

    if blind(path) and not totals_only:
        print(f"{path}: a blind set (held out, or a check set marked BLIND): its misses are "
              "never shown; use --totals.")
        return 2
    try:
        in_scope, oos = load_heldout(path)
    except (OSError, yaml.YAMLError, AttributeError, TypeError) as error:
        print(f"{path}: not a set in eval/heldout.yml's format (in_scope: entry -> questions, "
              f"{OUT_OF_SCOPE}: questions): {error}")
        return 2
    b = trainer.build()
    model, seconds = trainer.train(b)
    if seconds is not None:
        print(f"Trained {model.name} in {seconds:.0f}s.")
    threshold, ambiguity = fallback_settings(b.config)
    parse = parsers(load_agent(model))
    predictions, rate = predict(parse["bot"], in_scope, oos, ambiguity)
    alone, _ = predict(parse["model"], in_scope, oos, ambiguity)
    if not totals_only:
        print(report(predictions, threshold, rate).replace("Held-out evaluation",
                                                            f"{path.name}: evaluation", 1))
        print("\nMissed by the bot:")
        print("\n".join(misses(predictions, threshold)) or "  none")
    print(f"\n{path.name}, the model alone and the bot (model + bot.understanding):")
    print(summary_line("model alone", alone, threshold))
    print(summary_line("bot", predictions, threshold))
    return 0


def main(conversations: Callable[[Path, dict[str, str]], Any] | None = None) -> int:
    """Held-out questions, then real wording per kind. `conversations(model, env)` is a context
    manager giving a REST `send(sender, text)` for the multi-turn kinds (the CLI starts an
    assistant for it); without it those kinds are not measured."""
    from bot.content.live import get_knowledge
    from bot.settings.paths import DOMAIN_DIR
    from bot.training import realworld, trainer

    b = trainer.build()
    model, seconds = trainer.train(b)
    if seconds is not None:
        print(f"Trained {model.name} in {seconds:.0f}s.")
    in_scope, oos = load_heldout()
    threshold, ambiguity = fallback_settings(b.config)
    parse = parsers(load_agent(model))
    predictions, rate = predict(parse["bot"], in_scope, oos, ambiguity)
    alone, _ = predict(parse["model"], in_scope, oos, ambiguity)
    print(report(predictions, threshold, rate))
    print("\nHeld-out questions, the model alone and the bot (model + bot.understanding):")
    print(summary_line("model alone", alone, threshold))
    print(summary_line("bot", predictions, threshold))

    data = realworld.load()
    items = realworld.single_items(data)
    before = asyncio.run(realworld.score_single(items, parse["model"]))
    after = asyncio.run(realworld.score_single(items, parse["bot"]))
    rows = {kind: (before[kind], after[kind]) for kind in items}
    if conversations is not None:
        texts = realworld.conversation_texts(get_knowledge(), DOMAIN_DIR)
        measured = {}
        for label, switch in (("before", "off"), ("after", "on")):
            with conversations(model, {"CUSTOMS_UNDERSTANDING": switch}) as send:
                measured[label] = {
                    "follow_ups": realworld.score_follow_ups(data["follow_ups"], send, texts),
                    "in_form": realworld.score_in_form(data["in_form"], send, texts)}
        for kind in realworld.CONVERSATION_KINDS:
            rows[kind] = (measured["before"][kind], measured["after"][kind])
    print("\nReal wording (eval/realworld.yml), per kind: before = the model alone, "
          "after = the bot as it runs")
    print(realworld.format_table(rows))
    print(realworld.format_offers(rows))
    print("\nMissed after (first 5 per kind):")
    for kind, (_, tally) in rows.items():
        for miss in tally.misses[:5]:
            print(f"  {kind}: {miss}")
    return 0
