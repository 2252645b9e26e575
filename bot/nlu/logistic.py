"""Rasa's LogisticRegressionClassifier, made cheap to call once per message.

Predicting computes `X @ coef_.T` with X a sparse row (counts of words and character n-grams)
and `coef_` a dense (intents x features) matrix. scikit-learn keeps `coef_` row-major, so its
transpose is column-major and scipy copies the whole matrix (tens of MB) before each product:
about 8 ms per message, 6 % of the Rasa server's time under load (py-spy, `make bench`). The
same numbers stored column-major make the transpose row-major and the product a sparse
lookup of a few microseconds. Rasa also builds each message's feature row with scipy's
`hstack`/`vstack`, after deep-copying and stacking every featurizer's sequence matrices as
well, which it does not use (6-8 % of the server's time); the same row is assembled directly
in CSR form from the sentence features.

One change to what it predicts: each sparse block of a message (word counts, character n-gram
counts) is scaled down to at most the `length_percentile`-th percentile of the training
questions' norms for that block. A long message (a greeting and a story around the question)
has several times the counts of any training question, so its logits go far beyond what the
classifier saw and it is sure of an entry the story merely mentions ("...we want to export
copper cathodes... What is the process?" was 0.86 "how to lodge a declaration"). Questions of
ordinary length are untouched; 0 turns it off.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LogisticRegressionIntentClassifier(LogisticRegressionClassifier):
    """Rasa's model with its weights laid out for fast prediction and long messages capped."""

    @staticmethod
    def get_default_config() -> dict:
        return {**LogisticRegressionClassifier.get_default_config(), "length_percentile": 90}

    def train(self, training_data: TrainingData) -> Resource:
        """Learn the length caps from the training questions, then train as Rasa does (the
        caps are kept on the classifier, so they are saved and loaded with it)."""
        self.clf.length_caps_ = np.zeros(0)
        percentile = float(self.config.get("length_percentile") or 0)
        examples = [e for e in training_data.intent_examples if e.get("intent") and e.get("text")]
        norms = [self._block_norms(e) for e in examples]
        if percentile and norms and len({len(n) for n in norms}) == 1:
            self.clf.length_caps_ = np.percentile(np.array(norms), percentile, axis=0)
        return super().train(training_data)

    @staticmethod
    def _block_norms(message: Message) -> list[float]:
        return [float(sp.linalg.norm(f.features)) for f in message.features
                if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse()]

    def _scale(self, block: int, data: np.ndarray) -> np.ndarray:
        caps = getattr(self.clf, "length_caps_", None)
        if caps is None or block >= len(caps) or not caps[block]:
            return data
        norm = float(np.sqrt(np.square(data, dtype=np.float64).sum()))
        return data * (caps[block] / norm) if norm > caps[block] else data

    def _column_major(self) -> None:
        coef = getattr(self.clf, "coef_", None)
        if coef is not None and not coef.flags.f_contiguous:
            self.clf.coef_ = np.asfortranarray(coef)

    def process(self, messages: list[Message]) -> list[Message]:
        self._column_major()
        return super().process(messages)

    def _create_X(self, messages: list[Message]) -> sp.csr_matrix:
        """Rasa's rows (sparse sentence features side by side, then dense ones), built directly
        as CSR from the messages' features, in the order Rasa combines them."""
        rows = []
        for message in messages:
            sentence = [f for f in message.features
                        if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
            sparse = [sp.coo_matrix(f.features) for f in sentence if f.is_sparse()]
            dense = [np.asarray(f.features) for f in sentence if f.is_dense()]
            if not sparse or not dense or any(m.shape[0] != 1 for m in sparse + dense):
                return super()._create_X(messages)
            values, columns, offset = [], [], 0
            for block, m in enumerate(sparse):
                values.append(self._scale(block, m.data))
                columns.append(m.col + offset)
                offset += m.shape[1]
            vector = np.concatenate(dense, axis=-1).ravel()
            values.append(vector)
            columns.append(np.arange(offset, offset + vector.size))
            rows.append((np.concatenate(values), np.concatenate(columns), offset + vector.size))
        if len({width for _, _, width in rows}) != 1:
            return super()._create_X(messages)
        indptr = np.cumsum([0] + [len(v) for v, _, _ in rows])
        matrix = sp.csr_matrix((np.concatenate([v for v, _, _ in rows]),
                                np.concatenate([c for _, c, _ in rows]), indptr),
                               shape=(len(rows), rows[0][2]))
        matrix.sort_indices()
        return matrix
