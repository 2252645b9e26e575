"""`python -m bot ask "…"`: what the bot would do with a wording, without starting servers.

Support staff try a question before users do. The trained model is loaded in-process with the
project's Rasa patches and Rasa's own processor handles the message, with the real actions run
in-process (`bot.training.local_actions`): the reply shown is the reply a user would get,
settings filled in, chosen by the same rules and forms. Rasa is imported inside functions only:
importing this module stays cheap (the support layer never imports Rasa at module level).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.names import (
    ANSWER_ACTION,
    CLARIFY_ACTION,
    DECLARATION_FORM,
    DOMESTIC_TAX,
    HANDOVER_FORM,
    INTENT_PREFIX,
    NLU_FALLBACK,
    OTHER_LANGUAGE,
    OUT_OF_SCOPE,
    SOMETHING_ELSE,
)

ALTERNATIVES = 3  # "the next three entries" after the chosen one

# What the bot does, in the words the officer reads.
ANSWER = "answer"
CLARIFY = "clarify"
DECLINE = "decline"
HAND_OVER = "hand over"
LANGUAGE = "other language"
TAX = "domestic tax"
REPLY = "reply"
FORM = "declaration check"


@dataclass
class Reply:
    """One bot message: its text and the titles of its buttons."""

    text: str
    buttons: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """What the bot would do with one message."""

    text: str
    kind: str  # one of ANSWER, CLARIFY, DECLINE, HAND_OVER, LANGUAGE, TAX, REPLY, FORM
    intent: str
    confidence: float
    entries: list[str]  # the entries answered (two for a message with two questions)
    alternatives: list[tuple[str, float]]  # the next likeliest intents after the chosen one
    replies: list[Reply]
    notes: dict[str, Any] = field(default_factory=dict)  # what bot.understanding changed

    @property
    def entry(self) -> str:
        return ", ".join(self.entries) if self.entries else "-"


def ranking(parse: dict[str, Any]) -> list[tuple[str, float]]:
    """The model's intents, likeliest first, without Rasa's nlu_fallback marker."""
    return [(str(r.get("name")), float(r.get("confidence") or 0.0))
            for r in parse.get("intent_ranking") or [] if r.get("name") != NLU_FALLBACK]


def short(intent: str) -> str:
    """An intent as the officer knows it: the entry id for knowledge intents."""
    return intent[len(INTENT_PREFIX):] if intent.startswith(INTENT_PREFIX) else intent


class Asker:
    """The trained model and the actions, in-process; keeps one conversation.

    Each message goes through Rasa's own processor (`handle_message`) with the actions run in
    this process (`bot.training.local_actions`), so rules, forms and fallbacks decide as in the
    running bot; what the bot did is read off the events of the turn.
    """

    def __init__(self, agent: Any) -> None:
        from bot.training.evaluate import fallback_settings

        self.agent = agent
        self.threshold, self.ambiguity = fallback_settings()
        self.conversations = 0
        self.sender = ""
        self.active_loop: str | None = None
        self.reset()

    @classmethod
    def load(cls, model: Path) -> Asker:
        from bot.training.evaluate import load_agent
        from bot.training.local_actions import in_process_endpoint

        return cls(load_agent(model, action_endpoint=in_process_endpoint()))

    def reset(self) -> None:
        """Start a new conversation (each line of `--file` is asked on its own)."""
        self.conversations += 1
        self.sender = f"ask-{self.conversations}"
        self.active_loop = None

    def ask(self, text: str) -> Verdict:
        """What the running bot would do with `text` after this conversation's earlier turns."""
        return asyncio.run(self._ask(text))

    async def _ask(self, text: str) -> Verdict:
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
        from rasa.shared.core.events import ActionExecuted, UserUttered

        out = CollectingOutputChannel()
        await self.agent.handle_message(UserMessage(text, out, sender_id=self.sender))
        tracker = await self.agent.tracker_store.retrieve(self.sender)
        events = list(tracker.events)
        last_user = max(i for i, e in enumerate(events) if isinstance(e, UserUttered))
        ran = [e.action_name for e in events[last_user:] if isinstance(e, ActionExecuted)]
        self.active_loop = tracker.active_loop_name
        parse = tracker.latest_message.parse_data or {}
        intent = (parse.get("intent") or {}).get("name") or ""
        replies = [Reply(str(m.get("text") or ""),
                         [str(b.get("title")) for b in m.get("buttons") or []])
                   for m in out.messages]
        kind = self._kind(intent, ran, replies)
        ranked = ranking(parse)
        confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
        if intent == NLU_FALLBACK and ranked:
            confidence = ranked[0][1]  # how sure the model was of its best guess
        compound = [i for i in parse.get("compound") or [] if i.startswith(INTENT_PREFIX)]
        entries = [short(i) for i in compound] or (
            [short(intent)] if intent.startswith(INTENT_PREFIX) and kind == ANSWER else [])
        chosen = {intent, *compound}
        if intent == NLU_FALLBACK and ranked:
            chosen = {ranked[0][0]}
        others = [(short(i), c) for i, c in ranked if i not in chosen][:ALTERNATIVES]
        top = intent if intent != NLU_FALLBACK or not ranked else ranked[0][0]
        return Verdict(text, kind, short(top), confidence, entries, others, replies,
                       dict(parse.get("understanding") or {}))

    def _kind(self, intent: str, ran: list[str | None], replies: list[Reply]) -> str:
        """What the bot did this turn, from the actions Rasa ran and the form left active."""
        if self.active_loop == HANDOVER_FORM:
            return HAND_OVER  # asked for, or a second miss in a row: the form started
        if self.active_loop == DECLARATION_FORM:
            return FORM
        if ANSWER_ACTION in ran:
            return ANSWER
        if CLARIFY_ACTION in ran:
            # no topic likely enough to offer: the out-of-scope message
            return CLARIFY if any(r.buttons for r in replies) else DECLINE
        return {OTHER_LANGUAGE: LANGUAGE, DOMESTIC_TAX: TAX, OUT_OF_SCOPE: DECLINE,
                SOMETHING_ELSE: DECLINE}.get(intent, REPLY)

    @property
    def in_form(self) -> bool:
        return bool(self.active_loop)


