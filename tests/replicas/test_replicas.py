"""Two Rasa servers and one action server sharing the machine's PostgreSQL tracker store and
Redis lock store: 50 concurrent conversations alternate between the servers, one server is
killed (SIGKILL) mid-run and restarted, and the events read back from PostgreSQL show every
message once, in order, each answered.

Messages carry their position in `metadata.seq`, which Rasa stores in the user event, and their
own `message_id`, as the web widget sends it. A message whose request died with the killed
server is sent again, with the same id, to the other server, as a user (or a proxy) would; if
the dead server had already stored it, the other one answers it from the store
(bot/patches/replay.py), so every message is stored exactly once.

A conversation whose turn was running in the killed server stays locked until that ticket
expires (TICKET_LOCK_LIFETIME); the messages waiting behind it keep their own tickets
(bot/stores/lock_store.py) and are answered then, within the reply timeout: no apology is allowed.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ROOT, free_port, reachable, scratch_database

pytestmark = pytest.mark.replicas

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 14
CONVERSATIONS = 50
# seq -> (text, server). The reference is given before the kill, the TPIN to the restarted
# server: its answer needs the conversation state written by the other one.
SCRIPT = [
    ("hello", "a"),
    ("what is the vat rate on imports", "b"),
    ("how do I pay customs duty", "a"),
    ("what is the vat rate on imports", "b"),
    ("where is my declaration", "a"),
    ("c20871 chr 2026", "b"),            # killed server: in flight when it dies
    ("1002003004", "b"),                 # after the restart
    ("what is the vat rate on imports", "a"),
]
PHASES = [range(0, 4), range(4, 6), range(6, 8)]
APOLOGY = "technical problem"  # bot/channels/rest.py's reply when a turn could not be completed


@pytest.fixture(scope="module")
def database():
    if not reachable(PG_HOST, PG_PORT):
        pytest.skip(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}")
    if not reachable(REDIS_HOST, REDIS_PORT):
        pytest.skip(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT}")
    with scratch_database("replica_test", PG_HOST, PG_PORT) as name:
        yield f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}"


@pytest.fixture(scope="module")
def replicas(trained_model, database, tmp_path_factory):
    """Stack "a" (action server + Rasa) and stack "b" (Rasa only, using a's action server)."""
    from bot.ops import launcher

    tmp = tmp_path_factory.mktemp("replicas")
    action_port = str(free_port())
    common = {
        "TRACKER_DB_URL": database,
        "REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        "ACTION_PORT": action_port,
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        # Both Rasa servers call a's action server with the same secret (bot/ops/action_server).
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
        "CUSTOMS_DB_URL": f"sqlite:///{tmp / 'customs.db'}",
        "KNOWLEDGE_DIR": str(ROOT / "knowledge"),
        "VAR_DIR": str(tmp / "var"),
        # A killed server's lock tickets expire after this many seconds (Rasa's default: 60).
        "TICKET_LOCK_LIFETIME": "10",
        "REPLY_TIMEOUT_SECONDS": "15",
        **launcher.ONE_ADDRESS,  # 50 conversations from one address
    }
    os.environ.pop("RASA_API_TOKEN", None)
    stacks = {}
    for name in ("a", "b"):
        env = launcher.environment({**common, "RASA_PORT": str(free_port()),
                                    "WEB_PORT": str(free_port())})
        stacks[name] = launcher.Stack(model=trained_model, env=env,
                                      log_dir=tmp / f"log-{name}", run_dir=tmp / f"run-{name}")
    subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=ROOT,
                   env=stacks["a"].env, check=True, stdout=subprocess.DEVNULL)
    try:
        stacks["a"].start_actions()
        stacks["a"].start_rasa()
        stacks["a"].wait_ready(timeout=240)  # a first: it creates the tables
        stacks["b"].start_rasa()
        wait_rasa_only(stacks)
        yield stacks
    finally:
        for stack in stacks.values():
            stack.stop()
        import redis

        store = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
        for key in store.scan_iter(match="*replica-*"):
            store.delete(key)


