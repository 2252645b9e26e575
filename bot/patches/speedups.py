"""Measured hot spots of Rasa 3.6, fixed without changing behaviour.

1. Rasa checks every action server answer with `jsonschema.validate(result, spec)`. With the
   jsonschema Rasa 3.6 installs (4.17), `validate()` first re-checks the schema itself against
   the 2020-12 meta-schema: about 25 ms of CPU per custom action call, over half of the Rasa
   server's time per message under load (py-spy, `make bench`). Validating with a validator
   built once for the same schema gives the same verdicts and the same `ValidationError`s in
   about 0.4 ms.
2. RulePolicy keeps its rules as JSON strings and, at every prediction, parses and checks every
   rule against the latest state, although nearly all of them ask for another previous action
   or another intent: 10-14 % of the server's time with one rule per knowledge entry. Each
   string is now parsed once (the parsed states are only read, never modified, by the policy),
   and the rules are indexed by the action and intent their last state requires, so only rules
   that can match are checked, by Rasa's own `_is_rule_applicable`: the same rules are found.
3. Rasa opens a new HTTP client session, hence a new TCP connection and a name lookup, for every
   custom action call: 7 % of the server's time. The action server is called through one
   kept-alive session per event loop instead. Idle connections are dropped after 2 s, before
   the action server's own 5 s keep-alive ends, so a request never lands on a connection the
   server is closing; a restarted action server gets new connections.
4. Every NLU parse and every policy prediction runs Rasa's model graph through dask: the
   minimal schema for the targets is recomputed, a dask graph built, ordered and scheduled,
   for a dozen nodes run one after another in the same thread (6 % of the samples in dask
   itself; messages/s at 8 conversations rose from 84 to 111 without it). The graph runner now
   computes each target's plan once and calls the same nodes with the same inputs in
   dependency order, with Rasa's own input checks and errors.
5. Reading a conversation back turns each stored event into an object through
   `Event.resolve_by_type`, which walks the whole tree of Event subclasses (and asks `inspect`
   whether each is abstract) for every event: 4 % of the server's time. The walk's result is
   kept by type name, and walked again only for a name it does not know.
6. Rasa's CountVectorsFeaturizer calls scikit-learn's `transform` twice per message and
   featurizer (each token as a document, then the tokens joined), and converts each CSR result
   to COO: four scikit-learn calls and eight scipy matrices a text, for a few dozen counts
   (11 % of the in-process turn with the follow-up readings, py-spy on
   scripts/bench_understanding_cost.py). The counts are now made with the vectorizer's own
   analyzer and vocabulary and put straight into the two COO matrices, in the same order and
   with the same dtypes. The sentence row is the sum of the token rows: the analyzers this is
   done for (`char_wb`, and `word` with single words and a pattern that matches no space)
   read whitespace-joined tokens as the tokens one after another; any other configuration
   goes through scikit-learn as before.

Installed through `bot.patches.install()`, with the other patches.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    spec = RemoteAction.action_response_format_spec()
    cls = validator_for(spec)
    cls.check_schema(spec)  # once, as jsonschema.validate() would on every call
    return cls(spec)


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Rasa's `RemoteAction._validate_action_result` with the validator built once."""
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

    try:
        _action_result_validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise e


@lru_cache(maxsize=1 << 16)
def _rule_key_to_state(rule_key: str) -> list[dict[str, Any]]:
    """Rasa's `RulePolicy._rule_key_to_state`, parsed once per rule (callers only read it)."""
    return json.loads(rule_key)


class _KeptAliveSession:
    """Used as `async with endpoint.session() as s`: yields this loop's shared session and
    leaves it open for the next call."""

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint

    async def __aenter__(self) -> Any:
        import aiohttp
        from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

        loop = asyncio.get_running_loop()
        sessions = self.endpoint.__dict__.setdefault("_kept_alive", weakref.WeakKeyDictionary())
        session = sessions.get(loop)
        if session is None or session.closed:
            auth = (aiohttp.BasicAuth(self.endpoint.basic_auth["username"],
                                      self.endpoint.basic_auth["password"])
                    if self.endpoint.basic_auth else None)
            session = aiohttp.ClientSession(
                headers=self.endpoint.headers, auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=2, ttl_dns_cache=60))
            sessions[loop] = session
        return session

    async def __aexit__(self, *exc: object) -> None:
        return None


def _kept_alive_session(self: Any) -> _KeptAliveSession:
    return _KeptAliveSession(self)


_ANY = "\0any"  # index slot for "this rule does not ask for a particular value here"


