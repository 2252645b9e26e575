"""Hand-over form and tickets: validation, the ticket, the transcript, the helpdesk webhook."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import (
    ActionCancelHandover,
    ActionCreateTicket,
    ValidateHandoverForm,
    clean_name,
    clean_question,
    find_contact,
)
from actions.knowledge import ActionClarify
from bot.appdb.tickets import get_ticket, list_tickets, post_webhook, transcript
from bot.content.reader import read_knowledge

ROOT = Path(__file__).resolve().parents[2]
FORM_DOMAIN = {
    "slots": {s: {"type": "text", "mappings": [{"type": "custom"}]}
              for s in ("handover_name", "handover_question", "handover_contact")},
    "forms": {"handover_form": {"required_slots": ["handover_name", "handover_question",
                                                   "handover_contact"]}},
}


@pytest.fixture(autouse=True)
def env(private_knowledge, app_db, monkeypatch):
    monkeypatch.delenv("TICKET_WEBHOOK_URL", raising=False)
    return private_knowledge


def kb():
    return read_knowledge(ROOT / "knowledge")[0]


@pytest.mark.parametrize("text, expected", [
    ("0977123456", ("+260977123456", "phone")),
    ("+260977123456", ("+260977123456", "phone")),
    ("my number is 0966 123 456", ("+260966123456", "phone")),
    ("260-77-1234567", ("+260771234567", "phone")),
    ("0211 123456", ("+260211123456", "phone")),
    ("Mary.Banda@Example.co.zm", ("mary.banda@example.co.zm", "email")),
    ("097712345", None),          # 9 digits
    ("09771234567", None),        # 11 digits
    ("1002003004", None),         # a TPIN is not a phone
    ("+260 1234 56789", None),    # +260 but no Zambian number
    # From abroad: + (or 00) and the country code, 10 to 15 digits in all.
    ("+27821234567", ("+27821234567", "phone")),
    ("+27 82 123 4567", ("+27821234567", "phone")),
    ("+44 20 7946 0958", ("+442079460958", "phone")),
    ("call me on +44 (0)20 7946 0958", ("+442079460958", "phone")),
    ("0044 20 7946 0958", ("+442079460958", "phone")),
    ("+1 202-555-0143", ("+12025550143", "phone")),
    ("+44 123", None),            # too short to call back
    ("+27 82 123 4567 8901 234", None),  # 16 digits: longer than any number
    ("+2026-01-06 06:24:32", None),      # a time
    ("mary@example", None),
    ("******3456", None),         # a phone masked by the tracker store
    # An address spelled out, as people type one on a phone.
    ("john at gmail dot com", ("john@gmail.com", "email")),
    ("John[at]Gmail[dot]com", ("john@gmail.com", "email")),
    ("mary.banda (at) zra (dot) org (dot) zm please", ("mary.banda@zra.org.zm", "email")),
    ("meet me at the office", None),
    ("i am at home dot", None),
    # The address is the part next to "at", not the words before it (it was me@mary.banda,
    # banda@gmail.com: a ticket with someone else's address, or none that works).
    ("contact me at mary dot banda at gmail dot com", ("mary.banda@gmail.com", "email")),
    ("write to me at mary.banda at gmail dot com", ("mary.banda@gmail.com", "email")),
    ("my email is john at gmail dot com thanks", ("john@gmail.com", "email")),
    ("email me at mary banda at gmail dot com", None),  # which is the address: asked again
    ("my email is john banda at gmail dot com", None),
])
def test_contact_formats(text, expected):
    assert find_contact(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Mary Banda", "Mary Banda"),
    ("my name is John Phiri", "John Phiri"),
    ("I'm Chanda", "Chanda"),
    ("Nalwamba Mwila-Tembo", "Nalwamba Mwila-Tembo"),
    ("hi, my name is Bupe Mwaba", "Bupe Mwaba"),
    ("Good morning. I am Luyando", "Luyando"),
    ("hello there", None),
    ("goods stuck at chirundu", None),
    ("yes", None),
    ("I want to talk to a person", None),
    ("0977123456", None),
    ("x", None),
    ("mary@example.com", None),
])
def test_names(text, expected):
    assert clean_name(text) == expected


def test_question_needs_a_few_words():
    assert clean_question("help") is None
    assert clean_question("  my  refund is late  ") == "my refund is late"


def form_tracker(requested: str, text: str, intent: str = "nlu_fallback",
                 slots: dict | None = None, normalised: str | None = None) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    if normalised is not None:  # how bot.understanding read it (SMS spelling expanded)
        latest["understanding"] = {"normalised": normalised}
    all_slots = {"requested_slot": requested, "handover_name": None, "handover_question": None,
                 "handover_contact": None, **(slots or {})}
    return Tracker("conv-1", all_slots, latest, [], False, None,
                   {"name": "handover_form"}, "action_listen")


def run_form(t: Tracker) -> tuple[dict, list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateHandoverForm().run(dispatcher, t, FORM_DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return slots, dispatcher.messages


def test_form_takes_the_asked_slot_from_any_intent():
    # Even a message the model took for a knowledge question is the answer asked for.
    slots, _ = run_form(form_tracker("handover_question", "vat on my imported car is wrong",
                                     intent="kb_import_vat_rate"))
    assert slots["handover_question"] == "vat on my imported car is wrong"
    slots, _ = run_form(form_tracker("handover_name", "my name is Mary Banda", intent="greet"))
    assert slots["handover_name"] == "Mary Banda"


def test_form_rejects_invalid_answers_with_a_reason():
    slots, messages = run_form(form_tracker("handover_contact", "call me"))
    assert slots["handover_contact"] is None
    assert messages[0]["text"] == kb().message("handoff_invalid_contact")
    slots, messages = run_form(form_tracker("handover_name", "yes", intent="affirm"))
    assert slots["handover_name"] is None
    assert messages[0]["text"] == kb().message("handoff_invalid_name")


@pytest.mark.parametrize("slot", ["handover_name", "handover_question", "handover_contact"])
@pytest.mark.parametrize("intent", ["kb_what_is_tpin", "kb_find_my_tpin", "nlu_fallback"])
def test_a_tpin_is_never_taken_nor_answered_as_a_question(slot, intent):
    for text in ("my tpin is 1004561234", "1002003004", "100 200 3004"):
        slots, messages = run_form(form_tracker(slot, text, intent=intent))
        assert slots.get(slot) is None, text
        assert [m["text"] for m in messages] == [kb().message("form_no_tpin_here")], text


def test_stop_extracts_nothing_so_the_stop_rule_cancels():
    slots, messages = run_form(form_tracker("handover_name", "stop", intent="stop"))
    assert "handover_name" not in slots and messages == []
    dispatcher = CollectingDispatcher()
    events = ActionCancelHandover().run(dispatcher, form_tracker("handover_name", "stop"), {})
    assert ActiveLoop(None) in events
    assert list_tickets() == []


@pytest.mark.parametrize("slot", ["handover_name", "handover_contact"])
def test_a_status_check_with_a_reference_extracts_nothing_so_its_rule_starts_the_check(slot):
    text = "status of LSK/2026/C/10452 tpin 1002003004"
    slots, messages = run_form(form_tracker(slot, text, intent="check_declaration_status"))
    assert slot not in slots and messages == []
    # Without a reference it is no lookup: the name's own check answers ("type just your name").
    slots, _ = run_form(form_tracker(slot, "check my declaration status",
                                     intent="check_declaration_status"))
    assert slot in slots


def test_a_status_check_typed_as_the_question_for_staff_is_that_question():
    text = "my declaration 2026 LSK C 10452 is stuck at the border, please check"
    slots, _ = run_form(form_tracker("handover_question", text,
                                     intent="check_declaration_status"))
    assert slots["handover_question"] == text


@pytest.mark.parametrize("slot", ["handover_name", "handover_question"])
@pytest.mark.parametrize("text", ["asdfghjkl", "qwe rty", "jjjjjjj", "sdkfjh lkjh", "zxcvb"])
def test_keyboard_mashing_is_not_a_name_nor_a_question(slot, text):
    slots, messages = run_form(form_tracker(slot, text, intent="out_of_scope"))
    assert slots[slot] is None
    assert [m["text"] for m in messages] == [kb().message("form_not_an_answer")]


@pytest.mark.parametrize("text, normalised", [
    ("ok thank u", None), ("thnx", "thanks"), ("k thx", None), ("hmm", None),
    ("okay sure", None),
])
def test_thanks_and_sounds_are_not_a_name_however_spelled(text, normalised):
    slots, messages = run_form(form_tracker("handover_name", text, intent="thank",
                                            normalised=normalised))
    assert slots["handover_name"] is None
    assert [m["text"] for m in messages] == [kb().message("handoff_invalid_name")]


@pytest.mark.parametrize("name", [
    "Chanda Mulenga", "Mwape Nkhoma", "Ng'andu", "Nchimunya", "Mrs Phiri", "Hope",
    "Precious Zulu", "Goodwell Mubanga", "Nkhwazi Mwansa", "Yui Tanaka",
])
@pytest.mark.parametrize("intent", ["greet", "out_of_scope", "nlu_fallback"])
def test_names_are_taken_whatever_chat_intent_the_model_reads(name, intent):
    # The model reads names as greetings or out of scope: never as a knowledge question.
    slots, messages = run_form(form_tracker("handover_name", name, intent=intent))
    assert slots["handover_name"] == name and messages == []


@pytest.mark.parametrize("text", ["just a minute", "hold on", "one moment please"])
def test_a_pause_is_not_a_name(text):
    slots, messages = run_form(form_tracker("handover_name", text, intent="out_of_scope"))
    assert slots["handover_name"] is None
    assert [m["text"] for m in messages] == [kb().message("form_not_an_answer")]


def test_a_name_shaped_knowledge_question_is_answered_not_stored():
    from bot.content.answers import answer_text

    slots, messages = run_form(form_tracker("handover_name", "vat rate",
                                            intent="kb_import_vat_rate"))
    assert slots["handover_name"] is None
    assert [m["text"] for m in messages] == [answer_text(kb(), "import_vat_rate"),
                                             kb().message("form_resume")]


@pytest.mark.parametrize("text", ["goods stuck at chirundu", "my refund is late",
                                  "why is it red", "payment not reflecting"])
def test_a_support_question_typed_as_the_name_is_not_stored(text):
    slots, messages = run_form(form_tracker("handover_name", text))
    assert slots["handover_name"] is None
    assert [m["text"] for m in messages] == [kb().message("handoff_invalid_name")]


@pytest.mark.parametrize("slot", ["handover_name", "handover_question", "handover_contact"])
def test_stop_notifications_is_never_stored_so_its_rule_runs(slot):
    slots, messages = run_form(form_tracker(slot, "stop notifications",
                                            intent="stop_notifications"))
    assert slot not in slots and messages == []


def ticket_tracker(contact: str, events: list[dict] | None = None) -> Tracker:
    slots = {"handover_name": "Mary Banda", "handover_contact": contact,
             "handover_question": "refund for TPIN 1002003004 is late"}
    latest = {"text": contact, "intent": {"name": "nlu_fallback"}}
    return Tracker("conv-9", slots, latest, events or [], False, None, {}, "handover_form")


CONVERSATION = [
    {"event": "user", "text": "talk to a person", "timestamp": 1_790_000_000.5},
    {"event": "bot", "text": "What is your name?", "timestamp": 1_790_000_001.5},
    {"event": "user", "text": "my tpin is 100 200 3004", "timestamp": 1_790_000_002.5},
    {"event": "user", "text": "/kb_what_is_tpin", "timestamp": 1_790_000_003.5},
    {"event": "slot", "name": "x", "value": "y"},
]


def test_ticket_is_created_with_number_contact_and_masked_transcript():
    dispatcher = CollectingDispatcher()
    events = ActionCreateTicket().run(dispatcher, ticket_tracker("0977123456", CONVERSATION), {})
    assert {"event": "slot", "timestamp": None, "name": "handover_contact", "value": None} \
        in events
    [ticket] = list_tickets()
    assert ticket.number.startswith("HT-") and ticket.number in dispatcher.messages[0]["text"]
    assert "5 working days" in dispatcher.messages[0]["text"]
    assert (ticket.name, ticket.contact, ticket.contact_kind, ticket.conversation_id) == (
        "Mary Banda", "+260977123456", "phone", "conv-9")
    assert ticket.question == "refund for TPIN ******3004 is late"
    assert "3004" in ticket.transcript and "100 200 3004" not in ticket.transcript
    assert "User: talk to a person" in ticket.transcript
    assert "Bot: What is your name?" in ticket.transcript
    assert "[clicked /kb_what_is_tpin]" in ticket.transcript
    assert get_ticket(ticket.number.lower()) == ticket
    assert ticket.webhook_status is None  # no webhook configured


def test_ticket_numbers_are_unique_and_sequential():
    for _ in range(3):
        ActionCreateTicket().run(CollectingDispatcher(), ticket_tracker("a@b.zm"), {})
    numbers = sorted(t.number for t in list_tickets())
    assert len(set(numbers)) == 3
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == [1, 2, 3]


def test_a_masked_contact_from_an_earlier_turn_creates_no_ticket():
    dispatcher = CollectingDispatcher()
    ActionCreateTicket().run(dispatcher, ticket_tracker("******3456"), {})
    assert list_tickets() == []
    assert dispatcher.messages[0]["text"] == kb().message("handoff_failed")


def test_second_failure_starts_the_form():
    def user(intent):
        return {"event": "user", "text": "x", "parse_data": {"intent": {"name": intent}}}

    t = Tracker("c", {}, {"text": "zz", "intent": {"name": "nlu_fallback"},
                          "intent_ranking": []},
                [user("nlu_fallback"), user("nlu_fallback")], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = ActionClarify().run(dispatcher, t, {})
    assert events == [FollowupAction("handover_form")]
    assert kb().message("handoff_intro") in [m["text"] for m in dispatcher.messages]


class _Helpdesk(BaseHTTPRequestHandler):
    received: list[tuple[dict, str | None]] = []
    status = 201

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((json.loads(body), self.headers.get("Authorization")))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def helpdesk():
    server = HTTPServer(("127.0.0.1", 0), _Helpdesk)
    _Helpdesk.received, _Helpdesk.status = [], 201
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tickets"
    server.shutdown()
    server.server_close()


def test_webhook_posts_the_new_ticket(helpdesk, monkeypatch):
    monkeypatch.setenv("TICKET_WEBHOOK_URL", helpdesk)
    monkeypatch.setenv("TICKET_WEBHOOK_TOKEN", "s3cret")
    ActionCreateTicket().run(CollectingDispatcher(), ticket_tracker("0977123456",
                                                                   CONVERSATION), {})
    [(body, auth)] = _Helpdesk.received
    [ticket] = list_tickets()
    assert body["number"] == ticket.number and body["contact"] == "+260977123456"
    assert "100 200 3004" not in json.dumps(body)
    assert auth == "Bearer s3cret"
    assert ticket.webhook_status == "sent"


def test_webhook_failure_keeps_the_ticket_and_records_why(helpdesk, monkeypatch):
    _Helpdesk.status = 500
    monkeypatch.setenv("TICKET_WEBHOOK_URL", helpdesk)
    dispatcher = CollectingDispatcher()
    ActionCreateTicket().run(dispatcher, ticket_tracker("a@b.zm"), {})
    [ticket] = list_tickets()
    assert ticket.number in dispatcher.messages[0]["text"]
    assert ticket.webhook_status == "failed: HTTP 500"
    # Nobody listening at all: no exception, the outcome is kept.
    assert post_webhook(ticket, {"TICKET_WEBHOOK_URL": "http://127.0.0.1:9/x",
                                 "TICKET_WEBHOOK_TIMEOUT": "1"}) == "failed: ConnectionError"


def test_transcript_masks_tpins_and_skips_other_events():
    text = transcript(CONVERSATION)
    assert text.count("\n") == 3
    assert "******3004" in text


def test_tickets_cli_lists_shows_exports_and_closes(tmp_path, capsys):
    import csv

    from bot.ops import cli

    for contact in ("0977123456", "a@b.zm"):
        ActionCreateTicket().run(CollectingDispatcher(), ticket_tracker(contact, CONVERSATION),
                                 {})
    first, second = sorted(t.number for t in list_tickets())
    assert cli.main(["tickets", "list"]) == 0
    listed = capsys.readouterr().out
    assert first in listed and second in listed and "+260977123456" in listed
    assert cli.main(["tickets", "show", first]) == 0
    assert "******3004" in capsys.readouterr().out
    assert cli.main(["tickets", "close", first]) == 0
    out = tmp_path / "t.csv"
    assert cli.main(["tickets", "export", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["number"], r["status"]) for r in rows] == [(first, "closed"), (second, "open")]
    assert rows[0]["contact"] == "+260977123456" and "100 200 3004" not in out.read_text()
    assert cli.main(["tickets", "show", "HT-1999-00000"]) == 1


def flood_tracker(conversation: str, contact: str, metadata: dict | None = None) -> Tracker:
    slots = {"handover_name": "Mary Banda", "handover_contact": contact,
             "handover_question": "where is my refund please"}
    return Tracker(conversation, slots, {"text": contact, "metadata": metadata}, [], False,
                   None, {}, "handover_form")


def create(conversation: str, contact: str, metadata: dict | None = None) -> str:
    dispatcher = CollectingDispatcher()
    ActionCreateTicket().run(dispatcher, flood_tracker(conversation, contact, metadata), {})
    return dispatcher.messages[0]["text"]


def test_tickets_per_rest_client_are_limited_whatever_sender_ids_it_makes_up():
    """A script took a fresh sender id and a fresh contact per ticket: 100 an hour."""
    from bot.channels.identity import CLIENT_KEY, client_identity

    script = {CLIENT_KEY: client_identity("203.0.113.7")}
    for n in range(10):
        assert "Your ticket number is" in create(f"fresh-{n}", f"p{n}@b.zm", script)
    assert create("fresh-99", "p99@b.zm", script) == kb().message("handoff_limit")
    other = {CLIENT_KEY: client_identity("203.0.113.8")}
    assert "Your ticket number is" in create("fresh-100", "p100@b.zm", other)
    assert len(list_tickets()) == 11


def test_tickets_per_conversation_are_limited_with_a_clear_reply():
    for _ in range(3):
        assert "Your ticket number is" in create("flood-1", "a@b.zm")
    reply = create("flood-1", "c@d.zm")  # another contact does not help
    assert reply == kb().message("handoff_limit") and "0977" not in reply
    assert len(list_tickets()) == 3


def test_tickets_per_contact_are_limited_across_conversations():
    for n in range(3):
        assert "Your ticket number is" in create(f"flood-c{n}", "0977123456")
    assert create("flood-c9", "+260 977 123 456") == kb().message("handoff_limit")
    assert "Your ticket number is" in create("flood-c9", "0966123456")
    assert len(list_tickets()) == 4


def test_tickets_overall_per_hour_are_limited(monkeypatch):
    monkeypatch.setenv("TICKETS_PER_HOUR", "5")
    for n in range(5):
        assert "Your ticket number is" in create(f"flood-o{n}", f"p{n}@b.zm")
    assert create("flood-o9", "p9@b.zm") == kb().message("handoff_limit")
    assert len(list_tickets()) == 5


def test_ticket_limits_are_per_rolling_hour_and_configurable():
    from datetime import datetime, timedelta, timezone

    from bot.appdb.tickets import TicketLimitReached, TicketLimits, create_ticket, ticket_limits

    limits = TicketLimits(per_conversation=1, per_contact=0, overall=0)
    start = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
    create_ticket("c", "N", "a@b.zm", "email", "question text", "", now=start, limits=limits)
    with pytest.raises(TicketLimitReached) as reached:
        create_ticket("c", "N", "a@b.zm", "email", "question text", "",
                      now=start + timedelta(minutes=59), limits=limits)
    assert reached.value.limit == "conversation"
    create_ticket("c", "N", "a@b.zm", "email", "question text", "",
                  now=start + timedelta(minutes=61), limits=limits)
    assert ticket_limits({"TICKETS_PER_CONTACT_PER_HOUR": "7"}).per_contact == 7
    from bot.settings.errors import SettingError

    with pytest.raises(SettingError, match="TICKETS_PER_HOUR"):
        ticket_limits({"TICKETS_PER_HOUR": "many"})


def test_a_contact_or_a_name_is_taken_whatever_the_model_made_of_it():
    slots, _ = run_form(form_tracker("handover_contact", "call me on 0977 123 456",
                                     intent="kb_contact_customer_support"))
    assert slots["handover_contact"] == "+260977123456"
    slots, _ = run_form(form_tracker("handover_name", "Chanda Mulenga", intent="greet"))
    assert slots["handover_name"] == "Chanda Mulenga"


def test_a_knowledge_question_at_the_name_is_answered_and_not_stored():
    slots, messages = run_form(form_tracker("handover_name", "what is the vat rate on imports?",
                                            intent="kb_import_vat_rate"))
    assert slots["handover_name"] is None
    assert messages[-1]["text"] == kb().message("form_resume")


def test_an_all_consonant_abbreviation_is_not_keyboard_mashing():
    from actions.interruptions import looks_like_gibberish

    for text in ("NRC lost", "DRC transit", "my DHL parcel", "BMK Phiri", "JNR Banda"):
        assert not looks_like_gibberish(text), text
    for text in ("asdkjh qwe", "hjkhjkhjk", "zxcvbnm", "dfgdfg"):
        assert looks_like_gibberish(text), text


def test_a_hand_over_question_opening_with_wait_or_give_me_is_a_question():
    from actions.interruptions import interruption

    for text in ("give me a refund for the duty i overpaid",
                 "wait, my goods have been stuck at nakonde for a week",
                 "i am looking for an agent to clear my car",
                 "let me tell you my problem, my consignment is stuck"):
        assert interruption(form_tracker("handover_question", text, intent="out_of_scope"),
                            "handover_question") is None, text
    assert interruption(form_tracker("handover_question", "hold on a sec", intent="greet"),
                        "handover_question") == "not_answer"


@pytest.mark.parametrize("text", [
    "I need to know why my refund is delayed",
    "my tax clearance is blocking my import licence",
    "paye refund delayed",
])
def test_a_domestic_tax_question_typed_as_the_question_for_staff_is_that_question(text):
    # The person asked for a person: the question goes into the ticket, not declined.
    slots, messages = run_form(form_tracker("handover_question", text, intent="domestic_tax"))
    assert slots["handover_question"] == text and messages == []


def test_a_domestic_tax_question_typed_as_the_name_is_still_pointed_to_the_authority():
    slots, messages = run_form(form_tracker("handover_name", "how do i file my paye return",
                                            intent="domestic_tax"))
    assert slots["handover_name"] is None
    assert [m["text"] for m in messages] == [kb().message("domestic_tax"),
                                             kb().message("form_resume")]


def test_the_question_for_staff_still_leaves_on_stop_and_refuses_what_is_no_question():
    slots, messages = run_form(form_tracker("handover_question", "cancel", intent="stop"))
    assert "handover_question" not in slots and messages == []  # the stop rule cancels
    slots, messages = run_form(form_tracker("handover_question", "Ndikufuna thandizo chonde",
                                            intent="other_language"))
    assert slots["handover_question"] is None
    assert [m["text"] for m in messages] == [kb().message("other_language")]
    slots, messages = run_form(form_tracker("handover_question", "ok thanks", intent="thank"))
    assert slots["handover_question"] is None
    assert [m["text"] for m in messages] == [kb().message("form_not_an_answer")]


@pytest.mark.parametrize(("text", "contact"), [
    ("+44 20 7946 0958", "+442079460958"),
    ("+27 82 123 4567", "+27821234567"),
])
@pytest.mark.parametrize("intent", ["nlu_fallback", "check_declaration_status",
                                    "kb_contact_customer_support"])
def test_a_number_from_abroad_is_the_contact_not_a_tpin(text, contact, intent):
    # "+44 20 7946 0958" ends in ten digits ("20 7946 0958"), a TPIN's shape.
    slots, messages = run_form(form_tracker("handover_contact", text, intent=intent))
    assert slots["handover_contact"] == contact and messages == []


def test_a_number_from_abroad_is_no_tpin_anywhere_but_a_tpin_after_it_is():
    from actions.interruptions import is_a_tpin

    for text in ("+44 20 7946 0958", "0044 20 7946 0958", "+1 202 555 0143"):
        assert not is_a_tpin(text), text
    assert is_a_tpin("1002003004") and is_a_tpin("+44 20 7946 0958 my tpin is 1002003004")
    slots, messages = run_form(form_tracker("handover_name", "+44 20 7946 0958"))
    assert [m["text"] for m in messages] == [kb().message("handoff_invalid_name")]


def test_a_number_that_is_no_phone_is_refused_saying_what_is_expected():
    slots, messages = run_form(form_tracker("handover_contact", "+44 123"))
    assert slots["handover_contact"] is None
    said = kb().message("handoff_invalid_contact")
    assert [m["text"] for m in messages] == [said]
    assert "0977123456" in said and "country code" in said and "@" in said


def test_a_ticket_keeps_a_number_from_abroad():
    dispatcher = CollectingDispatcher()
    ActionCreateTicket().run(dispatcher, ticket_tracker("+27 82 123 4567"), {})
    [ticket] = list_tickets()
    assert (ticket.contact, ticket.contact_kind) == ("+27821234567", "phone")


@pytest.mark.parametrize("slot", ["handover_name", "handover_question", "handover_contact"])
@pytest.mark.parametrize("text", ["talk to a person", "i want to speak to a real human pls",
                                  "AGENT!!", "i said i want a person not a bot",
                                  "I'd like to speak to a person",
                                  "I\u2019d like to speak to a human",
                                  "Hi, I need to talk to someone", "im still waiting for an agent",
                                  "/request_human"])
def test_asking_for_a_person_again_is_no_answer_to_the_form(slot, text):
    """Typed at "What is your question?" it was stored as the question for staff; the button
    of an earlier answer ("/request_human") started the form again, the name given lost."""
    slots, messages = run_form(form_tracker(slot, text, intent="request_human"))
    assert slots[slot] is None
    assert [m["text"] for m in messages] == [kb().message("handoff_in_progress")]


@pytest.mark.parametrize("text", ["i want to talk to a person about my refund that is late",
                                  "can i talk to my agent"])
def test_a_request_for_a_person_with_a_subject_is_the_question(text):
    slots, messages = run_form(form_tracker("handover_question", text, intent="request_human"))
    assert slots["handover_question"] == text and messages == []


def test_tickets_export_to_a_missing_folder_says_so_without_a_traceback(tmp_path, capsys):
    from bot.ops import cli

    assert cli.main(["tickets", "export", str(tmp_path / "no" / "such" / "t.csv")]) == 1
    out = capsys.readouterr().out
    assert "Cannot write" in out and "t.csv" in out


def test_tickets_export_neutralises_formulas_in_free_text(tmp_path):
    import csv

    from bot.ops import cli

    slots = {"handover_name": "Mary Banda", "handover_contact": "a@b.zm",
             "handover_question": '=HYPERLINK("http://evil.example","x") my refund'}
    ActionCreateTicket().run(CollectingDispatcher(), Tracker(
        "csv", slots, {"text": "a@b.zm"}, [], False, None, {}, "handover_form"), {})
    out = tmp_path / "t.csv"
    assert cli.main(["tickets", "export", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        [row] = list(csv.DictReader(f))
    assert row["question"].startswith("'=HYPERLINK(")


@pytest.mark.parametrize("text", ["john@gmail", "097712345", "+44 123"])
def test_a_wrong_contact_read_as_the_contact_centre_is_told_what_a_contact_is(text):
    """The model reads "john@gmail" as the contact-centre entry: it got that answer, and the
    person was never told the address was incomplete."""
    slots, messages = run_form(form_tracker("handover_contact", text,
                                            intent="kb_contact_customer_support"))
    assert slots["handover_contact"] is None
    assert [m["text"] for m in messages] == [kb().message("handoff_invalid_contact")]


def test_an_address_spelled_out_is_the_contact():
    slots, messages = run_form(form_tracker("handover_contact", "john at gmail dot com",
                                            intent="kb_contact_customer_support"))
    assert slots["handover_contact"] == "john@gmail.com" and messages == []


def test_a_question_with_a_number_at_the_contact_question_is_answered():
    """Six digits made any message a contact typed wrongly, a question with an amount too."""
    text = "what is the duty on a car worth 150000 kwacha"
    slots, messages = run_form(form_tracker("handover_contact", text,
                                            intent="kb_import_motor_vehicle_duty"))
    assert slots["handover_contact"] is None
    assert messages and messages[0]["text"] != kb().message("handoff_invalid_contact")
