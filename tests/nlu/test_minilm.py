"""The MiniLM encoders: tokenizer, shapes, agreement of the numpy engine with a plain reference
implementation and published vectors, agreement of the int8 ONNX engine with the numpy one,
paraphrase structure, huge input, and the supply-chain guards."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest

from bot.nlu import minilm

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in (minilm.PACKAGE, "tokenizers")),
    reason=f"model package {minilm.PACKAGE} or tokenizers not installed ({minilm.INSTALL_HINT})")


@pytest.fixture(scope="module")
def model() -> minilm.MiniLM:
    return minilm.get_model()


def reference_embedding(text: str, model: minilm.MiniLM) -> np.ndarray:
    """A deliberately plain float64 BERT pass over the raw weight file: one sentence, no
    padding, one head at a time, no fused matrices, so the fast path is checked against it."""
    from safetensors.numpy import load_file
    from scipy.special import erf

    w = {k: v.astype(np.float64) for k, v in
         load_file(str(minilm.model_dir() / "model.safetensors")).items()}
    ids = model.tokenizer.encode(text).ids

    def norm(x: np.ndarray, name: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * w[name + ".weight"] + w[name + ".bias"]

    def dense(x: np.ndarray, name: str) -> np.ndarray:
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    h = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][:len(ids)]
         + w["embeddings.token_type_embeddings.weight"][0])
    h = norm(h, "embeddings.LayerNorm")
    for i in range(6):
        p = f"encoder.layer.{i}."
        q = dense(h, p + "attention.self.query")
        k = dense(h, p + "attention.self.key")
        v = dense(h, p + "attention.self.value")
        heads = []
        for j in range(12):
            s = slice(32 * j, 32 * (j + 1))
            scores = q[:, s] @ k[:, s].T / np.sqrt(32)
            att = np.exp(scores - scores.max(1, keepdims=True))
            att /= att.sum(1, keepdims=True)
            heads.append(att @ v[:, s])
        h = norm(dense(np.concatenate(heads, 1), p + "attention.output.dense") + h,
                 p + "attention.output.LayerNorm")
        inner = dense(h, p + "intermediate.dense")
        inner = 0.5 * inner * (1 + erf(inner / np.sqrt(2)))
        h = norm(dense(inner, p + "output.dense") + h, p + "output.LayerNorm")
    pooled = h.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_tokenizer_uses_bert_uncased_wordpiece_ids(model: minilm.MiniLM) -> None:
    ids, mask = model.tokenize(["hello world", "Hello, WORLD!"])
    # [CLS]=101, hello=7592, world=2088, [SEP]=102 in the bert-base-uncased vocabulary.
    assert ids[0, :4].tolist() == [101, 7592, 2088, 102]
    assert mask[0].tolist() == [1, 1, 1, 1, 0, 0]  # padded to the longer second text
    assert ids[1].tolist() == [101, 7592, 1010, 2088, 999, 102]  # lower-cased, punctuation split


def test_vectors_have_the_right_shape_and_unit_length(model: minilm.MiniLM) -> None:
    texts = ["How do I pay customs duty?", "hi", "What documents do I need to import a car?"]
    vectors = model.encode(texts)
    assert vectors.shape == (3, minilm.DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batched_padded_pass_matches_plain_reference(model: minilm.MiniLM) -> None:
    texts = ["hi", "Where can I find the opening hours of the Chirundu border post?"]
    fast = model.encode(texts)  # one padded batch: the short text is masked
    for text, vector in zip(texts, fast, strict=True):
        np.testing.assert_allclose(vector, reference_embedding(text, model), atol=1e-4)


def test_matches_published_all_minilm_vector(model: minilm.MiniLM) -> None:
    # First values of all-MiniLM-L6-v2("hello world") as asserted by fastembed's ONNX test.
    published = [-3.44772711e-02, 3.10231801e-02, 6.73499797e-03, 2.61089597e-02]
    np.testing.assert_allclose(model.encode(["hello world"])[0, :4], published, atol=1e-4)


def test_order_and_batching_do_not_change_vectors(model: minilm.MiniLM) -> None:
    texts = [f"question number {i} about {'import ' * (i % 5)}duty" for i in range(7)]
    together = model.encode(texts, batch_size=3)
    alone = np.vstack([model.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_paraphrases_are_close_and_unrelated_texts_far(model: minilm.MiniLM) -> None:
    a, b, c, d = model.encode([
        "How do I pay customs duty?",
        "What is the way to pay my import duties?",
        "I like football and pizza.",
        "My cat sleeps all afternoon.",
    ])
    assert a @ b > 0.7
    assert a @ c < 0.3 and b @ c < 0.3 and a @ d < 0.3


def test_huge_message_is_truncated_cheaply(model: minilm.MiniLM) -> None:
    huge = "customs duty " * 8000  # about 100,000 characters
    ids, mask = model.tokenize([huge])
    assert ids.shape == (1, minilm.MAX_TOKENS)
    started = time.perf_counter()
    vector = model.encode([huge])
    assert time.perf_counter() - started < 3.0
    assert np.isfinite(vector).all()
    np.testing.assert_allclose(np.linalg.norm(vector), 1.0, atol=1e-5)


def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(minilm.ModelUnavailable, match="requirements-model.txt"):
        minilm.model_dir()


def test_weights_with_another_hash_are_refused(tmp_path: Path) -> None:
    real = minilm.model_dir()
    for name in ("config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((real / name).read_bytes())
    (tmp_path / "model.safetensors").write_bytes(b"not the pinned weights")
    with pytest.raises(minilm.ModelUnavailable, match="sha256"):
        minilm.MiniLM(tmp_path)


def test_installed_weights_match_the_pin() -> None:
    minilm.verify_weights(minilm.model_dir() / "model.safetensors")


def knowledge_questions() -> list[str]:
    from bot.content.reader import read_knowledge
    from bot.settings.paths import knowledge_dir

    kb, _ = read_knowledge(knowledge_dir())
    return [q for entry in kb.entries.values() for q in entry.examples[:3]]


# engine -> (lowest cosine, mean cosine, share of nearest neighbours unchanged) it must keep
# against the float32 reference over the knowledge base's own questions.
AGREEMENT = {"onnx": (0.99, 0.998, 0.95), "int8": (0.97, 0.99, 0.85)}


@pytest.fixture(scope="module", params=sorted(AGREEMENT))
def engine(request: pytest.FixtureRequest) -> tuple[str, minilm.MiniLMOnnx]:
    return request.param, minilm.get_model(request.param)


def test_onnx_engines_agree_with_the_float_reference(model: minilm.MiniLM, engine) -> None:
    name, fast = engine
    lowest, mean, neighbours = AGREEMENT[name]
    texts = knowledge_questions()
    assert len(texts) > 100
    ref, got = model.encode(texts), fast.encode(texts)
    cosines = (ref * got).sum(1)
    assert cosines.min() > lowest, texts[int(cosines.argmin())]
    assert cosines.mean() > mean
    # What the classifier relies on: which training question is nearest stays the same.
    np.fill_diagonal(sims_ref := ref @ ref.T, -1)
    np.fill_diagonal(sims_got := got @ got.T, -1)
    assert (sims_ref.argmax(1) == sims_got.argmax(1)).mean() > neighbours


def test_onnx_engines_shapes_batching_and_huge_input(engine) -> None:
    _, fast = engine
    texts = [f"question number {i} about {'import ' * (i % 5)}duty" for i in range(7)]
    together = fast.encode(texts, batch_size=3)
    assert together.shape == (7, minilm.DIM) and together.dtype == np.float32
    alone = np.vstack([fast.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-4)  # same vector, batched or not
    vector = fast.encode(["customs duty " * 8000])
    np.testing.assert_allclose(np.linalg.norm(vector), 1.0, atol=1e-5)


def test_int8_engine_computes_in_integers() -> None:
    """Not a timing target (benchmarks measure speed): a check that the derived file really
    computes in integers, read from its operators."""
    import onnx
    import onnxruntime  # noqa: F401  (onnx is installed with it)

    ops = {n.op_type for n in onnx.load(str(minilm.int8_model_file())).graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= ops
    published = {n.op_type for n in onnx.load(str(minilm.onnx_model_file())).graph.node}
    assert "MatMulInteger" not in published


def _exact_twin(path: Path) -> bytes:
    """The same graph with each MatMulInteger done as a float MatMul of the same integers:
    what a CPU that never saturates computes (exact up to float rounding)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph, nodes = model.graph, []
    weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            nodes.append(node)
            continue
        a, b, a_zero, b_zero = node.input
        centred = weights[b].astype(np.float32) - weights[b_zero].astype(np.float32)
        graph.initializer.append(numpy_helper.from_array(centred, f"{node.name}_b"))
        n = node.name
        nodes += [helper.make_node("Cast", [a], [f"{n}_a"], to=TensorProto.FLOAT),
                  helper.make_node("Cast", [a_zero], [f"{n}_z"], to=TensorProto.FLOAT),
                  helper.make_node("Sub", [f"{n}_a", f"{n}_z"], [f"{n}_c"]),
                  helper.make_node("MatMul", [f"{n}_c", f"{n}_b"], [f"{n}_m"]),
                  helper.make_node("Round", [f"{n}_m"], [f"{n}_r"]),
                  helper.make_node("Cast", [f"{n}_r"], [node.output[0]], to=TensorProto.INT32)]
    del graph.node[:]
    graph.node.extend(nodes)
    return model.SerializeToString()


