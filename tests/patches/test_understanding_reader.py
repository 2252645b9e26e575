"""bot/patches/understanding.py `Reader`: several readings in one graph run give the parses one
run each gives, and the knowledge's wordings are read once per model.

The first tests use a fake processor whose graph scores texts by keyword; the last one reads
the same texts one by one and together with the trained model and compares every parse."""

from __future__ import annotations

import asyncio
import copy
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from rasa.core.channels.channel import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE
from rasa.shared.nlu.training_data.message import Message

from bot.patches import understanding
from bot.patches.understanding import Reader
from bot.settings.paths import ROOT


class FakeRunner:
    """The NLU part of a model graph: 'vat' in a text is the VAT entry, anything else unsure."""

    def __init__(self) -> None:
        self.runs: list[list[str]] = []

    def run(self, inputs: dict[str, Any], targets: list[str]) -> dict[str, Any]:
        texts = [m.text for m in inputs[PLACEHOLDER_MESSAGE]]
        self.runs.append(texts)
        parsed = []
        for text in texts:
            name = "kb_import_vat_rate" if "vat" in text else "nlu_fallback"
            confidence = 0.9 if "vat" in text else 0.3
            m = Message(data={"text": text}, output_properties={"text"})
            m.set("intent", {"name": name, "confidence": confidence}, add_to_output=True)
            m.set("intent_ranking", [{"name": name, "confidence": confidence}],
                  add_to_output=True)
            parsed.append(m)
        return {targets[0]: parsed}


def processor() -> Any:
    return SimpleNamespace(http_interpreter=None, graph_runner=FakeRunner(),
                           model_metadata=SimpleNamespace(nlu_target="nlu"),
                           _update_full_retrieval_intent=lambda parse: None)


def reader(proc: Any) -> Reader:
    return Reader(proc, UserMessage("vat?", None, "someone"), None, True)


def test_several_readings_are_one_graph_run_in_the_order_asked():
    proc = processor()
    parses = asyncio.run(reader(proc).many(["what is vat", "and excise", "vat on cars"]))
    assert proc.graph_runner.runs == [["what is vat", "and excise", "vat on cars"]]
    assert [p["text"] for p in parses] == ["what is vat", "and excise", "vat on cars"]
    assert [p["intent"]["name"] for p in parses] == [
        "kb_import_vat_rate", "nlu_fallback", "kb_import_vat_rate"]
    assert parses[1]["entities"] == []  # Rasa's defaults for what the model did not set


def test_the_knowledge_wordings_are_read_once_per_model():
    proc = processor()
    first = asyncio.run(reader(proc).many(["vat rate?", "import vat"], fixed=True))
    again = asyncio.run(reader(proc).many(["import vat", "vat rate?", "vat on fuel"],
                                          fixed=True))
    assert proc.graph_runner.runs == [["vat rate?", "import vat"], ["vat on fuel"]]
    assert again[:2] == first[::-1]
    other_model = processor()
    asyncio.run(reader(other_model).many(["vat rate?"], fixed=True))
    assert other_model.graph_runner.runs == [["vat rate?"]]


def test_a_kept_reading_is_handed_out_as_a_copy():
    proc = processor()
    first = asyncio.run(reader(proc).many(["vat rate?"], fixed=True))[0]
    expected = copy.deepcopy(first)
    first["intent"]["name"] = "changed by a caller"
    first["intent_ranking"].clear()
    assert asyncio.run(reader(proc).many(["vat rate?"], fixed=True))[0] == expected


def test_only_so_many_wordings_are_kept_the_least_recently_read_go_first(monkeypatch):
    monkeypatch.setattr(understanding, "FIXED_READINGS", 2)
    proc = processor()
    for texts in (["a vat"], ["b vat"], ["a vat"], ["c vat"], ["a vat", "b vat"]):
        asyncio.run(reader(proc).many(texts, fixed=True))
    assert proc.graph_runner.runs == [["a vat"], ["b vat"], ["c vat"], ["b vat"]]


def test_readings_that_are_not_the_knowledge_are_read_every_time():
    proc = processor()
    asyncio.run(reader(proc).many(["vat rate? and excise"]))
    asyncio.run(reader(proc).many(["vat rate? and excise"]))
    assert len(proc.graph_runner.runs) == 2
    assert asyncio.run(reader(proc).many([])) == []
    assert len(proc.graph_runner.runs) == 2


# --- the trained model ------------------------------------------------------------------------

def dev_texts() -> list[str]:
    """Messages of the follow-up development sets, and each read after another's first turn."""
    items = yaml.safe_load((ROOT / "eval" / "dev_followups.yml").read_text("utf-8"))
    firsts = [str(item[0]) for item in items[:12]]
    follow_ups = [str(item[1]) for item in items[:12]]
    return [*firsts, *follow_ups, *(f"{a} {b}" for a, b in zip(firsts, follow_ups[1:],
                                                               strict=False))]


@pytest.fixture(scope="module")
def agent(trained_model):
    from bot.support import ask
    from bot.training.evaluate import load_agent

    ask.import_quickly()
    return load_agent(trained_model)


def test_with_the_trained_model_readings_together_are_the_readings_one_by_one(agent):
    from rasa.shared.core.trackers import DialogueStateTracker

    texts = dev_texts()
    tracker = DialogueStateTracker.from_events("someone", [])
    read = Reader(agent.processor, UserMessage(texts[0], None, "someone"), tracker, True)

    async def both() -> tuple[list[dict], list[dict], list[dict]]:
        alone = [await read(text) for text in texts]
        return alone, await read.many(texts), await read.many(texts[:7], fixed=True)

    alone, together, kept = asyncio.run(both())
    assert len({p["intent"]["name"] for p in alone}) > 3  # the texts mean different things
    assert together == alone  # every intent, confidence and ranking, exactly
    assert kept == alone[:7]