def wait_rasa_only(stacks) -> None:
    """`wait_ready` for stack b, whose action server is a's."""
    stacks["b"].procs["actions"] = stacks["a"].procs["actions"]
    try:
        stacks["b"].wait_ready(timeout=240)
    finally:
        del stacks["b"].procs["actions"]


class Client:
    """Sends each conversation's messages to the planned server; fails over when it is gone."""

    def __init__(self, stacks) -> None:
        self.stacks = stacks
        self.replies: dict[tuple[str, int], list[dict]] = {}
        self.resent: set[tuple[str, int]] = set()
        self.apologised: set[tuple[str, int]] = set()
        self.answered = 0
        self.lock = threading.Lock()

    def _post(self, server: str, sender: str, seq: int) -> list[dict]:
        body = json.dumps({"sender": sender, "message": SCRIPT[seq][0],
                           "message_id": f"{sender}-{seq}", "metadata": {"seq": seq}}).encode()
        request = urllib.request.Request(
            f"{self.stacks[server].rasa_url}/webhooks/rest/webhook", data=body,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=90) as response:
            return json.loads(response.read())

    def _send_once(self, sender: str, seq: int) -> list[dict]:
        server = SCRIPT[seq][1]
        try:
            return self._post(server, sender, seq)
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError) as error:
            with self.lock:
                self.resent.add((sender, seq))
            other = "a" if server == "b" else "b"
            try:
                return self._post(other, sender, seq)
            except Exception as again:
                raise AssertionError(f"{sender} #{seq}: {error}; then {again}") from again

    def send(self, sender: str, seq: int) -> None:
        for _ in range(3):
            replies = self._send_once(sender, seq)
            if not any(APOLOGY in (r.get("text") or "") for r in replies):
                break
            with self.lock:
                self.apologised.add((sender, seq))
            time.sleep(1)
        with self.lock:
            self.replies[(sender, seq)] = replies
            self.answered += 1

    def run(self, senders: list[str], seqs: range) -> None:
        def conversation(sender: str) -> None:
            for seq in seqs:
                self.send(sender, seq)

        with ThreadPoolExecutor(max_workers=len(senders)) as pool:
            list(pool.map(conversation, senders))


def stored_events(database: str, senders: list[str]) -> dict[str, list[dict]]:
    import sqlalchemy as sa

    engine = sa.create_engine(database)
    events: dict[str, list[dict]] = defaultdict(list)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT sender_id, type_name, data FROM events "
            "WHERE sender_id = ANY(:senders) ORDER BY id"), {"senders": senders})
        for sender_id, type_name, data in rows:
            events[sender_id].append({"type": type_name, **json.loads(data)})
    engine.dispose()
    return events


