"""A larger knowledge base for the cost-growth bench: the real entries plus synthetic ones.

Synthetic entries are CLINC150 intents (Larson et al. 2019, /work/shared/datasets/), 15 training
examples each. CLINC150 has 150 intents; beyond 150 synthetic entries an intent's next 15
examples make another entry (CLINC has 100 per intent), so 500 entries = 52 real + 448
synthetic, from 150 intents in up to three disjoint slices. Entries cut from one intent cannot
be told apart: a harder load for the classifier's solver than real entries, never an easier one.

The entries go through the project's own compiler (`compile_knowledge`), so each has its intent,
its answering rule and its rules inside every form, exactly as a real entry would.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

DEFAULT_DATA = Path(os.environ.get("CLINC150_DATA",
                                   "/work/shared/datasets/clinc150/data_full.json"))
EXAMPLES_PER_ENTRY = 15


class DataMissing(RuntimeError):
    """The CLINC150 file is not where it was looked for; the message says where to get it."""


def clinc_examples(data: Path = DEFAULT_DATA) -> dict[str, list[str]]:
    """CLINC150's train split, intent -> examples, intents sorted."""
    if not Path(data).is_file():
        raise DataMissing(f"CLINC150 not found at {data}: get data_full.json from "
                          "github.com/clinc/oos-eval (data/data_full.json) and set "
                          "CLINC150_DATA to its path.")
    rows = json.loads(Path(data).read_text("utf-8"))["train"]
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows:
        by_intent[intent].append(" ".join(text.split()))
    return dict(sorted(by_intent.items()))


def synthetic_entries(count: int, template: object, data: Path = DEFAULT_DATA) -> list:
    """`count` entries made from CLINC150 intents (copies of `template` with another id,
    question and examples)."""
    by_intent = clinc_examples(data)
    intents = list(by_intent)
    slices = max(len(v) for v in by_intent.values()) // EXAMPLES_PER_ENTRY
    if count > len(intents) * slices:
        raise ValueError(f"at most {len(intents) * slices} synthetic entries from CLINC150")
    out = []
    for n in range(count):
        part, index = divmod(n, len(intents))
        intent = intents[index]
        examples = by_intent[intent][part * EXAMPLES_PER_ENTRY:(part + 1) * EXAMPLES_PER_ENTRY]
        out.append(replace(template, id=f"clinc_{intent}_{part}", category="Synthetic",
                           question=examples[0], examples=examples, related=[]))
    return out


def build_with_entries(total: int, out_dir: Path, data: Path = DEFAULT_DATA) -> object:
    """A `trainer.Build` of the real knowledge base grown to `total` entries, compiled into
    `out_dir` (the real knowledge base alone when `total` is its size)."""
    from bot.content.compile import compile_knowledge, fingerprint
    from bot.content.model import Category
    from bot.settings.paths import CONFIG_FILE, DATA_DIR, DOMAIN_DIR, ROOT
    from bot.training import trainer

    real = trainer.build(out_dir=Path(out_dir) / "real")
    kb = real.report.kb
    extra = total - len(kb.entries)
    if extra < 0:
        raise ValueError(f"the real knowledge base already has {len(kb.entries)} entries")
    if extra == 0:
        return real
    template = next(iter(kb.entries.values()))
    grown = replace(kb, entries=dict(kb.entries), categories=list(kb.categories))
    added = synthetic_entries(extra, template, data)
    grown.entries.update((e.id, e) for e in added)
    grown.categories.append(Category("Synthetic", "synthetic.yml", [e.id for e in added]))
    rasa_dir = compile_knowledge(grown, DOMAIN_DIR, Path(out_dir) / f"grown-{total}")
    components = sorted((ROOT / "bot" / "nlu").glob("*.py"))
    fp = fingerprint([Path(CONFIG_FILE), DATA_DIR, rasa_dir, *components])
    return trainer.Build(report=real.report, rasa_dir=rasa_dir, fingerprint=fp,
                         config=Path(CONFIG_FILE))