def import_quickly() -> None:
    """Import the model's libraries in the order that loads them fastest (about 10 s saved).

    Loading the classifier imports `skops.io`, which looks up each numpy and scipy ufunc by
    scanning `sys.modules` in order; after TensorFlow that is some 1,500 modules per ufunc (13 s
    here). Importing skops first, with numpy and scipy at the front of `sys.modules`, finds each
    at once. Only the order of the dictionary changes, never what is imported.
    """
    if "skops.io" in sys.modules:
        return
    import numpy  # noqa: F401 - imported for the order of sys.modules
    import scipy.special  # noqa: F401
    import sklearn  # noqa: F401

    front = ("numpy", "scipy.special")
    for name in [n for n in sys.modules if not n.startswith(front)]:
        sys.modules[name] = sys.modules.pop(name)
    import skops.io  # noqa: F401


def find_model(model: Path | None = None) -> tuple[Path, float | None]:
    """The model for the current knowledge (trained if there is none yet): (path, seconds)."""
    import tempfile

    from bot.training import trainer

    if model is not None:
        return model, None
    with tempfile.TemporaryDirectory() as tmp:  # build/ may be someone else's work in progress
        b = trainer.build(out_dir=Path(tmp) / "rasa")
        if b.model.exists():
            return b.model, None
        print("No model for the current knowledge yet: training one (about a minute)...",
              flush=True)
        from bot.settings.paths import var_dir

        return trainer.train(b, log=var_dir() / "log" / "train.log")


def find_model_while_importing(model: Path | None = None) -> tuple[Path, float | None]:
    """`find_model` in a child process while this one imports Rasa: checking and compiling
    the knowledge base (0.4 s) runs on the other core instead of before the 3 s of imports."""
    if model is not None:
        return model, None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        found = pool.submit(find_model)
        with _quiet():
            import_quickly()
            import rasa.core.agent  # noqa: F401 - imported now, used by Asker.load
        return found.result()


def describe(v: Verdict, threshold: float) -> str:
    """One verdict, the way `ask` prints it for a single question."""
    what = {
        ANSWER: f"answer with entry {v.entry}",
        CLARIFY: "not sure: offer the likeliest topics as buttons",
        DECLINE: "decline (out of scope)",
        HAND_OVER: "hand over to a person (the hand-over form starts)",
        LANGUAGE: "say it answers in English only (another language)",
        TAX: "say domestic taxes are not customs (domestic tax)",
        REPLY: f"reply with its own message '{v.intent}'",
        FORM: "start the declaration status check",
    }[v.kind]
    lines = [f"> {v.text}",
             f"The bot would {what}.",
             f"Top intent: {v.intent} (confidence {v.confidence:.2f}; the bot answers from "
             f"{threshold:.2f})"]
    if v.alternatives:
        lines.append("Next: " + ", ".join(f"{name} {c:.2f}" for name, c in v.alternatives))
    if v.notes:
        lines.append("Understanding: " + "; ".join(f"{k} {val}" for k, val in v.notes.items()))
    lines.append("What the user sees:")
    for reply in v.replies:
        lines += ["  " + line if line else "" for line in reply.text.splitlines()]
        lines += [f"  [{title}]" for title in reply.buttons]
    return "\n".join(lines)


