"""Live retraining's parts: the loopback model server Rasa pulls from (checked with Rasa's own
pulling code), and the watcher that debounces saves, never builds twice at once and keeps the
current model when a build fails. The build child is a small script here; the real one runs in
tests/conversation/test_live_retrain.py."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.ops.launcher import Stack
from bot.ops.model_server import ModelServer
from bot.ops.retrain import Retrainer
from bot.settings.endpoints import build_endpoints
from bot.settings.retrain import RetrainSettings, retrain_settings


@pytest.fixture()
def models(tmp_path) -> tuple[Path, Path]:
    first, second = tmp_path / "aaaa1111.tar.gz", tmp_path / "bbbb2222.tar.gz"
    first.write_bytes(b"first model")
    second.write_bytes(b"second model")
    return first, second


@pytest.fixture()
def server(models):
    switched: list[str] = []
    srv = ModelServer(models[0], on_switch=switched.append)
    srv.switched = switched
    srv.start()
    yield srv
    srv.stop()


def get(url: str, etag: str | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_model_server_is_loopback_only_and_answers_by_etag(server, models):
    assert server.httpd.server_address[0] == "127.0.0.1"
    status, headers, body = get(server.url)
    assert (status, headers["ETag"], headers["filename"], body) == (
        200, '"aaaa1111"', "aaaa1111.tar.gz", b"first model")
    assert get(server.url, '"aaaa1111"')[0] == 304
    assert get(server.url.replace("/model", "/other"))[0] == 404
    server.publish(models[1])
    status, headers, body = get(server.url, '"aaaa1111"')
    assert (status, headers["ETag"], body) == (200, '"bbbb2222"', b"second model")
    assert server.switched == ['"aaaa1111"']  # the new model is not running until Rasa says so
    assert get(server.url, '"bbbb2222"')[0] == 304
    assert server.switched == ['"aaaa1111"', '"bbbb2222"']
    assert server.wait_running(models[1], timeout=0)


def test_rasas_own_model_pulling_downloads_once_then_keeps_it(server, models, tmp_path):
    """rasa.core.agent's pull: the file and fingerprint first, nothing while it is current."""
    from rasa.core.agent import _pull_model_and_fingerprint
    from rasa.utils.endpoints import EndpointConfig

    endpoint = EndpointConfig.from_dict(server.endpoint(pull_seconds=2))
    assert endpoint.kwargs["wait_time_between_pulls"] == 2
    # A new Agent's fingerprint is a random uuid until a model is pulled.
    fingerprint = asyncio.run(_pull_model_and_fingerprint(endpoint, "0f3e9c2a", str(tmp_path)))
    assert fingerprint == '"aaaa1111"'
    assert (tmp_path / "aaaa1111.tar.gz").read_bytes() == b"first model"
    assert asyncio.run(_pull_model_and_fingerprint(endpoint, fingerprint, str(tmp_path))) is None
    server.publish(models[1])
    assert asyncio.run(_pull_model_and_fingerprint(
        endpoint, fingerprint, str(tmp_path))) == '"bbbb2222"'


FAKE_BUILD = textwrap.dedent("""
    import json, os, sys, time
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    calls = os.environ["FAKE_CALLS"]
    with open(calls, "a") as out:
        out.write(json.dumps({"start": time.time()}) + "\\n")
    time.sleep(float(os.environ.get("FAKE_SECONDS", "0.2")))
    print(os.environ.get("FAKE_OUTPUT", "53 entries"))
    code = int(os.environ.get("FAKE_EXIT", "0"))
    if code == 0:
        open(args["--result"], "w").write(os.environ["FAKE_MODEL"])
    with open(calls, "a") as out:
        out.write(json.dumps({"end": time.time()}) + "\\n")
    sys.exit(code)
""")


def make_retrainer(server, models, tmp_path, built_from=None) -> Retrainer:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "duties.yml").write_text("entries: []\n")
    script = tmp_path / "fake_build.py"
    script.write_text(FAKE_BUILD)
    env = {"KNOWLEDGE_DIR": str(knowledge), "FAKE_CALLS": str(tmp_path / "calls"),
           "FAKE_MODEL": str(models[1])}
    said: list[str] = []
    r = Retrainer(env, server, tmp_path / "log" / "retrain.log",
                  RetrainSettings(debounce_seconds=0.6), notify=said.append,
                  command=[sys.executable, str(script)], poll_seconds=0.1)
    r.said, r.knowledge = said, knowledge
    r.start(built_from=built_from)
    return r


