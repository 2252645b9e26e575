"""bot/patches/speedups.py: the patched Rasa internals give the same results as the originals."""

from __future__ import annotations

import json

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy

from bot import patches
from bot.patches import speedups


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    assert patches.install()
    assert patches.install()  # idempotent


GOOD = [{"events": [{"event": "slot", "name": "x", "value": 1}],
         "responses": [{"text": "hi"}]}]
BAD = [{"events": "not a list", "responses": []}, {"responses": [{"text": 3}]},
       {"events": [{"no": "event key"}], "responses": []}]


@pytest.mark.parametrize("answer", GOOD + BAD)
def test_action_answers_get_the_same_verdict_as_jsonschema_validate(answer: dict) -> None:
    spec = RemoteAction.action_response_format_spec()
    try:
        jsonschema.validate(answer, spec)
        expected = None
    except jsonschema.ValidationError as e:
        expected = e.message
    action = RemoteAction("action_x", None)
    if expected is None:
        assert action._validate_action_result(answer) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as caught:
            action._validate_action_result(answer)
        assert caught.value.message.startswith(expected)
        assert "custom-actions" in caught.value.message


def test_rule_keys_are_parsed_once_and_equal_to_rasa_parsing() -> None:
    key = json.dumps([{"prev_action": {"action_name": "action_listen"},
                       "user": {"intent": "kb_prohibited_goods"}},
                      {"prev_action": {"action_name": "action_answer"},
                       "slots": {"x": [1.0]}}])
    first = RulePolicy._rule_key_to_state(key)
    assert first == json.loads(key)
    assert RulePolicy._rule_key_to_state(key) is first  # cached, not parsed again
    assert RulePolicy._rule_key_to_state(key + " ") == first  # another key, parsed on its own


def test_action_calls_reuse_one_connection_and_survive_a_server_restart() -> None:
    """Against a real HTTP server on loopback: one TCP connection for many calls, and a
    restarted server is reached on a new one."""
    import asyncio

    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    from tests.conftest import free_port

    port = free_port()
    client_ports: list[int] = []

    async def handler(request: web.Request) -> web.Response:
        client_ports.append(request.transport.get_extra_info("peername")[1])
        return web.json_response({"events": [], "responses": [], "n": len(client_ports)})

    async def serve() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/webhook", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    async def scenario() -> None:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        runner = await serve()
        answers = [await endpoint.request(json={"next_action": "x"}) for _ in range(5)]
        assert [a["n"] for a in answers] == [1, 2, 3, 4, 5]
        assert len(set(client_ports)) == 1  # kept alive
        await runner.cleanup()  # the action server goes away...
        runner = await serve()  # ...and comes back
        assert (await endpoint.request(json={"next_action": "x"}))["n"] == 6
        assert len(set(client_ports)) == 2
        await runner.cleanup()

    asyncio.run(scenario())


def rasas_possible_keys(policy: RulePolicy, lookup: dict, states: list) -> set:
    """Rasa 3.6's `RulePolicy._get_possible_keys`, as written there."""
    possible_keys = set(lookup.keys())
    for i, state in enumerate(reversed(states)):
        possible_keys = set(filter(lambda key: policy._is_rule_applicable(key, i, state),
                                   possible_keys))
    return possible_keys


def test_indexed_rule_lookup_finds_exactly_the_rules_rasa_finds() -> None:
    """Random rules and conversations over a small vocabulary, so that many rules match."""
    import random

    from rasa.shared.core.constants import SHOULD_NOT_BE_SET

    rng = random.Random(3)
    actions = ["action_listen", "action_answer", "action_clarify", "utter_x", "handover_form"]
    intents = ["greet", "kb_a", "kb_b", "stop", "nlu_fallback"]

    def state(rule: bool) -> dict:
        out: dict = {}
        if rng.random() < 0.9:
            out["prev_action"] = {"action_name": rng.choice(actions + ([SHOULD_NOT_BE_SET]
                                                                      if rule else []))}
        if rng.random() < 0.7:
            out["user"] = {"intent": rng.choice(intents + ([SHOULD_NOT_BE_SET] if rule else []))}
        if rng.random() < 0.3:
            out["active_loop"] = {"name": rng.choice(["handover_form", SHOULD_NOT_BE_SET])}
        if rng.random() < 0.3:
            out["slots"] = {"topic": rng.choice([(1.0,), (0.0,), SHOULD_NOT_BE_SET])}
        return out

    lookup = {json.dumps([state(True) for _ in range(rng.randint(1, 3))]): "a"
              for _ in range(400)}
    policy = RulePolicy.__new__(RulePolicy)
    matched = 0
    for _ in range(300):
        states = [state(False) for _ in range(rng.randint(0, 4))]
        expected = rasas_possible_keys(policy, lookup, states)
        assert policy._get_possible_keys(lookup, states) == expected
        matched += len(expected)
    assert matched > 300  # the comparison is not between empty sets


