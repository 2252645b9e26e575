"""Metrics and readiness of a running assistant, as an operator's Prometheus and probes see them.

One stack on loopback, set up as in production: two Rasa worker processes (SANIC_WORKERS=2,
so /metrics must add up both), conversations and application tables in PostgreSQL behind a TCP
proxy the test can cut, a throwaway Redis lock store, METRICS_TOKEN set. A few conversations
go through the REST channel; each counter and the turn histogram must move by exactly what
was sent. Then each dependency is broken and mended: `/ready` says 503 with the reason while
it is down and 200 once it is back, and liveness stays 200 throughout.
"""

from __future__ import annotations

import http.client
import json
import shutil
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter

import pytest

from tests.conftest import ROOT, reachable, scratch_database
from tests.ops.test_faults import RedisServer, TcpProxy

pytestmark = [pytest.mark.conversation, pytest.mark.postgres]

TOKEN = "metrics-" + uuid.uuid4().hex
RATE = 5  # RATE_LIMIT_PER_MINUTE of this stack


def get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=15) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def post(url: str, body: bytes, content_type: str = "application/json") -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def samples(text: str) -> dict[str, float]:
    return {key: float(value) for key, value in
            (line.rsplit(" ", 1) for line in text.splitlines()
             if line and not line.startswith("#"))}


