"""Lower intent confidences for messages unlike any intent's training examples.

A classifier's confidence says which intent is likeliest, not whether the message belongs to
any of them: softmax confidences stay high for text far from everything seen in training. The
sentence vectors tell that apart. Each intent's training vectors are averaged into a unit
centroid at training time; a message's novelty score is its highest cosine similarity to any
centroid. Below `high` every confidence of the ranking is multiplied by a factor falling
linearly to 0 at `low` (one factor for the whole ranking, so the order and the likeliest
topics the bot offers stay as they were), so the FallbackClassifier after it declines
messages that are unlikely OR unlike every intent. Centroids rather than all examples: on
CLINC150's validation split they separated out-of-scope queries better (AUROC 0.982 against
0.966 for the nearest example), and they keep memory and time proportional to the number of
intents (a 150 x 384 product). See docs/performance.md, CLINC150.

Place it after the intent classifier and before the FallbackClassifier. The raw confidence,
the similarity and the factor are added to the parse result as `novelty`, so a benchmark can
choose `low`/`high` and the threshold without retraining. Not in config.yml: this project's
held-out questions already have an out_of_scope intent to catch what the bot does not cover,
and at CLINC's setting the detector declined 2.3 % more in-scope questions there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

NOVELTY_KEY = "novelty"  # parse-result key: {"confidence", "similarity", "factor"}
FILE = "centroids.npz"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class NoveltyDetector(GraphComponent, IntentClassifier):
    """Scales intent confidences by how close the message is to some intent's centroid."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [DenseFeaturizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Cosine similarity to the nearest centroid at or above which nothing changes,
            # and at or below which every confidence becomes 0 (low == high: a hard cut).
            "low": 0.3,
            "high": 0.6,
            # Intents left untouched and not used as a reference: e.g. an out_of_scope intent,
            # whose examples are everything the bot does not cover.
            "ignore_intents": [],
            # Names of the dense featurizers whose sentence vectors to use (all if empty).
            "featurizers": [],
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        low, high = float(config.get("low", 0.3)), float(config.get("high", 0.6))
        if not -1.0 <= low <= high <= 1.0:
            raise InvalidConfigException(
                "NoveltyDetector: need -1 <= 'low' <= 'high' <= 1 (cosine similarities).")

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage,
                 resource: Resource, intents: list[str] | None = None,
                 centroids: np.ndarray | None = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self.validate_config(self.config)
        self.low, self.high = float(self.config["low"]), float(self.config["high"])
        self.ignore = set(self.config["ignore_intents"] or [])
        self.intents = intents or []
        self.centroids = centroids
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> NoveltyDetector:
        return cls(config, model_storage, resource)

    def _vector(self, message: Message) -> np.ndarray | None:
        """The message's unit sentence vector, or None without dense sentence features."""
        # Read directly: Rasa's get_dense_features deep-copies every feature first (50 us).
        names = self.config["featurizers"]
        parts = [np.asarray(f.features, dtype=np.float32).ravel() for f in message.features
                 if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_dense()
                 and (not names or f.origin in names)]
        if not parts:
            return None
        vector = np.concatenate(parts) if len(parts) > 1 else parts[0]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None

    def train(self, training_data: TrainingData) -> Resource:
        """One unit centroid per intent (mean of its unit vectors); persisted with the model."""
        by_intent: dict[str, list[np.ndarray]] = {}
        for example in training_data.intent_examples:
            intent = example.get(INTENT)
            if not intent or intent in self.ignore or not example.get(TEXT):
                continue
            vector = self._vector(example)
            if vector is not None:
                by_intent.setdefault(intent, []).append(vector)
        self.intents = sorted(by_intent)
        if self.intents:
            means = np.stack([np.mean(by_intent[i], axis=0) for i in self.intents])
            norms = np.linalg.norm(means, axis=1, keepdims=True)
            self.centroids = (means / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        else:
            self.centroids = None
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / FILE, intents=np.array(self.intents, dtype=str),
                     centroids=(self.centroids if self.centroids is not None
                                else np.zeros((0, 0), dtype=np.float32)))

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> NoveltyDetector:
        """The trained centroids; without them (nothing trained) messages pass unchanged."""
        try:
            with model_storage.read_from(resource) as directory:
                with np.load(directory / FILE, allow_pickle=False) as data:
                    intents = [str(i) for i in data["intents"]]
                    centroids = data["centroids"].astype(np.float32)
        except (ValueError, FileNotFoundError):
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, intents,
                   centroids if intents else None)

    def factor(self, similarity: float) -> float:
        """1 at or above `high`, 0 at or below `low`, linear in between."""
        if similarity >= self.high:
            return 1.0
        if similarity <= self.low:
            return 0.0
        return (similarity - self.low) / (self.high - self.low)

    def process(self, messages: list[Message]) -> list[Message]:
        """Scales the intent and its ranking in place; messages without an intent, vectors
        or trained centroids, or with an ignored top intent, are left as they are."""
        if self.centroids is None or not len(self.centroids):
            return messages
        for message in messages:
            intent = message.get(INTENT) or {}
            name, confidence = intent.get("name"), intent.get("confidence")
            if not name or confidence is None or name in self.ignore:
                continue
            vector = self._vector(message)
            if vector is None or vector.shape[0] != self.centroids.shape[1]:
                continue
            # einsum, not `@`: OpenBLAS would wake its threads for this small product,
            # which costs hundreds of microseconds on a busy server (7-14 us here).
            similarity = float(np.einsum("kd,d->k", self.centroids, vector).max())
            factor = self.factor(similarity)
            message.set(NOVELTY_KEY, {"confidence": float(confidence),
                                      "similarity": similarity, "factor": factor},
                        add_to_output=True)
            if factor >= 1.0:
                continue
            message.set(INTENT, {**intent, "confidence": float(confidence) * factor},
                        add_to_output=True)
            ranking = message.get(INTENT_RANKING_KEY) or []
            message.set(INTENT_RANKING_KEY,
                        [{**r, "confidence": float(r.get("confidence") or 0.0) * factor}
                         for r in ranking], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
