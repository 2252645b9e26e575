"""bot/understanding/nearmiss.py: a domestic tax or another agency named without a customs word."""

from __future__ import annotations

import pytest

from bot.understanding import nearmiss

LEXICON = nearmiss.from_data({
    "domestic_tax": ["paye", "tax clearance", "vat return"],
    "out_of_scope": ["road tax", "passport"],
    "customs": ["import", "duty", "border"],
})


@pytest.mark.parametrize(("text", "named"), [
    ("penalty for late payment of PAYE", ("domestic_tax", "paye")),
    ("how do i file my vat  return", ("domestic_tax", "vat  return")),
    ("what is the road tax for my minibus", ("out_of_scope", "road tax")),
    ("Hello, my passport has expired", ("out_of_scope", "passport")),
])
def test_a_named_domestic_tax_or_agency_gives_its_kind(text, named):
    assert LEXICON.kind(text) == named


@pytest.mark.parametrize("text", [
    "do i need a tax clearance to import goods",  # a customs word: the model decides
    "what documents at the border, is my passport enough",
    "how do i pay customs duty",  # no term
    "my passport and my paye",  # both kinds named: not clear
    "payee details on my bank transfer",  # whole words only
])
def test_otherwise_nothing_is_named(text):
    assert LEXICON.kind(text) is None


def test_the_shipped_terms_never_name_a_knowledge_example():
    from bot.content.reader import read_knowledge
    from bot.settings.paths import ROOT

    kb, _ = read_knowledge(ROOT / "knowledge")
    named = [(e.id, t) for e in kb.entries.values() for t in [e.question, *e.examples]
             if nearmiss.lexicon().kind(t)]
    assert named == []