@pytest.fixture()
def retrainer(server, models, tmp_path):
    r = make_retrainer(server, models, tmp_path)
    yield r
    r.stop()


def calls(r: Retrainer) -> list[dict]:
    path = Path(r.env["FAKE_CALLS"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(condition, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def save(r: Retrainer, text: str) -> None:
    (r.knowledge / "duties.yml").write_text(text)


def test_a_burst_of_saves_builds_once_and_publishes(retrainer, server, models):
    for i in range(5):
        save(retrainer, f"entries: []  # save {i}\n")
        time.sleep(0.2)
    wait_for(lambda: len(calls(retrainer)) == 2)  # one build: its start and its end
    time.sleep(1.5)
    assert len(calls(retrainer)) == 2
    assert server.model == models[1]
    assert any("New model ready" in line for line in retrainer.said)


def test_saves_during_a_build_start_the_next_one_after_it(retrainer, server):
    retrainer.env["FAKE_SECONDS"] = "1.5"
    save(retrainer, "entries: []  # first\n")
    wait_for(lambda: len(calls(retrainer)) == 1)  # the first build is running
    save(retrainer, "entries: []  # second, while it trains\n")
    wait_for(lambda: len(calls(retrainer)) == 4)
    first_start, first_end, second_start, _ = calls(retrainer)
    assert second_start["start"] >= first_end["end"]  # never two at once
    assert retrainer.builds == 2


def test_a_failed_build_keeps_the_current_model_and_the_log_says_why(retrainer, server,
                                                                     models):
    retrainer.env.update(FAKE_EXIT="1", FAKE_OUTPUT=(
        "knowledge/duties.yml:3: error: field 'answer' is empty; write it as a text"))
    save(retrainer, "entries: [oops\n")
    wait_for(lambda: any("Not trained" in line for line in retrainer.said))
    assert server.model == models[0]
    message = next(line for line in retrainer.said if "Not trained" in line)
    assert "the knowledge base has errors" in message
    assert "knowledge/duties.yml:3: error: field 'answer' is empty" in message
    log = retrainer.log.read_text()
    assert "duties.yml:3: error" in log and "keeps answering with the current model" in log


def test_a_failed_training_keeps_the_current_model_and_points_to_rasas_output(
        retrainer, server, models):
    retrainer.env.update(FAKE_EXIT="2", FAKE_OUTPUT="rasa train failed (exit 1)")
    save(retrainer, "entries: []  # new examples\n")
    wait_for(lambda: any("Not trained" in line for line in retrainer.said))
    assert server.model == models[0]
    message = next(line for line in retrainer.said if "Not trained" in line)
    assert "the training failed" in message and "rasa train failed (exit 1)" in message
    assert "retrain-rasa.log" in message


def test_the_watcher_survives_a_build_that_cannot_start(retrainer, server, models):
    retrainer.command = ["/nonexistent/python"]
    save(retrainer, "entries: []  # 1\n")
    wait_for(lambda: any("could not run" in line for line in retrainer.said))
    retrainer.command = [sys.executable, str(Path(retrainer.env["FAKE_CALLS"]).parent
                                             / "fake_build.py")]
    save(retrainer, "entries: []  # 2\n")
    wait_for(lambda: server.model == models[1])


def test_saves_made_while_the_starting_model_trained_are_not_missed(server, models, tmp_path):
    """`make run` stamps the knowledge before its own training; a save since then builds."""
    r = make_retrainer(server, models, tmp_path, built_from=())
    try:
        wait_for(lambda: server.model == models[1])
    finally:
        r.stop()
    assert r.builds == 1


def test_live_retrain_setting_turns_it_off_and_adds_the_model_endpoint(models, tmp_path):
    assert retrain_settings({}).enabled is True
    assert retrain_settings({"LIVE_RETRAIN": "off"}).enabled is False
    stack = Stack(model=models[0], env={"LIVE_RETRAIN": "off"}, log_dir=tmp_path,
                  run_dir=tmp_path, live_retrain=True)
    stack.start_live_retrain()
    assert stack.retrainer is None
    endpoint = {"url": "http://127.0.0.1:1/model", "wait_time_between_pulls": 2}
    assert build_endpoints({"ACTION_PORT": "5055"}, models=endpoint)["models"] == endpoint
    assert "models" not in build_endpoints({"ACTION_PORT": "5055"})
