"""Rasa's LogisticRegressionClassifier, made cheap to call once per message.

Predicting computes `X @ coef_.T` with X a sparse row (counts of words and character n-grams)
and `coef_` a dense (intents x features) matrix. scikit-learn keeps `coef_` row-major, so its
transpose is column-major and scipy copies the whole matrix (tens of MB) before each product:
about 8 ms per message, 6 % of the Rasa server's time under load (py-spy, `make bench`). The
same numbers stored column-major make the transpose row-major and the product a sparse
lookup of a few microseconds. Rasa also builds each message's feature row with scipy's
`hstack`/`vstack` (format conversions, 6 % of the server's time); the same row is assembled
directly in CSR form. Training, persistence and predictions are unchanged.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import TEXT
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
        """Rasa's rows (sparse sentence features, then dense ones), built directly as CSR."""
        parts = []
        for message in messages:
            sparse = message.get_sparse_features(attribute=TEXT)[1]
            dense = message.get_dense_features(attribute=TEXT)[1]
            if sparse is None or dense is None:
                return super()._create_X(messages)
            parts.append((sp.coo_matrix(sparse.features), np.asarray(dense.features)))
        widths = {(s.shape[1], d.shape[1]) for s, d in parts}
        if len(widths) != 1 or any(s.shape[0] != 1 or d.shape[0] != 1 for s, d in parts):
            return super()._create_X(messages)
        (n_sparse, n_dense), = widths
        data, indices, indptr = [], [], [0]
        dense_columns = np.arange(n_sparse, n_sparse + n_dense)
        for s, d in parts:
            order = np.argsort(s.col, kind="stable")
            data += [s.data[order], d.ravel()]
            indices += [s.col[order], dense_columns]
            indptr.append(indptr[-1] + s.nnz + n_dense)
        return sp.csr_matrix((np.concatenate(data), np.concatenate(indices), np.asarray(indptr)),
                             shape=(len(parts), n_sparse + n_dense))
