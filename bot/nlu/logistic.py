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

Training minimises scikit-learn's objective (multinomial cross-entropy weighted by balanced
class weights, plus half the squared norm of the weights over C) with scikit-learn's optimiser
and settings (scipy's L-BFGS-B, gtol = tol, max_iter, from zero), on the same rows; only the
products are computed differently. scikit-learn multiplies one sparse matrix that holds the 384
sentence-vector columns too, so three quarters of its non-zeros are dense numbers going through
scipy's single-threaded sparse product: 304 of the 491 s its fit took on 202 entries (cProfile).
Here the count columns stay sparse and the sentence vectors are a dense block multiplied by
BLAS, with the weights laid out so that no product copies them (`fit_multinomial`).

With `dense_weight` w > 0 the two kinds of features are fitted as two models instead of one,
the counts with C and the sentence vectors with `dense_C`, and combined as a weighted geometric
mean of their probabilities, p ~ p_counts^(1 - w) * p_vectors^w (`fit_separately`). The log of
that is linear in the features plus a constant per message, so it is stored as one model (the
weights of each block times its share) and predicts exactly as before, at the same cost. Each
block then has its own regularisation. On CLINC150 a sentence-vector model regularised far more
than the counts gave confidences that declined out-of-scope queries better at the same
in-scope accuracy; it is off in config.yml, where the flatter confidences cost in-scope
answers at the FallbackClassifier's threshold (docs/performance.md, CLINC150).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import warm_start
from bot.settings.paths import training_cache_dir

logger = logging.getLogger(__name__)

WARM_MIN_ITER = 30  # 52 entries + one edit: 44 iterations to the plateau; 500 + 1: 84


def fit_multinomial(sparse: sp.csr_matrix, dense: np.ndarray, labels: np.ndarray, n_classes: int,
                    C: float = 1.0, tol: float = 1e-4, max_iter: int = 100,
                    start: np.ndarray | None = None, plateau: float = 0.0,
                    min_iter: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """scikit-learn's multinomial `LogisticRegression(class_weight="balanced")` fit by lbfgs,
    on the columns [sparse | dense]; returns (coef (K, d), intercept (K,), iterations).
    `start`: the weights ((d + 1) x K, intercept last) to start from instead of zero;
    `plateau`, `min_iter`: see `lbfgs`.

    The weights are one (d + 1, K) row-major block, so the sparse rows, the dense rows and the
    intercept are contiguous slices of it and of its gradient. Products and optimiser vectors
    are float32 (half the memory traffic, which is what an iteration costs); the loss is
    summed in float64."""
    from scipy.special import logsumexp

    n, n_sparse = sparse.shape
    d = n_sparse + dense.shape[1]
    counts = np.bincount(labels, minlength=n_classes)
    weights = (n / (n_classes * counts))[labels]  # compute_class_weight("balanced")
    sparse = sparse.astype(np.float32)
    sparse_t = sparse.T.tocsr()
    dense = np.asarray(dense, np.float32)
    weights = weights.astype(np.float32)
    rows = np.arange(n)
    l2 = 1.0 / C

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        w = flat.reshape(d + 1, n_classes)
        scores = sparse @ w[:n_sparse]
        scores += dense @ w[n_sparse:d]
        scores += w[d]
        norm = logsumexp(scores, axis=1)
        loss = float(np.sum(weights * (norm - scores[rows, labels]), dtype=np.float64)) + (
            0.5 * l2 * float(np.sum(np.square(w[:d]), dtype=np.float64)))
        residual = np.exp(scores - norm[:, None])
        residual[rows, labels] -= 1.0
        residual *= weights[:, None]
        grad = np.empty_like(w)
        grad[:n_sparse] = sparse_t @ residual
        grad[n_sparse:d] = dense.T @ residual
        grad[:d] += l2 * w[:d]
        grad[d] = residual.sum(axis=0)
        return loss, grad.ravel()

    x0 = (np.zeros((d + 1) * n_classes, np.float32) if start is None
          else np.array(start, np.float32).ravel())
    x, iterations = lbfgs(loss_and_gradient, x0, tol, max_iter, plateau=plateau,
                          min_iter=min_iter)
    w = x.reshape(d + 1, n_classes)
    return (np.ascontiguousarray(w[:d].T, dtype=np.float64), w[d].astype(np.float64),
            iterations)


def dense_start(n_sparse: int, dense: np.ndarray, labels: np.ndarray, n_classes: int,
                C: float, tol: float, max_iter: int, plateau: float) -> np.ndarray:
    """Starting weights ((n_sparse + dense + 1) x K) for a fit from scratch: the same objective
    fitted on the sentence vectors alone (the count weights at zero). An iteration of that fit
    costs a tenth of the full one (384 columns, one BLAS product), and most of what the full
    fit learns first is there: at 500 entries the full fit from this start reached its plateau
    after 121 iterations, where from zero it ran its 300 (152 s against 279 s, loss 0.3 %
    apart, the same intent for 99.99 % of the training examples)."""
    coef, intercept, _ = fit_multinomial(sp.csr_matrix((dense.shape[0], 0)), dense, labels,
                                         n_classes, C=C, tol=tol, max_iter=max_iter,
                                         plateau=plateau)
    start = np.zeros((n_sparse + dense.shape[1] + 1, n_classes), np.float32)
    start[n_sparse:-1] = coef.T
    start[-1] = intercept
    return start


def fit_separately(sparse: sp.csr_matrix, dense: np.ndarray, labels: np.ndarray,
                   n_classes: int, dense_weight: float, C: float = 1.0, dense_C: float = 1.0,
                   tol: float = 1e-4, max_iter: int = 100, start: np.ndarray | None = None,
                   plateau: float = 0.0,
                   min_iter: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """A counts-only and a vectors-only model, `fit_multinomial` each, as one linear model whose
    softmax is their geometric mean weighted (1 - dense_weight, dense_weight); returns (coef,
    intercept, iterations of both). `start` ((d + 1) x K, intercept last: a previous
    combined model) starts the counts model only, its count rows and intercept divided by
    their share; the vectors-only fit is cheap."""
    n_sparse = sparse.shape[1]
    w = float(dense_weight)
    sparse_start = None
    if start is not None:
        start = np.asarray(start)
        sparse_start = np.vstack([start[:n_sparse], start[-1:]]) / (1.0 - w)
    coef_s, intercept_s, it_s = fit_multinomial(
        sparse, np.zeros((sparse.shape[0], 0), np.float32), labels, n_classes, C=C, tol=tol,
        max_iter=max_iter, start=sparse_start, plateau=plateau, min_iter=min_iter)
    coef_d, intercept_d, it_d = fit_multinomial(
        sp.csr_matrix((dense.shape[0], 0)), dense, labels, n_classes, C=dense_C, tol=tol,
        max_iter=max_iter, plateau=plateau)
    coef = np.hstack([(1.0 - w) * coef_s, w * coef_d])
    return coef, (1.0 - w) * intercept_s + w * intercept_d, it_s + it_d


def lbfgs(fun: Any, x0: np.ndarray, gtol: float, max_iter: int, memory: int = 10,
          ftol: float = 2.2204460492503131e-09, plateau: float = 0.0,
          window: int = 10, min_iter: int = 0) -> tuple[np.ndarray, int]:
    """Minimise `fun` (value, gradient) by L-BFGS with `memory` corrections, stopping as
    scipy's L-BFGS-B does: the largest gradient entry <= gtol, a relative decrease of the value
    <= ftol, or `max_iter` iterations; and, with `plateau` > 0, once the value fell by less
    than that fraction over the last `window` iterations (not before `min_iter`). Returns
    (x, iterations).

    The plateau rule: with float32 products the value is known to about 1e-7, so ftol (a
    float64 tolerance) stops only by chance (190 iterations on 52 entries, never within 300 on
    500). On 52 entries the value is within 0.4 % of its minimum after 100 iterations, where
    a plateau of 1e-4 stops, and `make eval`'s held-out figures are the same as at 190.

    scipy's L-BFGS-B (what scikit-learn calls) handles bounds this problem does not have: its
    Fortran spends 0.16 s an iteration on the 52-entry model's 0.6 million weights, more than
    the loss and gradient, and 2-3 s on 500 entries' ten million, plus a Python list of one
    bound per weight built before it starts. The same iteration here is a few vector
    operations: the two-loop recursion, then a backtracking line search (Armijo) from step 1.
    """
    x = np.array(x0)
    value, grad = fun(x)
    steps: list[tuple[np.ndarray, np.ndarray, float]] = []  # (s, y, 1 / y.s), oldest first
    values = [value]
    iterations = 0
    while iterations < max_iter and np.abs(grad).max() > gtol:
        direction = -grad
        alphas = []
        for s, y, rho in reversed(steps):
            alpha = rho * float(s @ direction)
            direction -= alpha * y
            alphas.append(alpha)
        if steps:
            s, y, rho = steps[-1]
            direction *= 1.0 / (rho * float(y @ y))
        else:
            direction *= 1.0 / max(1.0, float(np.sqrt(grad @ grad)))
        for (s, y, rho), alpha in zip(steps, reversed(alphas), strict=True):
            beta = rho * float(y @ direction)
            direction += (alpha - beta) * s
        slope = float(grad @ direction)
        if slope >= 0:  # not a descent direction (rounding): start the memory afresh
            steps.clear()
            direction, slope = -grad, -float(grad @ grad)
        step = 1.0
        for _ in range(30):
            candidate = x + step * direction
            new_value, new_grad = fun(candidate)
            if new_value <= value + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            return x, iterations
        s, y = candidate - x, new_grad - grad
        ys = float(y @ s)
        if ys > 1e-10:
            steps.append((s, y, 1.0 / ys))
            if len(steps) > memory:
                steps.pop(0)
        iterations += 1
        decrease = (value - new_value) / max(abs(value), abs(new_value), 1.0)
        x, value, grad = candidate, new_value, new_grad
        values.append(value)
        if decrease <= ftol:
            break
        if plateau and iterations >= min_iter and len(values) > window and (
                values[-window - 1] - value <= plateau * max(abs(value), 1.0)):
            break
    return x, iterations


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class LogisticRegressionIntentClassifier(LogisticRegressionClassifier):
    """Rasa's model with its weights laid out for fast prediction and long messages capped."""

    @staticmethod
    def get_default_config() -> dict:
        # fast_fit: false trains with scikit-learn's own fit (the bench's "before"); warm_start
        # and plateau: see bot/nlu/warm_start.py and `lbfgs`.
        # dense_first: iterations of a first fit on the sentence vectors alone, whose weights
        # start the full fit when there is no warm start (0 = from zero); warm_max_iter: the
        # iterations a warm start may take (its start is the previous problem's answer).
        # dense_weight: 0 fits counts and sentence vectors as one model; w > 0 as two, combined
        # with weights 1 - w and w, the sentence vectors' regularised with dense_C (None: C).
        return {**LogisticRegressionClassifier.get_default_config(), "length_percentile": 90,
                "fast_fit": True, "warm_start": True, "plateau": 1e-4, "dense_first": 100,
                "warm_max_iter": 100, "dense_weight": 0.0, "dense_C": None}

    @classmethod
    def validate_config(cls, config: dict) -> None:
        """dense_weight 1 would leave the counts out (and a warm start divides by 1 - w)."""
        if not 0.0 <= float(config.get("dense_weight") or 0.0) < 1.0:
            raise InvalidConfigException(
                "LogisticRegressionIntentClassifier: 'dense_weight' must be in [0, 1).")

    def train(self, training_data: TrainingData) -> Resource:
        """Learn the length caps from the training questions, then train as Rasa does (the
        caps are kept on the classifier, so they are saved and loaded with it)."""
        self.validate_config(self.config)
        self.clf.length_caps_ = np.zeros(0)
        percentile = float(self.config.get("length_percentile") or 0)
        examples = [e for e in training_data.intent_examples if e.get("intent") and e.get("text")]
        norms = [self._block_norms(e) for e in examples]
        if percentile and norms and len({len(n) for n in norms}) == 1:
            self.clf.length_caps_ = np.percentile(np.array(norms), percentile, axis=0)
        return self._fit(examples) or super().train(training_data)

    def _fit(self, examples: list[Message]) -> Resource | None:
        """Fit as scikit-learn would (see the module's docstring), the sparse and dense
        columns apart; None (scikit-learn's own fit then) for two intents or unusual input."""
        clf = self.clf
        if not self.config.get("fast_fit", True):
            return None
        labels = [e.get("intent") for e in examples]
        classes = np.unique(labels) if labels else np.array([])
        if (len(classes) < 3 or clf.penalty != "l2" or clf.solver != "lbfgs"
                or not clf.fit_intercept or clf.class_weight != "balanced"):
            return None
        dense_width = sum(np.asarray(f.features).shape[-1] for f in examples[0].features
                          if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE
                          and f.is_dense())
        X = self._create_X(examples)
        if not dense_width or not sp.issparse(X) or X.shape[1] <= dense_width:
            return None
        X = sp.csr_matrix(X, dtype=np.float64)
        n_sparse = X.shape[1] - dense_width
        started = time.perf_counter()
        problem = warm_start.Problem([f"{e.get('intent')}\t{e.get('text')}" for e in examples],
                                     classes, X[:, :n_sparse].tocsr(), dense_width)
        # A start is where the same objective ended: another C, or counts and sentence
        # vectors fitted apart, is another problem whose optimum starts nothing here.
        dense_weight = float(self.config.get("dense_weight") or 0.0)
        objective = (f"C{clf.C:g}" if not dense_weight else
                     f"C{clf.C:g}-apart{dense_weight:g}-{self.config.get('dense_C')}")
        cache = training_cache_dir() / "classifier" / objective
        start = warm_start.start(cache, problem) if self.config.get("warm_start") else None
        how = "warm start" if start is not None else "from zero"
        dense, y = X[:, n_sparse:].toarray(), np.searchsorted(classes, labels)
        plateau = float(self.config.get("plateau") or 0.0)
        if start is None and not dense_weight and int(self.config.get("dense_first") or 0) > 0:
            start = dense_start(n_sparse, dense, y, len(classes), clf.C, clf.tol,
                                int(self.config["dense_first"]), plateau)
            how = "from the sentence vectors' fit"
        # After a warm start the plateau is near at once, while a new intent, a small share of
        # the loss, still has most of its way to go: never stop before WARM_MIN_ITER.
        max_iter = (clf.max_iter if how != "warm start"
                    else min(clf.max_iter, int(self.config.get("warm_max_iter") or clf.max_iter)))
        min_iter = WARM_MIN_ITER if how == "warm start" else 0
        if dense_weight:
            dense_C = self.config.get("dense_C")
            coef, intercept, iterations = fit_separately(
                problem.sparse, dense, y, len(classes), dense_weight, C=clf.C,
                dense_C=clf.C if dense_C is None else float(dense_C), tol=clf.tol,
                max_iter=max_iter, start=start, plateau=plateau, min_iter=min_iter)
            how += f", counts and sentence vectors apart (weight {dense_weight:g})"
        else:
            coef, intercept, iterations = fit_multinomial(
                problem.sparse, dense, y, len(classes), C=clf.C, tol=clf.tol,
                max_iter=max_iter, start=start, plateau=plateau, min_iter=min_iter)
        if self.config.get("warm_start"):
            warm_start.save(cache, problem, np.vstack([coef.T, intercept[None, :]]))
        clf.classes_, clf.coef_, clf.intercept_ = classes, coef, intercept
        clf.n_iter_ = np.array([iterations], dtype=np.int32)
        clf.n_features_in_ = coef.shape[1]
        logger.info("Logistic regression: %d examples, %d features, %d intents, %d iterations "
                    "in %.1f s (%s).", len(labels), coef.shape[1], len(classes), iterations,
                    time.perf_counter() - started, how)
        self.persist()
        return self._resource

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
