"""Conversations with the trained model over the REST channel of a real server on loopback."""

from __future__ import annotations

import time
import uuid

import pytest

from bot.content.reader import read_knowledge

pytestmark = pytest.mark.conversation


def sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_knowledge_question_gets_the_entry_answer(bot_server):
    kb, _ = read_knowledge(bot_server.knowledge_dir)
    expected = kb.fill(kb.entries["import_vat_rate"].answer)
    replies = bot_server.send(sender(), "what is the vat rate on imported goods")
    assert replies, "no reply"
    assert replies[0]["text"].startswith(expected[:80])


def test_greeting_uses_settings(bot_server):
    kb, _ = read_knowledge(bot_server.knowledge_dir)
    text = bot_server.texts(sender(), "hello")
    assert kb.settings["bot_name"] in text


def test_what_can_you_do_offers_categories_as_buttons(bot_server):
    kb, _ = read_knowledge(bot_server.knowledge_dir)
    replies = bot_server.send(sender(), "what can you do")
    titles = [b["title"] for r in replies for b in r.get("buttons", [])]
    assert [c.name for c in kb.categories] == titles[: len(kb.categories)]
    # Clicking a category lists its questions; clicking a question answers it.
    payload = next(b["payload"] for r in replies for b in r["buttons"]
                   if b["title"] == kb.categories[0].name)
    s = sender()
    listed = bot_server.send(s, payload)
    question_payload = listed[0]["buttons"][0]["payload"]
    entry_id = question_payload.removeprefix("/kb_")
    answer = bot_server.send(s, question_payload)
    assert answer[0]["text"].startswith(kb.fill(kb.entries[entry_id].answer)[:60])


def test_out_of_scope_is_declined_not_answered(bot_server):
    kb, _ = read_knowledge(bot_server.knowledge_dir)
    answers = {kb.fill(e.answer)[:60] for e in kb.entries.values()}
    for question in ("what will the weather be like in lusaka tomorrow",
                     "tell me a joke about cats"):
        replies = bot_server.send(sender(), question)
        first = replies[0].get("text", "")
        assert first[:60] not in answers, question
        assert "customs" in " ".join(r.get("text", "") for r in replies).lower()


def test_gibberish_gets_the_fallback_then_a_person(bot_server):
    kb, _ = read_knowledge(bot_server.knowledge_dir)
    s = sender()
    first = bot_server.send(s, "qwzx plorb vrrk")
    second = bot_server.send(s, "zzkq blarg fnord")
    texts = " ".join(r.get("text", "") for r in first + second)
    assert kb.fill("{contact_email}") in texts
    assert not any(t.startswith(kb.fill(e.answer)[:60]) for e in kb.entries.values()
                   for t in [r.get("text", "") for r in first + second])


def test_talk_to_a_person_gives_contact_details(bot_server):
    kb, _ = read_knowledge(bot_server.knowledge_dir)
    text = bot_server.texts(sender(), "i want to talk to a real person")
    assert kb.fill("{contact_phone}") in text


def test_answer_edit_is_live_within_ten_seconds(bot_server):
    path = bot_server.knowledge_dir / "duties.yml"
    original = path.read_text()
    kb, _ = read_knowledge(bot_server.knowledge_dir)
    first_line = kb.entries["import_vat_rate"].answer.splitlines()[0]
    marker = f"LIVE-EDIT-{uuid.uuid4().hex[:6]}"
    try:
        path.write_text(original.replace(first_line, f"{marker} {first_line}", 1))
        started = time.monotonic()
        while time.monotonic() - started < 10:
            text = bot_server.texts(sender(), "what is the vat rate on imported goods")
            if marker in text:
                break
            time.sleep(0.5)
        assert marker in text, "edit not live within 10 seconds"
        # A broken edit is refused: the last valid answer keeps being served.
        path.write_text(original.replace("entries:", "entries: [", 1))
        time.sleep(1.5)
        text = bot_server.texts(sender(), "what is the vat rate on imported goods")
        assert marker in text
    finally:
        path.write_text(original)


def test_a_message_sent_twice_with_its_id_is_answered_once(bot_server):
    """A retry (bad network, a proxy, a user pressing send again) must not run the turn twice."""
    import json
    import sqlite3

    s = sender()
    # Ids with long digit runs: the store masks TPIN-like numbers, but never message ids.
    ids = [f"web-1234567890-{n}" for n in range(3)]
    first = bot_server.send(s, "what is the vat rate on imported goods", message_id=ids[0])
    assert first and first[0].get("text")
    again = bot_server.send(s, "what is the vat rate on imported goods", message_id=ids[0])
    assert again == first
    # In the middle of a form, a repeated answer does not move the form on.
    asked = bot_server.send(s, "I want to check my declaration status", message_id=ids[1])
    assert bot_server.send(s, "I want to check my declaration status",
                           message_id=ids[1]) == asked
    # The same words with a new id are a new message.
    new = bot_server.send(s, "what is the vat rate on imported goods", message_id=ids[2])
    assert new
    with sqlite3.connect(bot_server.tracker_db_path) as db:
        users = [json.loads(d).get("message_id") for (d,) in db.execute(
            "select data from events where sender_id = ? and type_name = 'user' order by id",
            (s,))]
    assert users == ids


def test_a_message_id_reused_for_other_words_is_refused(bot_server) -> None:
    """Replaying the old reply would answer a question that was not asked: 409, and nothing
    of the second message is stored."""
    import json
    import sqlite3
    import urllib.error
    import urllib.request

    s = sender()
    first = bot_server.send(s, "what is the vat rate on imported goods", message_id="web-r1")
    assert first
    request = urllib.request.Request(
        bot_server.rest_url, method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"sender": s, "message": "how do i get a tpin",
                         "message_id": "web-r1"}).encode())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    status, body = refused.value.code, json.loads(refused.value.read())
    assert status == 409 and body["error"] == "message_id_reused"
    assert "new id" in body["message"]
    assert bot_server.send(s, "what is the vat rate on imported goods",
                           message_id="web-r1") == first
    with sqlite3.connect(bot_server.tracker_db_path) as db:
        texts = [t for (t,) in db.execute(
            "select json_extract(data, '$.text') from events where sender_id = ? and "
            "type_name = 'user'", (s,))]
    assert texts == ["what is the vat rate on imported goods"]