def test_int8_engine_gives_the_same_vectors_on_every_cpu(tmp_path: Path) -> None:
    """Signed weights let a CPU without VNNI saturate its 16-bit sums of two products, so the
    same model read messages differently from one machine to the next: the weights must be
    unsigned, and the engine must give what exact integer products give."""
    import onnx
    import onnxruntime

    path = minilm.int8_model_file()
    model = onnx.load(str(path))
    kinds = {i.name: i.data_type for i in model.graph.initializer}
    weight_kinds = {kinds[n.input[1]] for n in model.graph.node if n.op_type == "MatMulInteger"}
    assert weight_kinds == {onnx.TensorProto.UINT8}
    twin = tmp_path / "exact.onnx"
    twin.write_bytes(_exact_twin(path))
    texts = knowledge_questions()[:40] + ["hw do i gt tpin pls", "and for cars?"]
    got = minilm.get_model("int8").encode(texts)
    exact = minilm.MiniLMOnnx(twin, verify=False, batchable=False)
    # Unfused: onnxruntime's float fusions (GELU, attention) would move the twin on their own.
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    exact.session = onnxruntime.InferenceSession(str(twin), options,
                                                 providers=["CPUExecutionProvider"])
    # Saturated products give 0.97-0.99 here; the engine's own fusions leave 0.99996.
    assert (got * exact.encode(texts)).sum(1).min() > 0.9999