def _rule_index(lookup: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """Rule keys grouped by the previous action and intent their last state requires."""
    from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
    from rasa.shared.nlu.constants import ACTION_NAME, INTENT

    def required(sub_state: dict[str, Any], key: str) -> str:
        value = sub_state.get(key)
        return value if isinstance(value, str) and value and value != SHOULD_NOT_BE_SET else _ANY

    index: dict[tuple[str, str], list[str]] = {}
    for key in lookup:
        states = _rule_key_to_state(key)
        last = states[-1] if states else {}
        if not last.get(PREVIOUS_ACTION):  # conversation-start rules: always checked
            slot = (_ANY, _ANY)
        else:
            slot = (required(last[PREVIOUS_ACTION], ACTION_NAME),
                    required(last.get(USER) or {}, INTENT))
        index.setdefault(slot, []).append(key)
    return index


_indexes: dict[int, tuple[dict[str, Any], dict[tuple[str, str], list[str]]]] = {}


def _get_possible_keys(self: Any, lookup: dict[str, Any], states: list[dict[str, Any]]
                       ) -> set[str]:
    """Rasa's `RulePolicy._get_possible_keys`, starting from the rules that can match the
    latest state instead of all of them."""
    from rasa.shared.core.constants import PREVIOUS_ACTION, USER
    from rasa.shared.nlu.constants import ACTION_NAME, INTENT

    if not states:
        return set(lookup.keys())
    cached = _indexes.get(id(lookup))
    if cached is None or cached[0] is not lookup:
        if len(_indexes) > 64:  # models replaced many times: forget the old ones
            _indexes.clear()
        cached = _indexes[id(lookup)] = (lookup, _rule_index(lookup))
    index = cached[1]
    latest = states[-1]
    action = (latest.get(PREVIOUS_ACTION) or {}).get(ACTION_NAME)
    intent = (latest.get(USER) or {}).get(INTENT)
    candidates = {key for slot in ((action, intent), (action, _ANY), (_ANY, intent), (_ANY, _ANY))
                  for key in index.get(slot, ())}
    possible = {key for key in candidates if self._is_rule_applicable(key, 0, latest)}
    for i, state in enumerate(reversed(states[:-1]), start=1):
        possible = {key for key in possible if self._is_rule_applicable(key, i, state)}
    return possible


def _plan(schema: Any, targets: tuple[str, ...]) -> tuple[list[tuple[str, tuple[str, ...]]],
                                                          frozenset[str]]:
    """The nodes the targets need, each after the nodes it needs, with their inputs."""
    minimal = schema.minimal_graph_schema(list(targets))
    order: list[tuple[str, tuple[str, ...]]] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in minimal.nodes:
            return
        seen.add(name)
        needs = tuple(minimal.nodes[name].needs.values())
        for need in needs:
            visit(need)
        order.append((name, needs))

    for name in minimal.nodes:
        visit(name)
    return order, frozenset(minimal.nodes)


def _run_graph(self: Any, inputs: dict[str, Any] | None = None,
               targets: list[str] | None = None) -> dict[str, Any]:
    """`DaskGraphRunner.run` without dask: same nodes, same inputs, same results and errors."""
    from rasa.engine.exceptions import GraphRunError

    run_targets = tuple(targets if targets else self._graph_schema.target_names)
    plans = self.__dict__.setdefault("_bot_plans", {})
    if run_targets not in plans:
        plans[run_targets] = _plan(self._graph_schema, run_targets)
    order, names = plans[run_targets]
    values: dict[str, Any] = {}
    for input_name, input_value in (inputs or {}).items():
        if isinstance(input_value, str) and (input_value in names or input_value in values):
            raise GraphRunError(
                f"Input value '{input_value}' clashes with a node name. Make sure "
                f"that none of the input names passed to the `run` method are the "
                f"same as node names in the graph schema.")
        values[input_name] = (input_name, input_value)
    try:
        for name, needs in order:
            if name not in values:  # an input of the same name replaces the node, as in dask
                values[name] = self._instantiated_nodes[name](
                    *(values.get(need, need) for need in needs))
        return dict(values[target] for target in run_targets)
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


_event_types: dict[str, Any] = {}


def _resolve_event_type(type_name: str, default: Any = None) -> Any:
    """Rasa's `Event.resolve_by_type` with the subclass walk remembered."""
    cls = _event_types.get(type_name)
    if cls is None:
        from rasa.shared.core.events import Event
        from rasa.shared.utils.common import all_subclasses

        _event_types.clear()
        for subclass in all_subclasses(Event):
            _event_types.setdefault(subclass.type_name, subclass)  # the first one wins, as in Rasa
        cls = _event_types.get(type_name)
    if cls is not None:
        return cls
    if type_name == "topic":
        return None  # as Rasa: old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


# Token patterns of the `word` analyzer whose matches never contain whitespace (scikit-learn's
# default and Rasa's): joined tokens are then read as the tokens one by one.
_WORD_PATTERNS = frozenset({r"(?u)\b\w\w+\b", r"(?u)\b\w+\b"})


def _sums_per_token(vectorizer: Any) -> bool:
    """Whether `vectorizer` counts " ".join(tokens) as the sum of the tokens' counts."""
    if (vectorizer.preprocessor is not None or vectorizer.strip_accents is not None
            or vectorizer.binary or getattr(vectorizer, "input", "content") != "content"):
        return False
    if vectorizer.analyzer == "char_wb":
        return True
    return (vectorizer.analyzer == "word" and tuple(vectorizer.ngram_range) == (1, 1)
            and vectorizer.tokenizer is None and vectorizer.token_pattern in _WORD_PATTERNS)


# Tokens whose counts are kept per featurizer and vocabulary (a word's analysis: 13 us a token,
# char 1-4-grams); 20,000 distinct tokens are about 10 MB, far beyond the training examples'.
TOKEN_COUNTS = 20_000


def _token_counts(features: list[str], vocabulary: dict[str, int]) -> tuple[tuple[int, int], ...]:
    """(column, count) of a token's known features, by column."""
    found: dict[int, int] = {}
    for feature in features:
        index = vocabulary.get(feature)
        if index is not None:
            found[index] = found.get(index, 0) + 1
    return tuple(sorted(found.items()))


def _count_features(self: Any, attribute: str, all_tokens: list[list[str]]) -> tuple[
        list[Any], list[Any]]:
    """Rasa's `CountVectorsFeaturizer._create_features` without scikit-learn's `transform`:
    the same COO matrices (rows, columns in order, counts, dtypes, shapes)."""
    vectorizer = self.vectorizers.get(attribute) if self.vectorizers else None
    if (not vectorizer or not _sums_per_token(vectorizer)
            or not hasattr(vectorizer, "vocabulary_")):
        # A loaded vectorizer has its `vocabulary_` set by its first `transform`.
        from bot.patches import ORIGINALS

        return ORIGINALS["CountVectorsFeaturizer._create_features"](self, attribute, all_tokens)
    import numpy as np
    import scipy.sparse
    from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES

    vocabulary = vectorizer.vocabulary_
    analyze = vectorizer.build_analyzer()
    kept = self.__dict__.setdefault("_bot_token_counts", {})
    if attribute not in kept or kept[attribute][0] is not vocabulary or kept[attribute][1] != len(
            vocabulary):
        kept[attribute] = (vocabulary, len(vocabulary), {})  # a vocabulary only grows (Rasa)
    known = kept[attribute][2]
    width = len(vocabulary)
    sequence_features: list[Any] = []
    sentence_features: list[Any] = []
    for tokens in all_tokens:
        if not tokens:
            sequence_features.append(None)
            sentence_features.append(None)
            continue
        rows: list[int] = []
        columns: list[int] = []
        counts: list[int] = []
        total: dict[int, int] = {}
        for row, token in enumerate(tokens):
            found = known.get(token)
            if found is None:
                if len(known) >= TOKEN_COUNTS:
                    known.clear()
                found = known[token] = _token_counts(analyze(token), vocabulary)
            for index, count in found:
                rows.append(row)
                columns.append(index)
                counts.append(count)
                total[index] = total.get(index, 0) + count
        sequence_features.append(scipy.sparse.coo_matrix(
            (np.array(counts, dtype=vectorizer.dtype),
             (np.array(rows, dtype=np.int32), np.array(columns, dtype=np.int32))),
            shape=(len(tokens), width)))
        if attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            order = sorted(total)
            sentence_features.append(scipy.sparse.coo_matrix(
                (np.array([total[i] for i in order], dtype=vectorizer.dtype),
                 (np.zeros(len(order), dtype=np.int32), np.array(order, dtype=np.int32))),
                shape=(1, width)))
        else:
            sentence_features.append(None)
    return sequence_features, sentence_features


def install() -> None:
    """Replace the six functions (bot.patches.install() calls this once)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )
    from rasa.shared.core.events import Event
    from rasa.utils.endpoints import EndpointConfig

    from bot.patches import replace

    if replace(Event, "resolve_by_type", _resolve_event_type, wrap=staticmethod):
        logger.debug("Event types resolved from a table.")
    if replace(DaskGraphRunner, "run", _run_graph):
        logger.debug("Model graphs run in dependency order without dask's scheduler.")
    if replace(EndpointConfig, "session", _kept_alive_session):
        logger.debug("Endpoint calls share one kept-alive HTTP session per event loop.")
    if replace(RemoteAction, "_validate_action_result", _validate_action_result):
        logger.debug("Action server answers validated with a cached JSON schema validator.")
    if replace(RulePolicy, "_rule_key_to_state", _rule_key_to_state, wrap=staticmethod):
        replace(RulePolicy, "_get_possible_keys", _get_possible_keys)
        logger.debug("RulePolicy parses each rule once and checks only rules that can match.")
    if replace(CountVectorsFeaturizer, "_create_features", _count_features):
        logger.debug("Count features made without scikit-learn's transform per message.")
