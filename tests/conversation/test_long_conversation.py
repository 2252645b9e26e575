"""A long conversation served from the tracker window (bot/stores/tracker_window.py) gets, turn
by turn, the replies it gets when Rasa reads the whole session back at every message: a form
started at the second turn still asks its next question after a dozen questions answered inside
it, the name given then is kept, follow-ups and the "did this help?" cadence are unchanged.

Two assistants on the same model, one with TRACKER_WINDOW_TURNS=0 (Rasa's way), one with a
window of 2 turns, so the window moves many times within the conversation."""

from __future__ import annotations

import pytest

from bot.content.reader import read_knowledge

pytestmark = pytest.mark.conversation

IN_FORM = [
    "what is the vat rate on imports", "how do i get a tpin", "what are the border post hours",
    "how is import duty calculated", "what documents do i need to clear goods",
    "can i import a used car", "what is the duty free allowance for travellers",
    "how do i register as a clearing agent", "what is a bill of entry",
    "how do i pay customs duty", "what is the carbon emission surtax",
    "how long does clearance take",
]
AFTER = [
    "what is the vat rate on imports", "and for cars?", "thanks", "how do i get a tpin",
    "/feedback_helpful", "what are the border post hours", "how is import duty calculated",
    "and excise?", "what documents do i need to clear goods", "ok", "can i import a used car",
    "what is the duty free allowance for travellers", "how do i pay customs duty",
]
SCRIPT = ["hello", "talk to a person", *IN_FORM, "Chanda Mulenga", "stop", *AFTER]


def replies(server_url: str, sender: str) -> list[list[tuple[str, tuple]]]:
    from bot.ops.launcher import rest_send

    out = []
    for text in SCRIPT:
        answer = rest_send(f"{server_url}/webhooks/rest/webhook", sender, text, 60)
        out.append([(m.get("text", ""), tuple(b.get("payload") for b in m.get("buttons") or []))
                    for m in answer])
    return out


def test_windowed_conversation_gets_the_same_replies(trained_model, tmp_path) -> None:
    from bot.ops import launcher

    got = {}
    for name, window in (("whole", "0"), ("window", "2")):
        with launcher.scratch_stack(trained_model, tmp_path / name, web=False, overrides={
                "TRACKER_WINDOW_TURNS": window, "RATE_LIMIT_PER_MINUTE": "0",
                "RATE_LIMIT_PER_CLIENT_PER_MINUTE": "0",
                # Buttons of equal score come in set order: the same hash seed in both.
                "PYTHONHASHSEED": "0"}) as stack:
            got[name] = replies(stack.rasa_url, "long-conversation")
    for turn, (text, whole, windowed) in enumerate(zip(SCRIPT, got["whole"], got["window"],
                                                       strict=True), start=1):
        assert windowed == whole, f"turn {turn} ({text!r})"

    kb, _ = read_knowledge(tmp_path / "window" / "knowledge")
    texts = [" ".join(t for t, _ in reply) for reply in got["window"]]
    ask_name, ask_question = kb.message("handoff_ask_name"), kb.message("handoff_ask_question")
    # Each question inside the form is answered, then the form asks for the name again...
    assert all(ask_name in texts[i] for i in range(2, 2 + len(IN_FORM)))
    # ...and the name given 14 turns after the form started is taken: the next question comes.
    assert ask_question in texts[2 + len(IN_FORM)]
    # "Did this help?" is offered on some answers after the form, as with the whole session.
    assert any("/feedback_helpful" in payloads for reply in got["window"][-len(AFTER):]
               for _, payloads in reply)
