"""MiniLMFeaturizer as Rasa uses it: sentence features on message text, none elsewhere."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from bot.nlu import minilm

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in (minilm.PACKAGE, "tokenizers")),
    reason=f"model package {minilm.PACKAGE} or tokenizers not installed ({minilm.INSTALL_HINT})")

from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.shared.exceptions import InvalidConfigException  # noqa: E402
from rasa.shared.nlu.constants import ACTION_NAME, INTENT, TEXT  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

from bot.nlu.featurizer import MiniLMFeaturizer  # noqa: E402


def make(**config: object) -> MiniLMFeaturizer:
    context = ExecutionContext(GraphSchema({}), node_name="minilm")
    full = {**MiniLMFeaturizer.get_default_config(), **config}
    MiniLMFeaturizer.validate_config(full)
    return MiniLMFeaturizer.create(full, None, None, context)


def sentence_vector(message: Message) -> np.ndarray:
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None  # sentence features only
    assert sentence is not None
    return sentence.features


def test_message_gets_a_scaled_sentence_feature() -> None:
    featurizer = make(scale=3.0)
    message = Message(data={TEXT: "How do I pay customs duty?"})
    featurizer.process([message])
    vector = sentence_vector(message)
    assert vector.shape == (1, minilm.DIM)
    assert np.linalg.norm(vector) == pytest.approx(3.0, abs=1e-4)
    np.testing.assert_allclose(vector[0] / 3.0, minilm.embed([message.get(TEXT)], engine="int8")[0],
                               atol=1e-5)


def test_messages_without_text_are_left_alone() -> None:
    featurizer = make()
    message = Message(data={ACTION_NAME: "action_listen"})
    featurizer.process([message])
    assert message.features == []


def test_training_data_is_featurized_in_batches_and_keeps_meaning() -> None:
    featurizer = make(batch_size=2)
    texts = ["how can I pay my duty", "ways to settle import tax", "tell me a joke about cats"]
    data = TrainingData([Message(data={TEXT: t, INTENT: "x"}) for t in texts])
    featurizer.process_training_data(data)
    a, b, c = (sentence_vector(m)[0] for m in data.training_examples)
    assert a @ b > a @ c and a @ b > b @ c


def test_nonpositive_scale_is_rejected() -> None:
    with pytest.raises(InvalidConfigException):
        make(scale=0)


def test_unknown_engine_is_rejected() -> None:
    with pytest.raises(InvalidConfigException, match="engine"):
        make(engine="fp16")
