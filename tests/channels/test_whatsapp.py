"""WhatsApp Cloud API channel: a real Sanic server on loopback against a fake Graph API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.channels.whatsapp import (
    SeenMessages,
    markdown_to_whatsapp,
    shorten,
    split_text,
    verify_signature,
)
from bot.channels.whatsapp.formatting import TEXT_LIMIT
from tests.channels.whatsapp_fakes import (
    PHONE_NUMBER_ID,
    USER,
    FakeGraphApi,
    button_reply,
    image_message,
    list_reply,
    location_message,
    notification,
    sign,
    status_callback,
    text_message,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-app-secret"
TOKEN = "test-access-token"
VERIFY = "test-verify-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(graph: FakeGraphApi) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "WHATSAPP_VERIFY_TOKEN": VERIFY,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_ACCESS_TOKEN": TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_API_URL": graph.url,
        "WHATSAPP_DEDUP_REDIS_URL": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.channels.whatsapp_server", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/webhooks/whatsapp/", timeout=1).ok:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(process.stderr.read().decode()[-3000:])
        time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(autouse=True)
def clean(request: pytest.FixtureRequest) -> None:
    if "server" in request.fixturenames:
        graph = request.getfixturevalue("graph")
        graph.reset()
        requests.post(f"{request.getfixturevalue('server')}/test/reset", timeout=5)


def post(server: str, payload: object, secret: str | None = SECRET, **kw) -> requests.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    return requests.post(
        f"{server}/webhooks/whatsapp/webhook", data=body, headers=headers, timeout=10, **kw
    )


def handled(server: str) -> list[dict]:
    return requests.get(f"{server}/test/handled", timeout=5).json()


def sentinel(server: str, graph: FakeGraphApi, word: str = "sentinel") -> list[dict]:
    """Send a valid message and wait for its reply, so earlier work has surely finished."""
    assert (
        post(server, text_message(f"wamid.{word}.{time.monotonic_ns()}", word)).status_code == 200
    )
    return graph.wait_for(lambda bodies: any(word in json.dumps(b) for b in bodies))


# --------------------------------------------------------------------------- handshake


def test_handshake_returns_challenge(server: str) -> None:
    reply = requests.get(
        f"{server}/webhooks/whatsapp/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"},
        timeout=5,
    )
    assert reply.status_code == 200
    assert reply.text == "1158201444"
    assert reply.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_handshake_refused(server: str, params: dict) -> None:
    reply = requests.get(f"{server}/webhooks/whatsapp/webhook", params=params, timeout=5)
    assert reply.status_code == 403
    assert "1" not in reply.text


# --------------------------------------------------------------------------- signatures


def test_signed_text_is_answered_through_graph_api(server: str, graph: FakeGraphApi) -> None:
    assert post(server, text_message("wamid.HBgLMjYwOTcxMjM0NTY3", "hello")).status_code == 200
    bodies = graph.wait_for(lambda b: len(b) >= 1)
    assert bodies == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": USER,
            "type": "text",
            "text": {"preview_url": False, "body": "You said: hello"},
        }
    ]
    record = graph.received[0]
    assert record["path"] == f"/v19.0/{PHONE_NUMBER_ID}/messages"
    assert record["authorization"] == f"Bearer {TOKEN}"
    [message] = handled(server)
    # The conversation is the WhatsApp number in WhatsApp's namespace (bot/channels/identity):
    # a REST client cannot name it; the Graph API still gets the bare number.
    assert message["sender_id"] == f"whatsapp:{USER}"
    assert message["input_channel"] == "whatsapp"
    assert message["message_id"] == "wamid.HBgLMjYwOTcxMjM0NTY3"
    assert message["metadata"]["whatsapp"]["phone_number_id"] == PHONE_NUMBER_ID


@pytest.mark.parametrize("text", ["action fails", "turn raises"])
def test_failed_turn_gets_an_apology_not_silence(server: str, graph: FakeGraphApi,
                                                 text: str) -> None:
    assert post(server, text_message(f"wamid.fail.{text[0]}", text)).status_code == 200
    [body] = graph.wait_for(lambda b: len(b) >= 1)
    assert body["to"] == USER
    assert "technical problem" in body["text"]["body"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": "not-a-signature"},
        {"X-Hub-Signature-256": "sha1=0000"},
    ],
    ids=["missing", "zeros", "garbage", "sha1"],
)
def test_unsigned_or_wrongly_signed_is_refused(
    server: str, graph: FakeGraphApi, headers: dict
) -> None:
    body = json.dumps(text_message("wamid.forged", "forged")).encode()
    reply = requests.post(
        f"{server}/webhooks/whatsapp/webhook", data=body, headers=headers, timeout=5
    )
    assert reply.status_code == 403
    bodies = sentinel(server, graph)
    assert len(bodies) == 1 and "forged" not in json.dumps(bodies)
    assert [m["text"] for m in handled(server)] == ["sentinel"]


def test_signature_with_other_secret_or_other_body_is_refused(
    server: str, graph: FakeGraphApi
) -> None:
    payload = text_message("wamid.forged2", "forged")
    assert post(server, payload, secret="someone-else").status_code == 403
    body = json.dumps(payload).encode()
    tampered = body.replace(b"forged", b"FORGED")
    reply = requests.post(
        f"{server}/webhooks/whatsapp/webhook",
        data=tampered,
        headers={"X-Hub-Signature-256": sign(body, SECRET)},
        timeout=5,
    )
    assert reply.status_code == 403
    sentinel(server, graph)
    assert "forged" not in json.dumps(graph.received).lower()
    assert [m["text"] for m in handled(server)] == ["sentinel"]


# --------------------------------------------------------------------------- delivery


def test_duplicate_delivery_is_answered_once(server: str, graph: FakeGraphApi) -> None:
    payload = text_message("wamid.duplicate", "customs hours")
    assert post(server, payload).status_code == 200
    assert post(server, payload).status_code == 200
    sentinel(server, graph)
    answers = [b for b in graph.successful() if "customs hours" in json.dumps(b)]
    assert len(answers) == 1
    assert [m["text"] for m in handled(server)].count("customs hours") == 1


@pytest.mark.parametrize("payload", [image_message("wamid.img"), location_message("wamid.loc")])
def test_unsupported_type_gets_polite_text(server: str, graph: FakeGraphApi, payload) -> None:
    assert post(server, payload).status_code == 200
    [body] = graph.wait_for(lambda b: len(b) >= 1)
    assert body["type"] == "text" and body["to"] == USER
    assert "text messages only" in body["text"]["body"]
    assert handled(server) == []


def test_overlong_incoming_text_is_cut_at_whatsapps_limit(server: str, graph: FakeGraphApi) -> None:
    assert post(server, text_message("wamid.overlong", "y" * 5000)).status_code == 200
    graph.wait_for(lambda b: len(b) >= 1)
    [message] = handled(server)
    assert message["text"] == "y" * TEXT_LIMIT == "y" * 4096


def test_status_callback_is_ignored(server: str, graph: FakeGraphApi) -> None:
    assert post(server, status_callback("wamid.OUT")).status_code == 200
    bodies = sentinel(server, graph)
    assert len(bodies) == 1
    assert [m["text"] for m in handled(server)] == ["sentinel"]


def test_message_for_another_number_is_ignored(server: str, graph: FakeGraphApi) -> None:
    payload = text_message("wamid.other", "other number")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert post(server, payload).status_code == 200
    sentinel(server, graph)
    assert [m["text"] for m in handled(server)] == ["sentinel"]


@pytest.mark.parametrize(
    "payload",
    [
        button_reply("wamid.btn", "/kb_declaration_status", "Check declaration…"),
        list_reply("wamid.list", "/kb_declaration_status", "Check declaration status"),
    ],
    ids=["button_reply", "list_reply"],
)
def test_interactive_reply_reaches_rasa_as_payload(
    server: str, graph: FakeGraphApi, payload
) -> None:
    assert post(server, payload).status_code == 200
    graph.wait_for(lambda b: len(b) >= 1)
    assert [m["text"] for m in handled(server)] == ["/kb_declaration_status"]


# --------------------------------------------------------------------------- replies


def test_three_buttons_become_reply_buttons(server: str, graph: FakeGraphApi) -> None:
    post(server, text_message("wamid.buttons", "buttons"))
    [body] = graph.wait_for(lambda b: len(b) >= 1)
    assert body["type"] == "interactive"
    interactive = body["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"]["text"] == "What would you like to do?"
    buttons = interactive["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == [
        "/kb_declaration_status",
        "/kb_tpin_registration",
        "/human_handoff",
    ]
    titles = [b["reply"]["title"] for b in buttons]
    assert all(len(t) <= 20 for t in titles)
    assert titles[0] == "Check declaration…"  # cut at a word, marked as cut
    assert titles[1:] == ["Register for a TPIN", "Talk to an agent"]


def test_more_than_three_choices_become_a_list(server: str, graph: FakeGraphApi) -> None:
    post(server, text_message("wamid.menu5", "menu 5"))
    [body] = graph.wait_for(lambda b: len(b) >= 1)
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["body"]["text"] == "Choose a topic:"
    assert 0 < len(interactive["action"]["button"]) <= 20
    rows = [r for s in interactive["action"]["sections"] for r in s["rows"]]
    assert [r["id"] for r in rows] == [f"/topic_{n}" for n in range(1, 6)]
    assert all(len(r["title"]) <= 24 for r in rows)
    assert all(len(r.get("description", "")) <= 72 for r in rows)
    assert rows[0]["description"] == "Topic 1 on customs clearance procedures"


def test_more_than_ten_choices_are_paged_into_lists(server: str, graph: FakeGraphApi) -> None:
    post(server, text_message("wamid.menu12", "menu 12"))
    bodies = graph.wait_for(lambda b: len(b) >= 2)
    time.sleep(0.3)
    bodies = graph.successful()
    assert len(bodies) == 2
    pages = [[r for s in b["interactive"]["action"]["sections"] for r in s["rows"]] for b in bodies]
    assert [len(p) for p in pages] == [10, 2]
    assert [r["id"] for p in pages for r in p] == [f"/topic_{n}" for n in range(1, 13)]


def test_long_answer_is_split_below_4096(server: str, graph: FakeGraphApi) -> None:
    from tests.channels.whatsapp_server import canned_reply

    expected = canned_reply("long")["text"]
    post(server, text_message("wamid.long", "long"))
    graph.wait_for(lambda b: len(b) >= 3)
    time.sleep(0.3)
    parts = [b["text"]["body"] for b in graph.successful()]
    assert len(parts) >= 3
    assert all(len(p) < 4096 for p in parts)
    assert all(p.endswith(".") for p in parts)  # cut at paragraph/sentence ends
    assert " ".join(" ".join(parts).split()) == " ".join(expected.split())


def test_markdown_is_converted(server: str, graph: FakeGraphApi) -> None:
    post(server, text_message("wamid.md", "markdown"))
    [body] = graph.wait_for(lambda b: len(b) >= 1)
    text = body["text"]["body"]
    assert text.startswith("*Paying duty*\n\n")
    assert "You *must* pay" in text
    assert "the tariff guide: https://www.zra.org.zm/tariff_guide for _rates_." in text
    assert "**" not in text and "](" not in text and "#" not in text
    assert body["text"]["preview_url"] is True


def test_graph_api_500_is_retried(server: str, graph: FakeGraphApi) -> None:
    graph.statuses.extend([500])
    post(server, text_message("wamid.retry", "retry me"))
    graph.wait_for(lambda b: len(b) >= 1)
    assert [r["status"] for r in graph.received] == [500, 200]
    assert graph.received[0]["json"] == graph.received[1]["json"]


def test_graph_api_down_is_logged_not_fatal(server: str, graph: FakeGraphApi) -> None:
    graph.statuses.extend([503, 503, 503])
    post(server, text_message("wamid.down", "nobody home"))
    deadline = time.monotonic() + 10
    while len(graph.received) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert [r["status"] for r in graph.received] == [503, 503, 503]  # 1 try + 2 retries
    sentinel(server, graph)  # the server is still fine


# --------------------------------------------------------------------------- bad input


def test_invalid_json_and_wrong_shapes(server: str, graph: FakeGraphApi) -> None:
    assert post(server, b"{not json").status_code == 400
    assert post(server, b"\xff\xfe").status_code == 400
    assert post(server, [1, 2]).status_code == 400
    odd = [
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account", "entry": "nope"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": 3}]}]},
        notification({"messages": [{"id": "x"}, "junk", {"from": USER, "type": "text"}]}),
        notification({"messages": [{"from": USER, "id": "wamid.q", "type": "interactive"}]}),
        notification({"messages": [{"from": USER, "id": "wamid.r", "type": "text", "text": 5}]}),
    ]
    for payload in odd:
        assert post(server, payload).status_code == 200, payload
    sentinel(server, graph)
    assert [m["text"] for m in handled(server)] == ["sentinel"]


def test_huge_body_is_refused(server: str, graph: FakeGraphApi) -> None:
    huge = b"{" + b" " * (4 * 1024 * 1024) + b"}"
    assert post(server, huge).status_code == 413

    def chunks():  # no Content-Length: the limit must hold while streaming
        for _ in range(64):
            yield b" " * 65536

    reply = requests.post(
        f"{server}/webhooks/whatsapp/webhook",
        data=chunks(),
        headers={"X-Hub-Signature-256": "sha256=00"},
        timeout=10,
    )
    assert reply.status_code == 413
    sentinel(server, graph)


# --------------------------------------------------------------------------- units


def test_split_text_prefers_boundaries_and_bounds_every_part() -> None:
    text = ("word " * 3000).strip()  # no sentence ends at all
    parts = split_text(text, 4000)
    assert all(len(p) <= 4000 for p in parts) and all(not p.endswith(" ") for p in parts)
    assert " ".join(parts) == text
    unbroken = "x" * 9000
    assert [len(p) for p in split_text(unbroken, 4000)] == [4000, 4000, 1000]
    assert split_text("short") == ["short"]


def test_shorten_and_markdown_details() -> None:
    assert shorten("Register for a TPIN", 20) == "Register for a TPIN"
    assert len(shorten("Supercalifragilisticexpialidocious", 20)) == 20
    assert markdown_to_whatsapp("see https://x.org/a__b__c and `**code**`") == (
        "see https://x.org/a__b__c and `**code**`"
    )
    assert markdown_to_whatsapp("[https://x.org](https://x.org)") == "https://x.org"
    assert markdown_to_whatsapp("* one\n- two") == "• one\n• two"
    assert markdown_to_whatsapp("~~old~~ __new__") == "~old~ *new*"


def test_verify_signature() -> None:
    body = b'{"a":1}'
    assert verify_signature("s", body, sign(body, "s"))
    assert not verify_signature("s", body, sign(body, "t"))
    assert not verify_signature("s", body, None)
    assert not verify_signature("s", body, sign(body, "s").replace("sha256=", "sha1="))


def test_seen_messages_ttl_and_bound() -> None:
    import asyncio

    async def run() -> None:
        seen = SeenMessages(ttl=0.2, max_size=3)
        assert await seen.first_time("a")
        assert not await seen.first_time("a")
        for key in "bcd":
            assert await seen.first_time(key)
        assert len(seen._seen) <= 3
        await asyncio.sleep(0.25)
        assert await seen.first_time("d")  # expired

    asyncio.run(run())


def test_seen_messages_shared_through_redis() -> None:
    import asyncio

    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"Redis not reachable on 127.0.0.1:6379: {error}")

    message_id = f"wamid.redis.{time.time_ns()}"

    async def run() -> list[bool]:
        first = SeenMessages(redis_url="redis://127.0.0.1:6379/15")
        second = SeenMessages(redis_url="redis://127.0.0.1:6379/15")  # another replica
        return [await first.first_time(message_id), await second.first_time(message_id)]

    assert asyncio.run(run()) == [True, False]