def graph_components():
    """Tiny graph components: a source, an adder that can fail, a doubler."""
    from rasa.engine.graph import GraphComponent

    class Source(GraphComponent):
        @classmethod
        def create(cls, config, model_storage, resource, execution_context):
            return cls()

        def provide(self) -> int:
            return 2

    class Add(Source):
        calls = 0

        def run(self, a: int, b: int) -> int:
            Add.calls += 1
            if b == 13:
                raise ValueError("unlucky")
            return a + b

    class Double(Source):
        def run(self, x: int) -> int:
            return 2 * x

    return Source, Add, Double


def test_graph_runner_gives_dasks_results_and_errors(tmp_path) -> None:
    from rasa.engine.exceptions import GraphComponentException, GraphRunError
    from rasa.engine.graph import ExecutionContext, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    source, add, double = graph_components()

    def node(uses, fn, needs, target=False):
        return SchemaNode(needs=needs, uses=uses, constructor_name="create", fn=fn, config={},
                          is_target=target)

    schema = GraphSchema({
        "src": node(source, "provide", {}),
        "add": node(add, "run", {"a": "src", "b": "__input__"}),
        "double": node(double, "run", {"x": "add"}, target=True),
        "other": node(double, "run", {"x": "src"}, target=True),
    })
    runner = DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema))
    dask_run = patches.ORIGINALS["DaskGraphRunner.run"]

    for targets in (["double"], ["double", "other"], ["other"], None, ["add", "src"]):
        add.calls = 0
        ours = runner.run(inputs={"__input__": 5}, targets=targets)
        ours_calls, add.calls = add.calls, 0
        assert ours == dask_run(runner, inputs={"__input__": 5}, targets=targets), targets
        assert ours_calls == add.calls  # the same nodes run, each once
    assert runner.run(inputs={"__input__": 5}, targets=["double"]) == {"double": 14}
    # An input named like a node replaces it, as with dask.
    replaced = {"__input__": 5, "add": 100}
    assert runner.run(inputs=replaced, targets=["double"]) == {"double": 200}
    assert dask_run(runner, inputs=replaced, targets=["double"]) == {"double": 200}
    for run in (runner.run, lambda **kw: dask_run(runner, **kw)):
        with pytest.raises(GraphComponentException):
            run(inputs={"__input__": 13}, targets=["double"])
        with pytest.raises(GraphRunError, match="clashes"):
            run(inputs={"__input__": "add"}, targets=["double"])


def test_event_types_resolve_as_in_rasa() -> None:
    from rasa.shared.core.events import ActionExecuted, Event, UserUttered
    from rasa.shared.utils.common import all_subclasses

    rasas = patches.ORIGINALS["Event.resolve_by_type"]
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert len(names) > 15
    for name in names:
        assert Event.resolve_by_type(name) is rasas(name), name
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such", default=ActionExecuted) is ActionExecuted
    with pytest.raises(ValueError, match="Unknown event name 'no_such'"):
        Event.resolve_by_type("no_such")
    # An event class defined later is found too.

    class Late(ActionExecuted):
        type_name = "late_test_event"

    assert Event.resolve_by_type("late_test_event") is Late is rasas("late_test_event")


def test_every_replaced_function_is_kept_in_one_registry() -> None:
    from rasa.core.processor import MessageProcessor
    from rasa.engine.runner.dask import DaskGraphRunner

    assert set(patches.ORIGINALS) == {
        "Event.resolve_by_type", "DaskGraphRunner.run", "EndpointConfig.session",
        "RemoteAction._validate_action_result", "RulePolicy._rule_key_to_state",
        "RulePolicy._get_possible_keys", "CountVectorsFeaturizer._create_features",
        "MessageProcessor.handle_message",
        "MessageProcessor.parse_message", "MessageProcessor._run_prediction_loop",
        # bot/patches/store_failures.py and slow_clients.py
        "FailSafeTrackerStore.save", "FailSafeTrackerStore.retrieve",
        "FailSafeTrackerStore.retrieve_full_tracker", "Request.receive_body",
        "HttpProtocol.check_timeouts"}
    assert DaskGraphRunner.run is speedups._run_graph
    assert patches.ORIGINALS["DaskGraphRunner.run"] is not speedups._run_graph
    assert MessageProcessor.handle_message is not patches.ORIGINALS[
        "MessageProcessor.handle_message"]


def test_no_patch_on_an_untested_rasa_version_or_when_switched_off(monkeypatch, caplog) -> None:
    import rasa

    monkeypatch.setitem(patches._state, "logged", False)
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    assert not patches.enabled()
    assert "tested on 3.6.21 only" in caplog.text
    monkeypatch.setattr(rasa, "__version__", patches.TESTED_RASA)
    assert patches.enabled()
    monkeypatch.setitem(patches._state, "logged", False)
    monkeypatch.setenv("CUSTOMS_RASA_PATCHES", "off")
    assert not patches.enabled()
    assert "without the project's patches" in caplog.text


