"""bot.nlu.novelty: centroids survive a save and load; a message unlike every intent gets its
confidences scaled down (and is then declined), one like an intent keeps them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import minilm
from bot.nlu.novelty import NOVELTY_KEY, NoveltyDetector

DIM = 16
INTENTS = ("kb_a", "kb_b", "out_of_scope")


def context(name: str) -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name=name)


def message(vector: np.ndarray, intent: str | None = None,
            ranking: list[tuple[str, float]] | None = None) -> Message:
    """A message with a dense sentence feature (scaled, as MiniLMFeaturizer makes them) and,
    optionally, the classifier's output."""
    m = Message(data={TEXT: "x", **({INTENT: intent} if intent and not ranking else {})})
    m.add_features(Features(20 * vector[None, :], FEATURE_TYPE_SENTENCE, TEXT, "minilm"))
    if ranking:
        m.set(INTENT, {"name": ranking[0][0], "confidence": ranking[0][1]}, add_to_output=True)
        m.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking],
              add_to_output=True)
    return m


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def axis(i: int) -> np.ndarray:
    return np.eye(DIM)[i]


def training_data(rng: np.random.Generator) -> TrainingData:
    """kb_a around axis 0, kb_b around axis 1, out_of_scope around axis 2."""
    examples = [message(unit(axis(i) + 0.3 * rng.normal(size=DIM)), INTENTS[i])
                for i in range(3) for _ in range(10)]
    examples.append(Message(data={TEXT: "no features", INTENT: "kb_a"}))  # skipped
    return TrainingData(examples)


def train(tmp_path: Path, **config: object) -> tuple[NoveltyDetector, LocalModelStorage,
                                                     Resource, dict]:
    full = {**NoveltyDetector.get_default_config(), **config}
    NoveltyDetector.validate_config(full)
    storage = LocalModelStorage(tmp_path)
    resource = Resource("novelty")
    detector = NoveltyDetector.create(full, storage, resource, context("novelty"))
    detector.train(training_data(np.random.default_rng(0)))
    return detector, storage, resource, full


def outputs(detector: NoveltyDetector) -> list[tuple]:
    near, far = unit(axis(0) + 0.1 * axis(1)), unit(axis(5) + axis(6))
    between = unit(axis(0) + 2 * axis(4))  # similarity between low and high
    ranking = [("kb_a", 0.9), ("kb_b", 0.08)]
    messages = [message(v, ranking=ranking) for v in (near, far, between)]
    detector.process(messages)
    return [(m.get(INTENT)["confidence"], [r["confidence"] for r in m.get(INTENT_RANKING_KEY)],
             m.get(NOVELTY_KEY)) for m in messages]


def test_round_trip_and_scaling(tmp_path: Path) -> None:
    detector, storage, resource, config = train(tmp_path)
    assert detector.intents == ["kb_a", "kb_b", "out_of_scope"]
    assert detector.centroids.shape == (3, DIM)
    np.testing.assert_allclose(np.linalg.norm(detector.centroids, axis=1), 1, rtol=1e-5)
    expected = outputs(detector)

    loaded = NoveltyDetector.load(config, storage, resource, context("novelty"))
    assert loaded.intents == detector.intents
    np.testing.assert_array_equal(loaded.centroids, detector.centroids)
    assert outputs(loaded) == expected

    (near, near_ranking, near_info), (far, far_ranking, far_info), (mid, mid_ranking, _) = \
        expected
    assert near_info["similarity"] >= 0.5 and near_info["factor"] == 1.0
    assert (near, near_ranking) == (0.9, [0.9, 0.08])  # kept as the classifier said
    assert far_info == {"confidence": 0.9, "similarity": pytest.approx(far_info["similarity"]),
                        "factor": 0.0}
    assert far_info["similarity"] < 0.3 and far == 0.0 and far_ranking == [0.0, 0.0]
    factor = mid / 0.9
    assert 0 < factor < 1  # linear between low and high, one factor for the whole ranking
    np.testing.assert_allclose(mid_ranking, [0.9 * factor, 0.08 * factor])


