"""Rasa's `MessageProcessor.parse_message` with `bot.understanding` around it.

`parse_message` is where Rasa has both the message and the conversation: the model's parse of
each reading is Rasa's own (the original function); what the conversation adds (the entry
answered last, an open form) is read from the tracker here. `CUSTOMS_UNDERSTANDING=off` serves
the model's parse alone (`make eval` measures both).

A message's extra readings (its clauses, a follow-up after each wording of the previous entry)
are read together in one run of the model graph (`Reader.many`): each reading was a graph run
of its own, 1.5 runs a message on the bench's conversations, and about 0.7 ms of a 4 ms reading
is the run rather than the text (scripts/bench_understanding_cost.py). The previous entry's
wordings read alone are texts of the knowledge: their readings are kept per model.
"""

from __future__ import annotations

import copy
import logging
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from bot.names import ANSWER_ACTION, INTENT_PREFIX

logger = logging.getLogger(__name__)

# Readings of knowledge texts kept per model: every entry's wordings that follow-ups are read
# after (READING_EXAMPLES + 1 per entry) fit many times over.
FIXED_READINGS = 4096
_fixed: weakref.WeakKeyDictionary[Any, OrderedDict[str, dict[str, Any]]] = (
    weakref.WeakKeyDictionary())


def recent_turns(tracker: Any) -> list[tuple[str, str | None]]:
    """The session's latest user messages (at most CONTEXT_TURNS), oldest first, each with the
    knowledge entry answered to it (the last of two; None when no entry was answered)."""
    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered

    from bot.understanding.context import CONTEXT_TURNS

    turns: list[tuple[str, str | None]] = []
    if tracker is None:
        return turns
    answered = False
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted) or len(turns) >= CONTEXT_TURNS:
            break
        if isinstance(event, ActionExecuted) and event.action_name == ANSWER_ACTION:
            answered = True
        elif isinstance(event, UserUttered):
            entry = None
            if answered:
                compound = event.parse_data.get("compound") or []
                name = compound[-1] if compound else (event.intent or {}).get("name") or ""
                entry = name[len(INTENT_PREFIX):] if name.startswith(INTENT_PREFIX) else None
            turns.append((event.text or "", entry))
            answered = False
    return turns[::-1]


class Reader:
    """The model's parse of another wording of a message, as Rasa's `parse_message` gives it:
    `await reader(text)` for one, `await reader.many(texts)` for several in one graph run."""

    def __init__(self, processor: Any, message: Any, tracker: Any,
                 only_output_properties: bool) -> None:
        self.processor, self.message, self.tracker = processor, message, tracker
        self.only_output_properties = only_output_properties

    def _copy(self, reading: str) -> Any:
        from rasa.core.channels.channel import UserMessage

        m = self.message
        return UserMessage(reading, None, m.sender_id, None, m.input_channel, m.message_id,
                           m.metadata)

    async def __call__(self, reading: str) -> dict[str, Any]:
        from bot.patches import ORIGINALS

        return await ORIGINALS["MessageProcessor.parse_message"](
            self.processor, self._copy(reading), self.tracker, self.only_output_properties)

    async def many(self, readings: Sequence[str], fixed: bool = False) -> list[dict[str, Any]]:
        """The parses of `readings`, in order, from one run of the model graph. `fixed`: texts
        of the knowledge, kept per model (a parse depends on the text and the model only)."""
        processor = self.processor
        if processor.http_interpreter is not None or not readings:
            return [await self(reading) for reading in readings]
        kept = None
        if fixed and self.only_output_properties:
            kept = _fixed.setdefault(processor.graph_runner, OrderedDict())
        found: dict[str, dict[str, Any]] = {}
        for reading in readings if kept is not None else ():
            if reading in kept:
                kept.move_to_end(reading)
                found[reading] = kept[reading]
        todo = [reading for reading in readings if reading not in found]
        fresh = self._graph(todo)
        if kept is None:
            return fresh
        for reading, parse in zip(todo, fresh, strict=True):
            found[reading] = kept[reading] = parse
            if len(kept) > FIXED_READINGS:
                kept.popitem(last=False)
        return [copy.deepcopy(found[reading]) for reading in readings]

    def _graph(self, readings: list[str]) -> list[dict[str, Any]]:
        """Rasa's `_parse_message_with_graph` and `parse_message` for several messages. Rasa's
        domain check of each parse (a warning when the model gives an intent the domain lacks)
        is made on the message's own reading only: a third of a millisecond each, for the
        same model and domain."""
        if not readings:
            return []
        from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
        from rasa.shared.core.trackers import DialogueStateTracker
        from rasa.shared.nlu.constants import (
            ENTITIES,
            INTENT,
            INTENT_NAME_KEY,
            PREDICTED_CONFIDENCE_KEY,
            TEXT,
        )

        processor = self.processor
        tracker = self.tracker
        if tracker is None:
            tracker = DialogueStateTracker.from_events(self.message.sender_id, [])
        target = processor.model_metadata.nlu_target
        results = processor.graph_runner.run(
            inputs={PLACEHOLDER_MESSAGE: [self._copy(r) for r in readings],
                    PLACEHOLDER_TRACKER: tracker},
            targets=[target])
        parses = []
        for parsed in results[target]:
            parse_data = {TEXT: "", INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0},
                          ENTITIES: []}
            parse_data.update(parsed.as_dict(only_output_properties=self.only_output_properties))
            processor._update_full_retrieval_intent(parse_data)
            parses.append(parse_data)
        return parses


async def _parse_message(self: Any, message: Any, tracker: Any = None,
                         only_output_properties: bool = True) -> dict[str, Any]:
    from bot.patches import ORIGINALS
    from bot.understanding import build, enabled, forms

    original = ORIGINALS["MessageProcessor.parse_message"]
    text = message.text
    if (not isinstance(text, str) or not text.strip() or text.startswith("/")
            or not enabled()):
        return await original(self, message, tracker, only_output_properties)

    parse = Reader(self, message, tracker, only_output_properties)
    in_form = bool(tracker is not None and tracker.active_loop_name)
    context = build.context_from(recent_turns(tracker), in_form)
    result = await build.current()(text, parse, context)
    if in_form:
        # "forget it, I'll go to the office": leave the form (bot.understanding.forms).
        reading = (result.get("understanding") or {}).get("normalised") or text
        result = await forms.leaving(result, reading, parse)
    return result


def install() -> None:
    """Patch Rasa's processor (bot.patches.install() calls this once)."""
    from rasa.core.processor import MessageProcessor

    from bot.patches import replace

    if replace(MessageProcessor, "parse_message", _parse_message):
        _prepare()


def _prepare() -> None:
    """Build the speller and the language detector at start-up (about a second), not in the
    first person's turn."""
    from bot.understanding import build

    try:
        build.current()
    except Exception:  # the knowledge base unreadable: the first message will say why
        logger.exception("could not prepare the understanding of messages at start-up")