def test_replicas_share_conversations_through_a_restart(replicas, database):
    senders = [f"replica-{uuid.uuid4().hex[:10]}" for _ in range(CONVERSATIONS)]
    client = Client(replicas)
    started = time.monotonic()

    client.run(senders, PHASES[0])
    assert client.resent == set(), "no server was down yet"

    # Phase 2: kill b (SIGKILL, no clean shutdown) once a quarter of the phase is answered.
    killed = threading.Event()
    threshold = client.answered + CONVERSATIONS // 2

    def killer() -> None:
        while client.answered < threshold and time.monotonic() - started < 120:
            time.sleep(0.01)
        proc = replicas["b"].procs["rasa"]
        os.killpg(proc.pid, 9)
        proc.wait()
        killed.set()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    client.run(senders, PHASES[1])
    thread.join(30)
    assert killed.is_set()
    assert client.resent, "messages planned for the killed server went to the other one"
    assert replicas["a"].dead() == []

    replicas["b"].procs.pop("rasa")
    replicas["b"].start_rasa()
    wait_rasa_only(replicas)
    resent_before_restart = set(client.resent)
    client.run(senders, PHASES[2])
    assert client.resent == resent_before_restart, "the restarted server answered"

    # No apology: messages waiting behind the dead server's turn kept their tickets and were
    # answered once it expired (bot/stores/lock_store.py), within the reply timeout.
    assert client.apologised == set(), client.apologised

    # Every message answered; the TPIN, answered by the restarted server, found the reference
    # given to the other servers before the kill.
    for sender in senders:
        for seq in range(len(SCRIPT)):
            assert client.replies[(sender, seq)], f"{sender} #{seq} got no reply"
        tpin_answer = " ".join(r.get("text", "") for r in client.replies[(sender, 6)])
        assert "released" in tpin_answer.lower(), (sender, tpin_answer)

    events = stored_events(database, senders)
    for sender in senders:
        stream = events[sender]
        seqs = [e["metadata"]["seq"] for e in stream if e["type"] == "user"]
        # Every message stored once, resent ones included.
        assert seqs == list(range(len(SCRIPT))), (sender, seqs)
        assert [e["message_id"] for e in stream if e["type"] == "user"] == [
            f"{sender}-{seq}" for seq in range(len(SCRIPT))]
        # Nothing stored twice: every event differs at least in its timestamp.
        keys = [json.dumps(e, sort_keys=True) for e in stream]
        assert len(keys) == len(set(keys)), f"duplicated events for {sender}"
        stamps = [e["timestamp"] for e in stream]
        assert stamps == sorted(stamps), f"events out of order for {sender}"
        # Each user message is followed by the bot's replies, exactly as the client got them.
        turns: dict[int, list[str]] = defaultdict(list)
        current = None
        for e in stream:
            if e["type"] == "user":
                current = e["metadata"]["seq"]
                turns[current] = []
            elif e["type"] == "bot" and current is not None:
                turns[current].append(e.get("text") or "")
        for seq in range(len(SCRIPT)):
            got = [r.get("text") or "" for r in client.replies[(sender, seq)]]
            assert turns[seq] == got, (sender, seq, turns[seq], got)


def test_two_messages_of_one_conversation_at_both_servers_at_once(replicas, database):
    """A user's two quick messages, spread over both servers by the proxy: each is answered
    and stored once, and the two turns run one after the other, not interleaved."""
    senders = [f"replica-pair-{uuid.uuid4().hex[:8]}" for _ in range(20)]
    texts = {"a": "hello", "b": "what is the vat rate on imports"}
    replies: dict[tuple[str, str], list[dict]] = {}
    barrier = threading.Barrier(2 * len(senders))

    def post(sender: str, server: str) -> None:
        body = json.dumps({"sender": sender, "message": texts[server],
                           "message_id": f"{sender}-{server}"}).encode()
        request = urllib.request.Request(
            f"{replicas[server].rasa_url}/webhooks/rest/webhook", data=body,
            headers={"Content-Type": "application/json"})
        barrier.wait(30)
        with urllib.request.urlopen(request, timeout=60) as response:
            replies[(sender, server)] = json.loads(response.read())

    with ThreadPoolExecutor(max_workers=2 * len(senders)) as pool:
        list(pool.map(lambda job: post(*job), [(s, x) for s in senders for x in "ab"]))

    events = stored_events(database, senders)
    for sender in senders:
        for server in "ab":
            got = [r.get("text") or "" for r in replies[(sender, server)]]
            assert got and not any(APOLOGY in t for t in got), (sender, server, got)
        stream = events[sender]
        users = [e for e in stream if e["type"] == "user"]
        assert sorted(e["message_id"] for e in users) == [f"{sender}-a", f"{sender}-b"]
        # Turn by turn: each user message, then exactly the replies its client got, and the
        # bot listening again before the next user message.
        turns: list[tuple[str, list[str]]] = []
        for i, e in enumerate(stream):
            if e["type"] == "user":
                if turns:
                    assert stream[i - 1]["type"] == "action" and \
                        stream[i - 1]["name"] == "action_listen", (sender, stream[i - 1])
                turns.append((e["message_id"][-1], []))
            elif e["type"] == "bot" and turns:
                turns[-1][1].append(e.get("text") or "")
        for server, texts_stored in turns:
            assert texts_stored == [r.get("text") or "" for r in replies[(sender, server)]]
        keys = [json.dumps(e, sort_keys=True) for e in stream]
        assert len(keys) == len(set(keys)), f"duplicated events for {sender}"
