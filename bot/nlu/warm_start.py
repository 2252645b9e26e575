"""Where the last training's classifier ended, so that the next training can start there.

Support staff retrain after every edit, and an edit changes a few examples of hundreds: the
previous optimum is close to the new one. L-BFGS started there reaches the same objective in a
fraction of the iterations (52 entries, one entry added: 56 iterations instead of 190 from
zero, to the same loss). Only the starting point changes, never the problem solved; a
training is then not bit-for-bit reproducible from its data alone (`warm_start: false` in
config.yml trains from zero, as before).

Mapping the old weights onto the new problem:
- intents by name; a new intent starts at zero;
- sentence-vector columns one to one (same encoder, same width);
- count columns (a word, a character n-gram) by where they occur: the vocabulary, hence the
  column order, changes when an edit brings a new word, and the classifier never sees the
  vocabulary. A new column takes the weights of the old column that is non-zero in exactly
  the same examples among those both trainings share (compared by text and intent). Columns
  not found start at zero. Two columns with the same pattern get the same start: both are
  then the same feature as far as the shared examples can tell.

Pure numpy; the store is a few `.npz` files under the training cache (`TRAINING_CACHE_DIR`),
written atomically, the most recent few kept (the bench's and `make train`'s trainings do not
evict each other), and the one sharing most examples with the new training is used.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from bot.nlu.vector_cache import pack, unpack, write_atomically

logger = logging.getLogger(__name__)

KEEP = 4             # most recent trainings kept
MIN_SHARED = 0.5     # share of the new examples the old training must have had


@dataclass
class Problem:
    """One training's classifier problem: what a start is mapped from and onto."""

    examples: list[str]          # "intent\ttext" per row
    classes: np.ndarray          # intent names, sorted
    sparse: sp.csr_matrix        # count columns (only the pattern of non-zeros is used)
    dense_width: int


def _key(examples: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(examples)).encode()).hexdigest()[:16]


def save(directory: Path, problem: Problem, weights: np.ndarray) -> None:
    """Keep `weights` ((sparse + dense + 1) x classes) for the next training."""
    try:
        pattern = problem.sparse.tocsr()
        write_atomically(directory / f"logistic-{_key(problem.examples)}.npz", {
            "examples": pack(problem.examples),
            "classes": pack([str(c) for c in problem.classes]),
            "indptr": pattern.indptr, "indices": pattern.indices,
            "shape": np.array(pattern.shape), "dense_width": np.array(problem.dense_width),
            "weights": np.asarray(weights, np.float32)})
        for old in sorted(directory.glob("logistic-*.npz"), key=lambda p: p.stat().st_mtime,
                          reverse=True)[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as error:  # a cache: the next training starts from zero
        logger.warning("Could not keep the classifier for the next training: %s", error)


def start(directory: Path, problem: Problem) -> np.ndarray | None:
    """Starting weights for `problem` from the closest kept training, or None (start at zero)."""
    best, best_shared = None, 0
    new_rows = {text: i for i, text in enumerate(problem.examples)}
    for path in directory.glob("logistic-*.npz"):
        try:
            with np.load(path) as stored:
                old_examples = unpack(stored["examples"])
                if int(stored["dense_width"]) != problem.dense_width:
                    continue
                shared = sum(1 for text in old_examples if text in new_rows)
                if shared > best_shared:
                    best_shared = shared
                    best = {name: stored[name] for name in stored.files}
        except Exception as error:  # a damaged or foreign file (BadZipFile, ...): skipped
            logger.info("Ignoring the kept classifier %s: %s", path.name, error)
    if best is None or best_shared < MIN_SHARED * len(problem.examples):
        return None
    try:
        return _map(best, problem, new_rows, best_shared)
    except Exception as error:  # shapes that do not fit together: start from zero
        logger.info("Ignoring the kept classifier: %s", error)
        return None


def _map(old: dict, problem: Problem, new_rows: dict[str, int], shared: int) -> np.ndarray:
    old_examples = unpack(old["examples"])
    old_rows, rows = [], []
    for i, text in enumerate(old_examples):
        if text in new_rows:
            old_rows.append(i)
            rows.append(new_rows[text])
    shape = tuple(int(v) for v in old["shape"])
    old_sparse = sp.csr_matrix((np.ones(len(old["indices"]), np.int8), old["indices"],
                                old["indptr"]), shape=shape)
    old_columns = _column_keys(old_sparse[old_rows])
    new_columns = _column_keys(problem.sparse[rows])
    by_key: dict[bytes, int] = {}
    for j, key in enumerate(old_columns):
        if key is not None:
            by_key.setdefault(key, j)
    weights = old["weights"]
    n_old_sparse = shape[1]
    n_sparse = problem.sparse.shape[1]
    width = problem.dense_width
    old_classes = {name: k for k, name in enumerate(unpack(old["classes"]))}
    class_map = [(k, old_classes[name]) for k, name in enumerate(problem.classes)
                 if name in old_classes]
    new_k = np.array([k for k, _ in class_map], dtype=np.intp)
    old_k = np.array([k for _, k in class_map], dtype=np.intp)
    column_map = [(j, by_key[key]) for j, key in enumerate(new_columns)
                  if key is not None and key in by_key]
    new_j = np.array([j for j, _ in column_map], dtype=np.intp)
    old_j = np.array([j for _, j in column_map], dtype=np.intp)
    out = np.zeros((n_sparse + width + 1, len(problem.classes)), np.float32)
    if len(new_k):
        out[np.ix_(new_j, new_k)] = weights[np.ix_(old_j, old_k)]
        out[n_sparse:, new_k] = weights[n_old_sparse:, old_k]
    logger.info("Classifier warm start: %d of %d examples, %d of %d intents and %d of %d count "
                "columns carried over.", shared, len(problem.examples), len(new_k),
                len(problem.classes), len(new_j), n_sparse)
    return out


def _column_keys(matrix: sp.csr_matrix) -> list[bytes | None]:
    """Per column, the rows it is non-zero in (None: in none of them)."""
    csc = sp.csc_matrix(matrix)
    csc.sort_indices()
    keys: list[bytes | None] = []
    for j in range(csc.shape[1]):
        rows = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
        keys.append(rows.tobytes() if len(rows) else None)
    return keys
