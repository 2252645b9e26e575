"""Build the understanding pieces from the knowledge being served, once per version of it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from bot.content.live import get_knowledge
from bot.settings.paths import DATA_DIR
from bot.understanding import language, lexicon, spelling
from bot.understanding.context import CONTEXT_TURNS, READING_EXAMPLES, Context, topic_words
from bot.understanding.pipeline import Understanding

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_built: dict[int, Understanding] = {}


def knowledge_texts(kb) -> list[str]:
    texts: list[str] = []
    for entry in kb.entries.values():
        texts += [entry.question, entry.answer, *entry.examples]
    return texts


def for_knowledge(kb) -> Understanding:
    """Speller and language detector over this knowledge base's vocabulary."""
    counts = lexicon.domain_counts(knowledge_texts(kb), DATA_DIR)
    try:
        english = lexicon.english_words()
    except Exception:  # the encoder package is missing: no English list, no detection
        logger.exception("English word list unavailable: language detection is off")
        return Understanding(speller=spelling.Speller(counts), detector=None)
    detector = language.detector(english, counts, spelling.abbreviations())
    foreign = frozenset().union(*language.language_words().values())
    return Understanding(speller=spelling.Speller(counts, english, foreign), detector=detector)


def current() -> Understanding:
    """The pieces for the knowledge served now (rebuilt when a valid edit is loaded)."""
    kb = get_knowledge()
    with _lock:
        if id(kb) not in _built:
            _built.clear()
            _built[id(kb)] = for_knowledge(kb)
        return _built[id(kb)]


_topics: dict[int, tuple[dict[str, frozenset[str]], frozenset[str]]] = {}


def _topic_words(kb) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """Each entry's rare words and all of them, once per version of the knowledge."""
    with _lock:
        if id(kb) not in _topics:
            _topics.clear()
            by_entry = topic_words({entry.id: (entry.question, *entry.examples)
                                    for entry in kb.entries.values()})
            _topics[id(kb)] = by_entry, frozenset().union(*by_entry.values())
        return _topics[id(kb)]


def context_for(previous_entry: str | None, in_form: bool = False) -> Context:
    """The context of a conversation whose latest answer was `previous_entry`."""
    if previous_entry is None:
        return Context(in_form=in_form)
    kb = get_knowledge()
    entry = kb.entries.get(previous_entry)
    if entry is None:
        return Context(in_form=in_form)
    wordings = (entry.question, *entry.examples[:READING_EXAMPLES])
    by_entry, rare = _topic_words(kb)
    return Context(previous_entry=entry.id, previous_question=entry.question,
                   related=tuple(entry.related), in_form=in_form,
                   previous_wordings=tuple(dict.fromkeys(wordings)),
                   previous_words=by_entry.get(entry.id, frozenset()), rare_words=rare,
                   entry_words=by_entry)


def context_from(turns: Sequence[tuple[str, str | None]], in_form: bool = False) -> Context:
    """The context after the conversation's `turns` (message, entry answered to it or None;
    oldest first): the entry answered last within the latest CONTEXT_TURNS messages."""
    for _, entry in reversed(turns[-CONTEXT_TURNS:]):
        if entry is not None:
            return context_for(entry, in_form)
    return Context(in_form=in_form)