def test_int8_vectors_kept_are_the_ones_computed_again(monkeypatch) -> None:
    """The int8 engine keeps the vectors of the latest texts (one text at a time, so a text's
    vector is its own): kept or computed, the same bytes; the oldest dropped beyond
    KEPT_VECTORS; each encoder (another model file) keeps its own."""
    engine = minilm.get_model("int8")
    texts = ["and for cars?", "how do i pay duty", "and for cars?", "x" * (minilm.MAX_CHARS + 9)]
    engine.__dict__.pop("_kept", None)
    fresh = engine._encode(texts, 1)
    kept = engine.encode(texts)
    np.testing.assert_array_equal(kept, fresh)
    np.testing.assert_array_equal(engine.encode(list(reversed(texts))), fresh[::-1])
    assert len(engine._kept) == 3  # the repeated text and the cut long one once each
    kept[0] += 1  # the caller's copy, not the kept vector
    np.testing.assert_array_equal(engine.encode(texts[:1]), fresh[:1])
    monkeypatch.setattr(minilm, "KEPT_VECTORS", 2)
    engine.encode(["a new text"])
    assert list(engine._kept)[-1] == "a new text" and len(engine._kept) == 2
    other = minilm.MiniLMOnnx(minilm.int8_model_file(), verify=False, batchable=False)
    assert "_kept" not in other.__dict__
    np.testing.assert_array_equal(other.encode(texts), fresh)
    float_engine = minilm.get_model("onnx")  # batched engines keep nothing
    float_engine.encode(texts[:2])
    assert "_kept" not in float_engine.__dict__


def test_onnx_file_with_another_hash_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the pinned file")
    with pytest.raises(minilm.ModelUnavailable, match="sha256"):
        minilm.MiniLMOnnx(fake)


def test_installed_onnx_file_matches_the_pin() -> None:
    minilm.verify_weights(minilm.onnx_model_file(), minilm.INT8_SHA256)


def test_int8_file_is_derived_to_the_pinned_bytes_and_a_tampered_copy_replaced(
        tmp_path: Path) -> None:
    derived = minilm.int8_model_file(tmp_path)
    assert minilm.sha256_file(derived) == minilm.DERIVED_INT8_SHA256
    derived.write_bytes(b"tampered")
    again = minilm.int8_model_file(tmp_path)
    assert again == derived and minilm.sha256_file(again) == minilm.DERIVED_INT8_SHA256
    assert [p.name for p in tmp_path.iterdir()] == [derived.name]  # no temporary files left


def test_each_engine_has_its_own_training_fingerprint() -> None:
    prints = {minilm.model_fingerprint(e) for e in minilm.ENGINES}
    assert len(prints) == len(minilm.ENGINES)


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="int8"):
        minilm.get_model("fp16")
