"""The lookup limits of a running assistant count the REST client, not its sender ids: the
channel's identity reaches the action server through Rasa (bot/channels/identity.py,
bot/appdb/attempts.py). Before, one TPIN walked sequential references from fresh sender ids
(1 of 30 tries limited), and 15 wrong TPINs from fresh senders locked the owner out."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

pytestmark = pytest.mark.conversation

LIMIT_WORDS = "for your security"


@pytest.fixture(scope="module")
def guarded(trained_model, tmp_path_factory):
    """A stack with the production limits, behind a "proxy" (127.0.0.1 is trusted, so each
    request's X-Forwarded-For is its client)."""
    from bot.ops import launcher

    overrides = {"TRUSTED_PROXIES": "127.0.0.1", "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "120",
                 "DECLARATION_MAX_FAILED_PER_CLIENT": "10", "DECLARATION_MAX_FAILED_PER_TPIN": "5",
                 "DECLARATION_MAX_FAILED_PER_REFERENCE": "5", "TICKETS_PER_CLIENT_PER_HOUR": "10"}
    with launcher.scratch_stack(trained_model, tmp_path_factory.mktemp("limits"), web=False,
                                overrides=overrides) as stack:
        yield stack


def ask(stack, client: str, text: str, sender: str | None = None) -> str:
    body = json.dumps({"sender": sender or f"fresh-{uuid.uuid4().hex[:10]}",
                       "message": text}).encode()
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json",
                                              "X-Forwarded-For": client})
    with urllib.request.urlopen(request, timeout=60) as response:
        return "\n".join(m.get("text", "") for m in json.loads(response.read()))


def test_one_tpin_walking_references_from_fresh_sender_ids_is_stopped(guarded):
    replies = [ask(guarded, "203.0.113.7", f"status of 2026 LSK C {n} tpin 1002003004")
               for n in range(10_440, 10_460)]  # 10452 is the TPIN's own declaration
    limited = [n for n, reply in enumerate(replies) if LIMIT_WORDS in reply.lower()]
    assert limited == list(range(4, 20)), replies[:6]
    assert not any("assessed" in reply.lower() for reply in replies)
    owner = ask(guarded, "198.51.100.20", "status of 2026 LSK C 10452 tpin 1002003004")
    assert "assessed" in owner.lower()


def test_strangers_wrong_tpins_do_not_lock_the_owner_out(guarded):
    for n in range(15):
        ask(guarded, f"203.0.113.{100 + n % 3}", f"status of 2026 CHR C 20871 tpin 90000000{n:02d}")
    owner = ask(guarded, "198.51.100.21", "status of 2026 CHR C 20871 tpin 1002003004")
    assert "released" in owner.lower()
