"""Grouping the messages the bot could not answer, and drafting a knowledge entry per group.

Grouping is deterministic: TF-IDF of character n-grams (IDF fitted on the knowledge examples
plus the messages, so everyday words weigh little), cosine distance, average-linkage
agglomerative clustering with a fixed threshold. A draft is a YAML entry that `make validate`
accepts once staff write its answer: real messages first, then rewordings up to the number of
examples validate asks for, leaving out messages that are already examples of another intent.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict

import yaml

from bot.content.checks import check
from bot.content.model import ID_PATTERN, Entry, KnowledgeBase
from bot.content.text import normalise

# Average cosine similarity (char n-gram TF-IDF) above which messages count as one question.
GROUP_SIMILARITY = 0.2
DRAFT_MIN_EXAMPLES = 8
# Rewordings that fill a draft up to the examples validate asks for, marked as such in the draft.
VARIANT_TEMPLATES = ("{m} please", "can you tell me {m}", "i would like to know {m}",
                     "quick question {m}", "i need help {m}", "please answer {m}", "help {m}")
_STOP = {"a", "an", "the", "is", "are", "be", "to", "of", "in", "on", "for", "and", "or", "i",
         "my", "me", "you", "your", "do", "does", "can", "will", "what", "whats", "how", "who",
         "where", "when", "which", "why", "it", "this", "that", "there", "with", "at", "by",
         "please", "tell", "about", "like", "much", "s", "we", "get", "from", "if", "any"}


def group_texts(texts: list[str], reference: list[str],
                similarity: float = GROUP_SIMILARITY) -> list[list[int]]:
    """Indices of `texts` grouped by similarity; largest group first, then first seen."""
    if not texts:
        return []
    keys = [normalise(t) or t.lower() for t in texts]
    unique = list(dict.fromkeys(keys))
    if len(unique) == 1:
        labels = [0]
    else:
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        vectorizer.fit([normalise(r) for r in reference] + unique)
        matrix = vectorizer.transform(unique).toarray()
        clustering = AgglomerativeClustering(n_clusters=None, affinity="cosine",
                                             linkage="average",
                                             distance_threshold=1.0 - similarity)
        labels = list(clustering.fit_predict(matrix))
    label_of = dict(zip(unique, labels, strict=True))
    groups: dict[int, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        groups[label_of[key]].append(index)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def _keywords(texts: list[str], count: int = 3) -> list[str]:
    words = Counter(w for t in texts for w in set(normalise(t).split())
                    if w not in _STOP and not w.isdigit() and len(w) > 1)
    return [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))][:count]


def draft_id(texts: list[str], taken: set[str]) -> str:
    """A valid entry id from the group's commonest words, not in `taken` (which it joins)."""
    base = "_".join(_keywords(texts)) or "new_question"
    base = re.sub(r"[^a-z0-9_]", "", base)[:50]
    if not base or not base[0].isalpha():
        base = "q_" + base
    candidate, n = base, 2
    while candidate in taken or not ID_PATTERN.match(candidate):
        candidate = f"{base}_{n}"
        n += 1
    taken.add(candidate)
    return candidate


def draft_question(text: str) -> str:
    """A message tidied into the entry's question: capitalised, one question mark."""
    text = " ".join(text.split()).rstrip(" .!?")
    return (text[:1].upper() + text[1:] + "?") if text else "New question?"


def _conflicting(kb: KnowledgeBase, examples: list[str], other_examples: dict[str, str],
                 today: dt.date) -> set[int]:
    """Indices of draft examples that `validate` would reject next to the current knowledge."""
    draft = Entry(id="zz_report_draft", category="draft", question="Draft?",
                  examples=examples, answer="draft", source="draft", owner="draft",
                  reviewed=today, file="<draft>", line=0,
                  example_lines=list(range(1, len(examples) + 1)))
    probe = KnowledgeBase(entries={**kb.entries, draft.id: draft}, categories=kb.categories,
                          settings=kb.settings, messages=kb.messages)
    bad = set()
    for problem in check(probe, today=today, min_examples=0, other_examples=other_examples):
        if problem.file == "<draft>" and problem.line >= 1 and problem.severity == "error":
            bad.add(problem.line - 1)
    return bad


def draft_examples(real: list[str], kb: KnowledgeBase | None, other_examples: dict[str, str],
                   today: dt.date) -> tuple[list[str], list[str], list[str]]:
    """(real examples kept, generated variants, real messages dropped) for a draft entry."""
    real = list(dict.fromkeys(" ".join(r.split()) for r in real if normalise(r)))
    seen = {normalise(r) for r in real}
    variants = []
    for template in VARIANT_TEMPLATES:
        for message in real:
            core = re.sub(r"(?:[\s,]+please)+$", "", message.rstrip(" ?.!").lower())
            text = template.format(m=core)
            if normalise(text) not in seen:
                seen.add(normalise(text))
                variants.append(text)
    if kb is None:
        return real, variants[:max(0, DRAFT_MIN_EXAMPLES - len(real))], []
    bad = _conflicting(kb, real + variants, other_examples, today)
    kept = [r for i, r in enumerate(real) if i not in bad]
    dropped = [r for i, r in enumerate(real) if i in bad]
    good_variants = [v for i, v in enumerate(variants, start=len(real)) if i not in bad]
    return kept, good_variants[:max(0, DRAFT_MIN_EXAMPLES - len(kept))], dropped


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, default_style=None, width=1000, allow_unicode=True) \
        .removesuffix("\n...\n").strip()


def draft_entry(texts: list[str], entry_id: str, kb: KnowledgeBase | None,
                other_examples: dict[str, str], today: dt.date, owner: str) -> str:
    """A YAML entry to paste under `entries:` of a category file; only the answer is missing."""
    kept, variants, dropped = draft_examples(texts, kb, other_examples, today)
    representative = kept[0] if kept else texts[0]
    lines = [f"  - id: {entry_id}",
             f"    question: {_scalar(draft_question(representative))}",
             "    examples:",
             "      # what people typed (from the conversations)"]
    lines += [f"      - {_scalar(e)}" for e in kept]
    if variants:
        lines.append("      # rewordings added to reach 8 examples: improve or replace them")
        lines += [f"      - {_scalar(v)}" for v in variants]
    if dropped:
        lines.append("      # left out: already examples of another intent: "
                     + "; ".join(d.replace("#", "") for d in dropped)[:300])
    source = f"Support report {today.isoformat()}: add the official source"
    lines += ["    # write the answer between the quotes (or `answer: |` and lines below)",
              '    answer: ""',
              f"    source: {_scalar(source)}",
              f"    owner: {_scalar(owner)}",
              f"    reviewed: {today.isoformat()}"]
    return "\n".join(lines) + "\n"