def _count_featurizer(config: dict, texts: list[str], tmp_path, loaded: bool = False):
    """A trained CountVectorsFeaturizer (`loaded`: persisted and loaded back, as served)."""
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    storage, resource = LocalModelStorage(tmp_path), Resource(f"cvf{len(config)}{loaded}")
    context = ExecutionContext(None, "cvf")
    config = {**CountVectorsFeaturizer.get_default_config(), **config}
    featurizer = CountVectorsFeaturizer.create(config, storage, resource, context)
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    examples = [Message(data={"text": t, "intent": "x"}) for t in texts]
    tokenizer.process_training_data(TrainingData(examples))
    featurizer.train(TrainingData(examples))
    if loaded:
        featurizer = CountVectorsFeaturizer.load(config, storage, resource, context)
    return featurizer, tokenizer


COUNT_TRAINING = ["How do I pay duty on a used car?", "what's the VAT rate", "ΑΣ café naïve",
                  "register for a TPIN, please", "don't stop", "Zambia Revenue Authority"]
COUNT_TEXTS = [*COUNT_TRAINING, "", "   ", "and for cars??", "ΣΑΣ Β", "İSTANBUL duty",
               "x" * 300, "a\u00a0b c\x1cd", "pay pay pay the the duty", "unknown words only"]
COUNT_CONFIGS = [{}, {"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
                 # through scikit-learn: word pairs cross tokens, accents stripped per text
                 {"max_ngram": 2}, {"analyzer": "char", "max_ngram": 3},
                 {"strip_accents": "unicode"}, {"lowercase": False}]


@pytest.mark.parametrize("config", COUNT_CONFIGS)
@pytest.mark.parametrize("loaded", [False, True])
def test_count_features_equal_scikit_learns(config: dict, loaded: bool, tmp_path) -> None:
    from rasa.shared.nlu.training_data.message import Message

    featurizer, tokenizer = _count_featurizer(config, COUNT_TRAINING, tmp_path, loaded)
    original = patches.ORIGINALS["CountVectorsFeaturizer._create_features"]
    for _ in range(2):  # the second time from the kept token counts
        for text in COUNT_TEXTS:
            message = Message(data={"text": text})
            tokenizer.process([message])
            tokens = featurizer._get_processed_message_tokens_by_attribute(message, "text")
            got = speedups._count_features(featurizer, "text", [tokens])
            expected = original(featurizer, "text", [tokens])
            for mine, theirs in zip(got[0] + got[1], expected[0] + expected[1], strict=True):
                if theirs is None:
                    assert mine is None
                    continue
                assert (mine.format, mine.shape, mine.dtype) == (
                    theirs.format, theirs.shape, theirs.dtype)
                for part in ("row", "col", "data"):
                    assert getattr(mine, part).dtype == getattr(theirs, part).dtype
                    assert getattr(mine, part).tolist() == getattr(theirs, part).tolist()
    fast = {} == config or config.get("analyzer") == "char_wb" or config == {"lowercase": False}
    assert bool(featurizer.__dict__.get("_bot_token_counts")) == fast


def test_kept_token_counts_follow_a_grown_vocabulary(tmp_path) -> None:
    """Rasa's incremental training adds words to the vocabulary in place: the counts kept for
    a token are made again when the vocabulary is another or has grown."""
    featurizer, _ = _count_featurizer({}, ["pay duty"], tmp_path)
    vectorizer = featurizer.vectorizers["text"]
    before = speedups._count_features(featurizer, "text", [["pay", "excise"]])[1][0]
    assert before.col.tolist() == [vectorizer.vocabulary_["pay"]]
    vectorizer.vocabulary_["excise"] = len(vectorizer.vocabulary_)  # as Rasa's merge does
    after = speedups._count_features(featurizer, "text", [["pay", "excise"]])[1][0]
    assert sorted(after.col.tolist()) == sorted([vectorizer.vocabulary_["pay"],
                                                 vectorizer.vocabulary_["excise"]])
    vectorizer.vocabulary_ = {"excise": 0}
    again = speedups._count_features(featurizer, "text", [["pay", "excise"]])[1][0]
    assert again.col.tolist() == [0] and again.shape == (1, 1)


def test_kept_token_counts_are_bounded(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(speedups, "TOKEN_COUNTS", 3)
    featurizer, _ = _count_featurizer({}, ["pay duty"], tmp_path)
    for word in ["a", "b", "c", "d", "e"]:
        speedups._count_features(featurizer, "text", [[word]])
    assert 1 <= len(featurizer._bot_token_counts["text"][2]) <= 3
