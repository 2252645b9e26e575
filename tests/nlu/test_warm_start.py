"""bot.nlu.warm_start and vector_cache: what one training keeps for the next. A start is mapped
by intent name and by where each count column occurs, so an edit that adds a word (shifting
every later column) or an intent still starts from the old weights; from there the fit reaches
the same objective in fewer iterations. Unrelated or unreadable files start from zero. Kept
sentence vectors are only computed once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from bot.nlu import vector_cache, warm_start
from bot.nlu.logistic import fit_multinomial

DENSE = 6


def problem(rng: np.random.Generator, intents: list[str], per_intent: int = 12,
            columns: int = 60) -> tuple[warm_start.Problem, np.ndarray, np.ndarray]:
    """Examples whose count columns and vectors depend on their intent; (problem, dense, y)."""
    examples, rows, dense, labels = [], [], [], []
    for k, intent in enumerate(intents):
        for i in range(per_intent):
            cols = list({(3 * k + j) % columns for j in range(3)} |
                        set(rng.choice(columns, 3, replace=False).tolist()))
            rows.append(cols)
            dense.append(rng.normal(size=DENSE) + np.eye(DENSE)[k % DENSE] * 2)
            examples.append(f"{intent}\texample {i} of {intent}")
            labels.append(intent)
    indptr = np.cumsum([0] + [len(r) for r in rows])
    matrix = sp.csr_matrix((np.ones(indptr[-1]), np.concatenate(rows), indptr),
                           shape=(len(rows), columns))
    classes = np.unique(labels)
    return (warm_start.Problem(examples, classes, matrix, DENSE), np.array(dense),
            np.searchsorted(classes, labels))


def fit(p: warm_start.Problem, dense: np.ndarray, y: np.ndarray, start=None):
    coef, intercept, iterations = fit_multinomial(p.sparse, dense, y, len(p.classes),
                                                  max_iter=500, start=start)
    return coef, intercept, iterations


def objective(p, dense, y, coef, intercept) -> float:
    X = np.hstack([p.sparse.toarray(), dense])
    scores = X @ coef.T + intercept
    scores -= scores.max(axis=1, keepdims=True)
    log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    counts = np.bincount(y)
    sample = len(y) / (len(counts) * counts[y])
    return float(-(sample * log_p[np.arange(len(y)), y]).sum() + 0.5 * (coef ** 2).sum())


def test_an_edit_starts_from_the_old_weights_and_reaches_the_same_objective_sooner(
        tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    old, old_dense, old_y = problem(rng, [f"kb_{k}" for k in range(12)])
    coef, intercept, _ = fit(old, old_dense, old_y)
    warm_start.save(tmp_path, old, np.vstack([coef.T, intercept[None, :]]))

    # The edit: a new intent, and a new word that shifts every count column by one.
    new_rng = np.random.default_rng(1)
    extra, extra_dense, _ = problem(new_rng, ["kb_new"], columns=60)
    shifted = sp.hstack([sp.csr_matrix((old.sparse.shape[0], 1)), old.sparse]).tocsr()
    extra_shifted = sp.hstack([sp.csr_matrix(np.ones((12, 1))), extra.sparse]).tocsr()
    classes = np.array(sorted([f"kb_{k}" for k in range(12)] + ["kb_new"]))
    new_k = list(classes).index("kb_new")
    old_k = [k for k in range(13) if k != new_k]
    new = warm_start.Problem(old.examples + extra.examples, classes,
                             sp.vstack([shifted, extra_shifted]).tocsr(), DENSE)
    dense = np.vstack([old_dense, extra_dense])
    y = np.concatenate([np.searchsorted(classes, old.classes[old_y]), np.full(12, new_k)])

    start = warm_start.start(tmp_path, new)
    assert start is not None and start.shape == (61 + DENSE + 1, 13)
    # Old column j is new column j + 1 (where it occurs among the shared examples is the same);
    # of columns occurring in the very same examples, each starts from the first one's weights.
    keys = warm_start._column_keys(old.sparse)
    first = {key: j for j, key in reversed(list(enumerate(keys)))}
    for j, key in enumerate(keys):
        expected = coef.T[first[key]] if key is not None else np.zeros(12)
        np.testing.assert_allclose(start[j + 1, old_k], expected, rtol=1e-6)
    assert len(set(keys)) > 40  # most columns have a pattern of their own
    np.testing.assert_allclose(start[61:61 + DENSE, old_k], coef.T[60:], rtol=1e-6)
    np.testing.assert_allclose(start[-1, old_k], intercept, rtol=1e-6)
    assert not start[:, new_k].any()  # the new intent starts at zero
    assert not start[0].any()     # and the new word

    cold_coef, cold_b, cold_iterations = fit(new, dense, y)
    warm_coef, warm_b, warm_iterations = fit(new, dense, y, start)
    assert warm_iterations < cold_iterations
    cold = objective(new, dense, y, cold_coef, cold_b)
    assert objective(new, dense, y, warm_coef, warm_b) <= cold * 1.001


def test_an_unrelated_or_unreadable_training_starts_from_zero(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    old, dense, y = problem(rng, ["kb_a", "kb_b", "kb_c"])
    other, _, _ = problem(rng, ["x_1", "x_2", "x_3"])
    assert warm_start.start(tmp_path, old) is None  # nothing kept yet
    coef, intercept, _ = fit(old, dense, y)
    warm_start.save(tmp_path, old, np.vstack([coef.T, intercept[None, :]]))
    assert warm_start.start(tmp_path, other) is None
    assert warm_start.start(tmp_path, old) is not None
    for path in tmp_path.glob("logistic-*.npz"):
        path.write_bytes(b"not a numpy file")
    assert warm_start.start(tmp_path, old) is None


def test_only_the_most_recent_trainings_are_kept(tmp_path: Path) -> None:
    for seed in range(warm_start.KEEP + 2):
        p, _, _ = problem(np.random.default_rng(seed), [f"kb_{seed}_{k}" for k in range(3)])
        warm_start.save(tmp_path, p, np.zeros((p.sparse.shape[1] + DENSE + 1, 3)))
    assert len(list(tmp_path.glob("logistic-*.npz"))) == warm_start.KEEP
    assert not list(tmp_path.glob("*.tmp"))


def test_kept_vectors_are_computed_once(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def compute(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([[len(t), ord(t[0]), 1.0] for t in texts], np.float32)

    first = vector_cache.encode(["pay duty", "vat rate", "pay duty"], compute, tmp_path, "m1")
    assert calls == [["pay duty", "vat rate"]]
    again = vector_cache.encode(["vat rate", "tpin?", "pay duty"], compute, tmp_path, "m1")
    assert calls[-1] == ["tpin?"]
    np.testing.assert_array_equal(again[0], first[1])
    np.testing.assert_array_equal(again[2], first[0])
    np.testing.assert_array_equal(again[1], compute(["tpin?"])[0])
    # Another model's vectors are never used.
    vector_cache.encode(["vat rate"], compute, tmp_path, "m2")
    assert calls[-1] == ["vat rate"]


def test_an_unreadable_vector_file_is_computed_again(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    def compute(texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 2), np.float32)

    caplog.set_level("INFO", logger="bot.nlu.vector_cache")
    vector_cache.encode(["a"], compute, tmp_path, "m")
    (path,) = tmp_path.glob("vectors-*.npz")
    path.write_bytes(b"\x00garbage")
    out = vector_cache.encode(["a", "b"], compute, tmp_path, "m")
    assert out.shape == (2, 2)
    assert "Ignoring the kept sentence vectors" in caplog.text


def test_a_fit_from_scratch_starts_from_the_sentence_vectors_fit() -> None:
    from bot.nlu.logistic import dense_start

    p, dense, y = problem(np.random.default_rng(3), [f"kb_{k}" for k in range(8)])
    start = dense_start(p.sparse.shape[1], dense, y, len(p.classes), 1.0, 1e-4, 100, 1e-4)
    assert start.shape == (60 + DENSE + 1, 8)
    assert not start[:60].any() and start[60:].any()  # count weights at zero, vectors fitted
    cold_coef, cold_b, _ = fit(p, dense, y)
    coef, b, _ = fit(p, dense, y, start)
    assert objective(p, dense, y, coef, b) <= objective(p, dense, y, cold_coef, cold_b) * 1.001


def test_a_truncated_cache_file_is_ignored_not_an_error(tmp_path: Path) -> None:
    def compute(texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 4), np.float32)

    vector_cache.encode(["a", "b"], compute, tmp_path, "fp")
    path = next(tmp_path.glob("*.npz"))
    path.write_bytes(path.read_bytes()[:200])
    assert vector_cache.encode(["a", "b"], compute, tmp_path, "fp").shape == (2, 4)
    p, dense, y = problem(np.random.default_rng(0), ["kb_a", "kb_b", "kb_c"])
    warm_start.save(tmp_path, p, np.zeros((60 + DENSE + 1, 3)))
    kept = next(tmp_path.glob("logistic-*.npz"))
    kept.write_bytes(kept.read_bytes()[:300])
    assert warm_start.start(tmp_path, p) is None
    assert not list(tmp_path.glob("*.tmp"))


def test_the_plateau_rule_waits_for_min_iter() -> None:
    from bot.nlu.logistic import lbfgs

    scales = np.logspace(-4, 0, 50)

    def slow(v: np.ndarray) -> tuple[float, np.ndarray]:  # an ill-conditioned valley
        return float(100.0 + 0.5 * (scales * v) @ v), scales * v

    _, early = lbfgs(slow, np.ones(50), 1e-12, 200, plateau=1e-3)
    _, floor = lbfgs(slow, np.ones(50), 1e-12, 200, plateau=1e-3, min_iter=40)
    assert early < 40 <= floor