def table(verdicts: Iterable[Verdict]) -> str:
    """Many wordings, one line each: what the bot does, the entry, confidence, the runner-up."""
    rows = [("Wording", "Bot would", "Entry", "Conf.", "Next")]
    for v in verdicts:
        runner = f"{v.alternatives[0][0]} {v.alternatives[0][1]:.2f}" if v.alternatives else ""
        entry = v.entry if v.entries else (v.intent if v.kind == CLARIFY else "-")
        rows.append((v.text, v.kind, entry, f"{v.confidence:.2f}", runner))
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = [(c if len(c) <= w else c[:w - 1] + "…").ljust(w) for c, w in zip(row, widths,
                                                                                  strict=True)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def read_questions(path: Path) -> list[str]:
    """One wording per line; blank lines and lines starting with # are skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@contextlib.contextmanager
def scratch_app_database() -> Iterator[None]:
    """Trying wordings must not count: votes, failed lookups and tickets go to a throwaway
    SQLite file, never to the application database the report reads."""
    import os
    import tempfile

    from bot import appdb

    before = os.environ.get("CUSTOMS_DB_URL")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CUSTOMS_DB_URL"] = f"sqlite:///{Path(tmp) / 'ask.db'}"
        appdb.dispose_engines()
        try:
            appdb.init_db()
            yield
        finally:
            appdb.dispose_engines()
            if before is None:
                os.environ.pop("CUSTOMS_DB_URL", None)
            else:
                os.environ["CUSTOMS_DB_URL"] = before


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Libraries' deprecation warnings would bury the answer: shown only if loading fails."""
    noise = io.StringIO()
    try:
        with contextlib.redirect_stderr(noise):
            yield
    except BaseException:
        sys.stderr.write(noise.getvalue())
        raise


def main(questions: list[str], file: Path | None = None, conversation: bool = False,
         timing: bool = False, model: Path | None = None) -> int:
    """CLI entry (see the module docstring); returns the exit status."""
    import logging
    import os
    import warnings

    started = time.perf_counter()
    if file is not None:
        try:
            questions = [*questions, *read_questions(file)]
        except OSError as error:
            print(f"Cannot read {file}: {error.strerror}")
            return 1
        except UnicodeDecodeError:
            print(f"Cannot read {file}: it is not UTF-8 text; save it as UTF-8")
            return 1
    questions = [q for q in questions if q.strip()]  # the REST channel refuses empty ones
    if not questions:
        print('Nothing to ask: give a question, e.g. python -m bot ask "how do i get a tpin"')
        return 1
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    warnings.simplefilter("ignore")  # library deprecation noise would bury the answer
    logging.getLogger().setLevel(logging.ERROR)
    from bot.training import trainer

    try:
        path, seconds = find_model_while_importing(model)
    except (trainer.ContentError, RuntimeError) as error:
        print(error)
        print("The model could not be found or trained: run `make validate`.")
        return 1
    train_seconds = seconds or 0.0
    with scratch_app_database():
        first, loaded, verdicts = _ask_all(path, questions, file, conversation)
    if file is not None:
        print(table(verdicts))
    if timing and first is not None:
        print(f"\nTime to first answer: {first - started - train_seconds:.1f} s (loading the "
              f"model {loaded - started - train_seconds:.1f} s, first question "
              f"{first - loaded:.2f} s; model {path.name})")
    return 0


def _ask_all(path: Path, questions: list[str], file: Path | None,
             conversation: bool) -> tuple[float | None, float, list[Verdict]]:
    """Load the model and ask each question; prints each verdict unless `file` asks a table."""
    with _quiet():
        import_quickly()
        asker = Asker.load(path)
    loaded = time.perf_counter()
    verdicts: list[Verdict] = []
    first = None
    for text in questions:
        if not conversation:
            asker.reset()
        elif asker.in_form:
            print("(The next messages would answer the form's questions: stopping here.)")
            break
        with _quiet():
            verdicts.append(asker.ask(text))
        first = first or time.perf_counter()
        if file is None:
            if len(verdicts) > 1:
                print()
            print(describe(verdicts[-1], asker.threshold), flush=True)
    return first, loaded, verdicts