def test_far_message_is_declined_and_near_one_keeps_its_intent(tmp_path: Path) -> None:
    detector, *_ = train(tmp_path)
    fallback = FallbackClassifier.create({**FallbackClassifier.get_default_config(),
                                          "threshold": 0.4}, None, None, context("fallback"))
    near = message(unit(axis(1) + 0.2 * axis(3)), ranking=[("kb_b", 0.85), ("kb_a", 0.1)])
    far = message(unit(axis(8) - axis(9)), ranking=[("kb_b", 0.85), ("kb_a", 0.1)])
    fallback.process(detector.process([near, far]))
    assert near.get(INTENT)["name"] == "kb_b"
    assert far.get(INTENT)["name"] == "nlu_fallback"
    # The likeliest topics stay in their order behind the fallback, for the clarify buttons.
    assert [r["name"] for r in far.get(INTENT_RANKING_KEY)] == ["nlu_fallback", "kb_b", "kb_a"]


def test_ignored_intents_are_untouched_and_no_reference(tmp_path: Path) -> None:
    detector, *_ = train(tmp_path, ignore_intents=["out_of_scope"])
    assert detector.intents == ["kb_a", "kb_b"]
    oos = message(axis(2), ranking=[("out_of_scope", 0.7), ("kb_a", 0.2)])
    near_oos_examples = message(axis(2), ranking=[("kb_a", 0.7), ("out_of_scope", 0.2)])
    detector.process([oos, near_oos_examples])
    assert oos.get(INTENT)["confidence"] == 0.7 and oos.get(NOVELTY_KEY) is None
    # Close to out_of_scope's examples only: not close to any intent the bot answers.
    assert near_oos_examples.get(INTENT)["confidence"] == 0.0


def test_messages_without_vectors_or_intent_and_untrained_model_pass(tmp_path: Path) -> None:
    detector, *_ = train(tmp_path)
    bare = Message(data={TEXT: "hi"})
    bare.set(INTENT, {"name": "kb_a", "confidence": 0.9})
    unclassified = message(axis(9))
    detector.process([bare, unclassified])
    assert bare.get(INTENT)["confidence"] == 0.9 and unclassified.get(INTENT) is None

    (tmp_path / "empty").mkdir()
    empty = LocalModelStorage(tmp_path / "empty")
    untrained = NoveltyDetector.load(NoveltyDetector.get_default_config(), empty,
                                     Resource("nothing"), context("novelty"))
    far = message(axis(9), ranking=[("kb_a", 0.9)])
    untrained.process([far])
    assert far.get(INTENT)["confidence"] == 0.9


@pytest.mark.parametrize("config", [{"low": 0.6, "high": 0.5}, {"low": -2.0}, {"high": 1.5}])
def test_invalid_bounds_are_rejected(config: dict) -> None:
    with pytest.raises(InvalidConfigException):
        NoveltyDetector.validate_config({**NoveltyDetector.get_default_config(), **config})


@pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in (minilm.PACKAGE, "tokenizers")),
    reason=f"model package {minilm.PACKAGE} or tokenizers not installed ({minilm.INSTALL_HINT})")
def test_real_sentence_vectors(tmp_path: Path) -> None:
    """With MiniLM vectors: a paraphrase of a trained question stays, off-topic text goes."""
    from bot.nlu.featurizer import MiniLMFeaturizer

    featurizer = MiniLMFeaturizer.create({**MiniLMFeaturizer.get_default_config(), "scale": 20},
                                         None, None, context("minilm"))
    examples = {
        "kb_pay_duty": ["how do I pay customs duty", "ways to pay import duty",
                        "can I pay my duties online", "where do I pay the duty on my goods"],
        "kb_clearing_agent": ["do I need a clearing agent", "must I use an agent to clear goods",
                              "how to appoint a clearing agent", "can I clear goods myself"],
    }
    data = TrainingData([Message(data={TEXT: t, INTENT: i})
                         for i, texts in examples.items() for t in texts])
    featurizer.process_training_data(data)
    storage = LocalModelStorage(tmp_path)
    detector = NoveltyDetector.create(NoveltyDetector.get_default_config(), storage,
                                      Resource("novelty"), context("novelty"))
    detector.train(data)
    near = Message(data={TEXT: "what are the options to pay duty on imports"})
    far = Message(data={TEXT: "what is the best pizza topping"})
    featurizer.process([near, far])
    for m in (near, far):
        m.set(INTENT, {"name": "kb_pay_duty", "confidence": 0.8})
        m.set(INTENT_RANKING_KEY, [{"name": "kb_pay_duty", "confidence": 0.8}])
    detector.process([near, far])
    assert near.get(INTENT)["confidence"] == 0.8
    assert far.get(INTENT)["confidence"] < 0.4
