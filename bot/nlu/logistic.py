"""Rasa's LogisticRegressionClassifier, made cheap to call once per message.

Predicting computes `X @ coef_.T` with X a sparse row (counts of words and character n-grams)
and `coef_` a dense (intents x features) matrix. scikit-learn keeps `coef_` row-major, so its
transpose is column-major and scipy copies the whole matrix (tens of MB) before each product:
about 8 ms per message, 6 % of the Rasa server's time under load (py-spy, `make bench`). The
same numbers stored column-major make the transpose row-major and the product a sparse
lookup of a few microseconds. Rasa also builds each message's feature row with scipy's
`hstack`/`vstack`, after deep-copying and stacking every featurizer's sequence matrices as
well, which it does not use (6-8 % of the server's time); the same row is assembled directly
in CSR form from the sentence features. Training, persistence and predictions are unchanged.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LogisticRegressionIntentClassifier(LogisticRegressionClassifier):
    """Same model and output as Rasa's; only the memory layout of the weights differs."""

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
            for m in sparse:
                values.append(m.data)
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
