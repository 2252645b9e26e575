"""The bench's larger knowledge bases: the real entries plus CLINC150 intents as entries of 15
examples, compiled like real ones (an intent, its answering rule, its rules inside each form)."""

from __future__ import annotations

import pytest
import yaml

from bot.training.bench import growth_load


@pytest.fixture(scope="module")
def clinc() -> dict:
    try:
        return growth_load.clinc_examples()
    except growth_load.DataMissing as missing:
        pytest.skip(str(missing))


def test_grown_knowledge_base_is_compiled_like_the_real_one(clinc, tmp_path) -> None:
    build = growth_load.build_with_entries(200, tmp_path)
    domain = yaml.safe_load((build.rasa_dir / "domain" / "knowledge.yml").read_text("utf-8"))
    nlu = yaml.safe_load((build.rasa_dir / "data" / "knowledge_nlu.yml").read_text("utf-8"))
    rules = yaml.safe_load((build.rasa_dir / "data" / "knowledge_rules.yml").read_text("utf-8"))
    real = len(build.report.kb.entries)
    assert len(domain["intents"]) == len(set(domain["intents"])) == 200
    synthetic = [i for i in nlu["nlu"] if i["intent"].startswith("kb_clinc_")]
    assert len(synthetic) == 200 - real
    assert all(len(i["examples"].splitlines()) == 15 for i in synthetic)
    assert len(rules["rules"]) % 200 == 0 and len(rules["rules"]) > 200  # and inside forms
    assert build.fingerprint != growth_load.build_with_entries(201, tmp_path).fingerprint


def test_500_entries_use_disjoint_slices_of_each_intent(clinc, tmp_path) -> None:
    from bot.training.trainer import build

    template = next(iter(build(out_dir=tmp_path).report.kb.entries.values()))
    entries = growth_load.synthetic_entries(448, template)
    assert len({e.id for e in entries}) == 448
    examples = [x for e in entries for x in e.examples]
    assert len(examples) == 448 * 15
    same_intent = [e for e in entries if e.id.startswith("clinc_translate_")]
    assert len(same_intent) == 3 and not set(same_intent[0].examples) & set(same_intent[1].examples)
    with pytest.raises(ValueError):
        growth_load.synthetic_entries(150 * 6 + 1, template)
