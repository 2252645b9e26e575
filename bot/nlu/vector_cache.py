"""Sentence vectors of training examples, kept between trainings.

Every training encodes every example again, although an edit changes a few of hundreds: at 500
entries (8,000 examples) that is 12-40 s of the training, the same vectors each time. The int8
engine encodes one text at a time, so a text's vector does not depend on the other texts:
a kept vector is exactly the one that would be computed. The file is per engine and model
(`minilm.model_fingerprint`), holds at most `MAX_TEXTS` texts (the most recent training's
first), and is written atomically; an unreadable file is ignored, never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MAX_TEXTS = 40_000  # 61 MB of float32 vectors


def pack(texts: list[str]) -> np.ndarray:
    """Texts as bytes in an array (np.load then needs no pickle)."""
    return np.frombuffer(json.dumps(texts).encode(), dtype=np.uint8)


def unpack(array: np.ndarray) -> list[str]:
    return json.loads(array.tobytes().decode())


def _file(directory: Path, fingerprint: str) -> Path:
    return directory / f"vectors-{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}.npz"


def encode(texts: list[str], compute: Callable[[list[str]], np.ndarray], directory: Path,
           fingerprint: str) -> np.ndarray:
    """`compute(texts)`, computing only the texts not kept from an earlier training."""
    path = _file(directory, fingerprint)
    kept: dict[str, np.ndarray] = {}
    old_texts: list[str] = []
    old_vectors = np.zeros((0, 0), np.float32)
    try:
        with np.load(path) as stored:
            old_texts = unpack(stored["texts"])
            old_vectors = stored["vectors"]
        if old_vectors.ndim != 2 or len(old_vectors) != len(old_texts):
            raise ValueError("texts and vectors do not match")
        kept = {text: old_vectors[i] for i, text in enumerate(old_texts)}
    except FileNotFoundError:
        pass
    except Exception as error:  # a damaged or foreign file (BadZipFile, ...): computed again
        old_texts, kept = [], {}
        logger.info("Ignoring the kept sentence vectors %s: %s", path.name, error)
    missing = sorted({t for t in texts if t not in kept})
    reused = sum(1 for t in texts if t in kept)
    if missing:
        for text, vector in zip(missing, compute(missing), strict=True):
            kept[text] = vector
    if not texts:
        return np.zeros((0, 0), np.float32)
    out = np.stack([kept[t] for t in texts])
    logger.info("Sentence vectors: %d examples, %d kept from earlier trainings.", len(texts),
                reused)
    if missing:
        current = list(dict.fromkeys(texts))
        seen = set(current)
        rest = [t for t in old_texts if t not in seen][:max(0, MAX_TEXTS - len(current))]
        _save(path, current + rest, np.stack([kept[t] for t in current + rest]))
    return out


def write_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """`np.savez` to a temporary file beside `path`, then renamed over it: a reader sees the
    old file or the new one, and a failed or killed write leaves no temporary file behind
    (except on SIGKILL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **arrays)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _save(path: Path, texts: list[str], vectors: np.ndarray) -> None:
    try:
        write_atomically(path, {"texts": pack(texts), "vectors": vectors})
    except OSError as error:
        logger.warning("Could not keep the sentence vectors for the next training: %s", error)