class Watched:
    def __init__(self, stack) -> None:
        self.stack = stack
        self.rest = f"{stack.rasa_url}/webhooks/rest/webhook"

    def scrape(self) -> tuple[dict[str, float], dict[str, float]]:
        """(Rasa server, action server) samples."""
        status, rasa = get(f"{self.stack.rasa_url}/metrics", TOKEN)
        assert status == 200, rasa
        status, actions = get(f"{self.stack.action_url}/metrics", TOKEN)
        assert status == 200, actions
        return samples(rasa), samples(actions)

    def send(self, sender: str, text: str) -> list[dict]:
        from bot.ops.launcher import rest_send

        return rest_send(self.rest, sender, text)

    def ready(self, url: str) -> tuple[int, dict]:
        status, body = get(f"{url}/ready")
        return status, json.loads(body)

    def wait_ready(self, url: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.ready(url)[0] != 200:
            assert time.monotonic() < deadline, f"{url} not ready again: {self.ready(url)}"
            time.sleep(0.3)


@pytest.fixture(scope="module")
def watched(trained_model, tmp_path_factory):
    from bot.ops import launcher

    if not reachable("127.0.0.1", 5432) or not shutil.which("redis-server"):
        pytest.skip("needs PostgreSQL on 127.0.0.1:5432 and redis-server")
    tmp = tmp_path_factory.mktemp("observed")
    redis = RedisServer()
    redis.start()
    proxy = TcpProxy(5432)
    try:
        with scratch_database("observed") as db:
            url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{db}"
            overrides = {"TRACKER_DB_URL": url, "CUSTOMS_DB_URL": url,
                         "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
                         "SANIC_WORKERS": "2", "METRICS_TOKEN": TOKEN,
                         "RATE_LIMIT_PER_MINUTE": str(RATE), "KNOWLEDGE_DIR": str(
                             ROOT / "knowledge")}
            with launcher.scratch_stack(trained_model, tmp, overrides=overrides) as stack:
                watched = Watched(stack)
                watched.redis, watched.proxy, watched.tmp = redis, proxy, tmp
                yield watched
    finally:
        proxy.cut()
        redis.stop()


def expected_outcome(replies: list[dict]) -> str:
    """For a message whose wording the model decides: what its replies show."""
    from bot.content.reader import read_knowledge

    kb, _ = read_knowledge(ROOT / "knowledge")
    first = replies[0].get("text", "") if replies else ""
    if first == kb.message("clarify"):
        return "clarified"
    if first == kb.message("out_of_scope"):
        return "declined"
    return "answered"


def test_counters_and_the_histogram_move_by_what_was_sent(watched: Watched) -> None:
    rasa_before, actions_before = watched.scrape()
    sent: list[tuple[str, str, str]] = []  # (sender, text, outcome)

    def say(sender: str, text: str, outcome: str | None = None) -> list[dict]:
        replies = watched.send(sender, text)
        sent.append((sender, text, outcome or expected_outcome(replies)))
        return replies

    a, b, c, d = (f"obs-{name}-{uuid.uuid4().hex[:6]}" for name in "abcd")
    say(a, "/greet", "other")
    replies = say(a, "/kb_import_vat_rate", "answered")
    assert any("16%" in r.get("text", "") for r in replies), replies
    say(a, "/feedback_helpful", "other")
    say(b, "/out_of_scope", "declined")
    say(b, "/kb_import_vat_rate", "answered")
    say(b, "/feedback_not_helpful", "other")
    say(b, "what is the weather in lusaka")  # the model decides: clarified or declined
    say(c, "/request_human", "handed_over")
    say(c, "Mary Banda", "other")
    say(c, "Where is my parcel from Durban?", "other")
    replies = say(c, "0977123456", "other")
    assert any("HT-" in r.get("text", "") for r in replies), replies
    say(d, "status of LSK/2026/C/10452 tpin 1002003004", "answered")
    say(d, "status of LSK/2026/C/10453 tpin 1002003004", "answered")

    # Refused at the door: never a turn, counted by reason.
    assert post(watched.rest, b"not json") == 400
    assert post(watched.rest, b'{"sender": "x", "message": "hi"}', "text/plain") == 415
    limited = f"obs-rate-{uuid.uuid4().hex[:6]}"
    # One connection, so every message reaches the same worker (limits are per process).
    conn = http.client.HTTPConnection("127.0.0.1", int(watched.stack.env["RASA_PORT"]),
                                      timeout=60)
    statuses = []
    for _ in range(RATE + 1):
        conn.request("POST", "/webhooks/rest/webhook",
                     json.dumps({"sender": limited, "message": "/greet"}),
                     {"Content-Type": "application/json"})
        answer = conn.getresponse()
        answer.read()
        statuses.append(answer.status)
    conn.close()
    assert statuses == [200] * RATE + [429]
    sent += [(limited, "/greet", "other")] * RATE

    rasa, actions = watched.scrape()

    def moved(after: dict[str, float], before: dict[str, float], key: str) -> float:
        return after.get(key, 0) - before.get(key, 0)

    outcomes = Counter(outcome for _, _, outcome in sent)
    for outcome in ("answered", "clarified", "declined", "handed_over", "other", "failed"):
        key = f'customs_message_outcomes_total{{outcome="{outcome}"}}'
        assert moved(rasa, rasa_before, key) == outcomes[outcome], (outcome, sent)
    assert moved(rasa, rasa_before, 'customs_messages_total{channel="rest"}') == len(sent)
    count = moved(rasa, rasa_before, 'customs_turn_seconds_count{channel="rest"}')
    assert count == len(sent)
    assert moved(rasa, rasa_before, 'customs_turn_seconds_bucket{channel="rest",le="+Inf"}') \
        == len(sent)
    assert 0 < moved(rasa, rasa_before, 'customs_turn_seconds_sum{channel="rest"}') < 60 * count
    refused = 'customs_refused_requests_total{{channel="rest",reason="{}"}}'
    assert moved(rasa, rasa_before, refused.format("invalid_json")) == 1
    assert moved(rasa, rasa_before, refused.format("unsupported_media_type")) == 1
    assert moved(rasa, rasa_before, refused.format("rate_limited")) == 1

    assert moved(actions, actions_before, 'customs_votes_total{vote="helpful"}') == 1
    assert moved(actions, actions_before, 'customs_votes_total{vote="not_helpful"}') == 1
    assert moved(actions, actions_before, 'customs_tickets_total{outcome="created"}') == 1
    lookups = 'customs_declaration_lookups_total{{outcome="{}"}}'
    assert moved(actions, actions_before, lookups.format("found")) == 1
    assert moved(actions, actions_before, lookups.format("not_found")) == 1
    answers = 'customs_action_calls_total{action="action_answer_knowledge"}'
    assert moved(actions, actions_before, answers) == 2 + (outcomes["answered"] - 4)
    assert moved(actions, actions_before, 'customs_action_errors_total{action='
                 '"action_answer_knowledge"}') == 0
    # Both Rasa workers and their parent wrote values; /metrics added them up.
    assert len(list((watched.tmp / "run" / "metrics" / "rasa").glob("counter_*.db"))) >= 2


def test_metrics_refuse_without_the_token(watched: Watched) -> None:
    for url in (watched.stack.rasa_url, watched.stack.action_url):
        for token in (None, "wrong", watched.stack.env["ACTION_SERVER_TOKEN"]):
            status, body = get(f"{url}/metrics", token)
            assert status == 401 and "customs_" not in body, (url, token)


def test_ready_when_everything_answers(watched: Watched) -> None:
    # Each check has 2 s; on a machine busy with other work one may need a second try.
    watched.wait_ready(watched.stack.rasa_url)
    status, body = watched.ready(watched.stack.rasa_url)
    assert status == 200, body
    assert body == {"ready": True, "checks": {"model": "loaded", "conversation_store": "ok",
                                              "lock_store": "ok", "actions": "ok"}}
    assert watched.ready(watched.stack.action_url)[0] == 200
    assert get(f"{watched.stack.web_url}ready")[0] == 200


def test_database_down_is_not_ready(watched: Watched) -> None:
    watched.proxy.cut()
    try:
        status, body = watched.ready(watched.stack.rasa_url)
        assert status == 503 and body["reason"] == "conversation_store: unreachable", body
        status, body = watched.ready(watched.stack.action_url)
        assert status == 503 and body["reason"] == "database: unreachable", body
        assert get(f"{watched.stack.rasa_url}/")[0] == 200  # alive all the same
        assert get(f"{watched.stack.action_url}/health")[0] == 200
    finally:
        watched.proxy.mend()
    watched.wait_ready(watched.stack.rasa_url)
    watched.wait_ready(watched.stack.action_url)


def test_redis_down_is_not_ready(watched: Watched) -> None:
    watched.redis.stop()
    try:
        status, body = watched.ready(watched.stack.rasa_url)
        assert status == 503 and body["reason"] == "lock_store: unreachable", body
    finally:
        watched.redis.start()
    watched.wait_ready(watched.stack.rasa_url)


def test_action_server_down_is_not_ready_and_its_turns_count_as_failed(watched: Watched) -> None:
    before, _ = watched.scrape()
    watched.stack.stop_one("actions")
    try:
        status, body = watched.ready(watched.stack.rasa_url)
        assert status == 503 and body["reason"] == "actions: unreachable", body
        replies = watched.send(f"obs-down-{uuid.uuid4().hex[:6]}", "/kb_import_vat_rate")
        assert "technical problem" in replies[0]["text"], replies
        status, text = get(f"{watched.stack.rasa_url}/metrics", TOKEN)
        after = samples(text)
        for key in ('customs_message_outcomes_total{outcome="failed"}',
                    'customs_turn_failures_total{reason="failed_action"}',
                    'customs_messages_total{channel="rest"}'):
            assert after[key] - before[key] == 1, key
    finally:
        watched.stack.start_actions()
        watched.stack.wait_ready(timeout=60)
    assert watched.ready(watched.stack.rasa_url)[0] == 200
