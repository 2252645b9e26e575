"""Which words are English, and which are the customs vocabulary the bot was trained on.

English: the whole words of the sentence encoder's WordPiece vocabulary (the hash-pinned
model package, about 21,000 words), so nothing is downloaded. Customs vocabulary: every word
of the knowledge base (questions, examples, answers) and of the conversation training data, so
place names, acronyms and trade terms count as known.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def words(text: str) -> list[str]:
    """Lower-case alphabetic words (apostrophes kept inside: what's, don't)."""
    return [w.lower() for w in WORD.findall(text)]


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole English words of the encoder's vocabulary (no word pieces, no digits)."""
    from bot.nlu import minilm

    vocab = minilm.model_dir() / "vocab.txt"
    return frozenset(w for w in vocab.read_text("utf-8").split("\n")
                     if w.isascii() and w.isalpha())


def _training_texts(data_dir: Path) -> list[str]:
    texts = []
    for path in sorted(data_dir.glob("**/nlu.yml")) + sorted(data_dir.glob("nlu/*.yml")):
        for line in path.read_text("utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("- ") and not stripped.startswith("- intent:"):
                texts.append(stripped[2:])
    return texts


def domain_counts(knowledge_texts: list[str], data_dir: Path) -> Counter[str]:
    """How often each word appears in the knowledge base and the conversation training data."""
    counts: Counter[str] = Counter()
    for text in knowledge_texts + _training_texts(data_dir):
        counts.update(words(text))
    return counts
