"""The declaration actions run the rasa-sdk way: a Tracker, a CollectingDispatcher, events."""

import asyncio
import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.declarations.backends.base import StatusServiceUnavailable
from actions.declarations.form import (
    ActionCancelDeclaration,
    ActionCheckDeclaration,
    ValidateDeclarationForm,
)
from bot import appdb
from bot.appdb.demo_data import seed_demo_declarations
from bot.content.reader import read_knowledge
from bot.content.statuses import StatusTextError, load_status_texts

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = {
    **yaml.safe_load((ROOT / "domain" / "declarations.yml").read_text()),
    "forms": yaml.safe_load((ROOT / "domain" / "declarations.yml").read_text())["forms"],
}
SETTINGS = yaml.safe_load((ROOT / "knowledge" / "settings.yml").read_text())
KB = read_knowledge(ROOT / "knowledge")[0]
TPINS = ("1002003004", "2003004005", "3004005006", "9999999999")


@pytest.fixture(autouse=True)
def app_db(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMS_DB_URL", f"sqlite:///{tmp_path / 'customs.db'}")
    monkeypatch.delenv("CUSTOMS_DB_SCHEMA", raising=False)
    monkeypatch.delenv("DECLARATION_BACKEND", raising=False)
    for name in ("DECLARATION_MAX_FAILED_PER_CONVERSATION", "DECLARATION_MAX_FAILED_PER_REFERENCE",
                 "DECLARATION_MAX_FAILED_PER_CLIENT", "DECLARATION_MAX_FAILED_PER_TPIN"):
        monkeypatch.delenv(name, raising=False)
    appdb.dispose_engines()
    appdb.init_db()
    seed_demo_declarations()
    yield
    appdb.dispose_engines()


def make_tracker(slots=None, text="", intent="inform", sender="chat-1", requested=None,
                 form="declaration_form", metadata=None):
    slots = {"declaration_reference": None, "declaration_tpin": None,
             "requested_slot": requested, **(slots or {})}
    return Tracker.from_dict({
        "sender_id": sender,
        "slots": slots,
        "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.9},
                           "entities": [], "metadata": metadata},
        "events": [{"event": "user", "text": text}, {"event": "action", "name": form}],
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": form} if form else {},
        "latest_action_name": "action_listen",
    })


def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return events, [m.get("text") or "" for m in dispatcher.messages], dispatcher.messages


# Every lookup says whether updates were offered (actions/notify.py); a tracker without an
# input channel has nowhere to send them.
NO_OFFER = {"notify_offered": False, "notify_offer": None}


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def lookup(reference, tpin, sender="chat-1", client=None):
    """A lookup; `client`: the REST client's address, as the REST channel passes it."""
    from bot.channels.identity import CLIENT_KEY, client_identity

    metadata = {CLIENT_KEY: client_identity(client)} if client else None
    tracker = make_tracker({"declaration_reference": reference, "declaration_tpin": tpin},
                           sender=sender, form=None, metadata=metadata)
    return run(ActionCheckDeclaration(), tracker)


# --- the lookup -------------------------------------------------------------------------------

EXPECTED = [
    ("2026 LSK C 10452", "1002003004", ["assessed", "pay"]),
    ("2026 CHR C 20871", "1002003004", ["released", "green"]),
    ("2026 KZL C 3310", "2003004005", ["red lane", "physical examination"]),
    ("2026 NAK C 77", "2003004005", ["query", "submit", "invoice"]),
    ("2026 KAS C 5120", "3004005006", ["registered", "assessment"]),
    ("2025 LSK C 99881", "3004005006", ["cancelled"]),
]


@pytest.mark.parametrize("reference, tpin, words", EXPECTED)
def test_each_demo_record(reference, tpin, words):
    events, texts, messages = lookup(reference, tpin)
    answer = texts[0].lower()
    for word in words:
        assert word in answer
    assert reference.lower() in answer
    assert "last change:" in answer
    assert "******" + tpin[-4:] in texts[0]
    assert all(tpin not in t for t in texts)
    assert slot_events(events) == {"declaration_tpin": None, "declaration_reference": None,
                                   "declaration_retry_reference": None, **NO_OFFER}
    assert "another declaration" in texts[1] and messages[1]["buttons"]


def test_status_answer_is_built_from_messages_and_statuses_yml():
    statuses = yaml.safe_load((ROOT / "knowledge" / "statuses.yml").read_text())
    released = statuses["statuses"]["released"]
    _, texts, messages = lookup("2026 CHR C 20871", "1002003004")
    lines = texts[0].splitlines()
    assert lines[:4] == [
        "Declaration 2026 CHR C 20871 (TPIN ******3004): released.",
        f"Lane: {statuses['lanes']['green']}",
        f"What happens next: {released['next']}",
        f"What you should do: {released['action']}",
    ]
    assert re.fullmatch(r"Last change: \d{1,2} [A-Z][a-z]+ \d{4}\.", lines[4]) and len(lines) == 5
    assert messages[1]["text"] == "Would you like to check another declaration?"
    assert messages[1]["buttons"] == [{"title": "Yes, check another", "payload": "/affirm"},
                                      {"title": "No, thanks", "payload": "/deny"}]


def test_every_status_action_stands_on_its_own():
    """A status's action is shown in a lookup, with a lane line or without one (the lane is
    optional), and in notifications, which have none: it may not send the reader to a line
    above or below (the paid status said "below", then "above")."""
    from bot.notify.text import notice

    texts = load_status_texts()
    for status in texts.statuses:
        told = notice("2026 KZL C 3310", status, datetime(2026, 12, 1)).text
        assert "Lane" not in told
        for word in ("above", "below"):
            assert word not in told.lower(), (status, told)
    _, lookup_texts, _ = lookup("2026 KZL C 3310", "2003004005")
    assert "above" not in lookup_texts[0] and "below" not in lookup_texts[0]


def test_declaration_wording_edits_in_messages_yml_are_live(private_knowledge):
    path = private_knowledge / "messages.yml"
    path.write_text(path.read_text().replace(
        "I couldn't find a declaration with that reference for TPIN {tpin}.",
        "No declaration matches that reference and TPIN {tpin}."))
    _, texts, _ = lookup("2026 LSK C 10452", "9999999999")
    assert texts[0].startswith("No declaration matches that reference and TPIN ******9999.")


@pytest.mark.parametrize("reference, tpin, words", EXPECTED)
def test_answers_show_no_amounts_goods_or_names(reference, tpin, words):
    import dataclasses
    import re

    from actions.declarations.backends.base import DeclarationStatus

    fields = {f.name for f in dataclasses.fields(DeclarationStatus)}
    assert fields == {"reference", "status", "lane", "last_changed"}
    _, texts, _ = lookup(reference, tpin)
    # Apart from the reference, the masked TPIN and the date, the answer holds no number.
    rest = texts[0].replace(reference, "").replace("******" + tpin[-4:], "")
    rest = re.sub(r"Last change: \d{1,2} [A-Z][a-z]+ \d{4}\.", "", rest)
    assert not re.search(r"[0-9]", rest), rest


def test_wrong_tpin_and_unknown_reference_identical():
    wrong_tpin = lookup("2026 LSK C 10452", "9999999999", sender="a")
    unknown_ref = lookup("2026 LSK C 99999", "9999999999", sender="b")
    assert wrong_tpin[1] == unknown_ref[1]
    # the same events but the reference kept to retry, each the person's own
    retry = "declaration_retry_reference"
    assert [slot_events(wrong_tpin[0])[retry], slot_events(unknown_ref[0])[retry]] == [
        "2026 LSK C 10452", "2026 LSK C 99999"]
    assert ([e for e in wrong_tpin[0] if e.get("name") != retry]
            == [e for e in unknown_ref[0] if e.get("name") != retry])
    assert "******9999" in wrong_tpin[1][0]
    assert "9999999999" not in " ".join(wrong_tpin[1])


NOT_FOUND = ("I couldn't find a declaration with that reference for TPIN ******9999. Please "
             "check both: the TPIN must be the declarant's or the consignee's.")
LIMIT = ("For your security, I can't check this declaration online after several unsuccessful "
         "tries. Please try again later, or ask a person: ")


def test_limit_per_conversation_points_to_contact_centre():
    for _ in range(2):
        _, texts, _ = lookup("2026 LSK C 10452", "9999999999")
        assert texts[0] == NOT_FOUND
    _, texts, _ = lookup("2026 LSK C 10452", "9999999999")  # third failure reaches the limit
    assert texts[0] == NOT_FOUND + "\n\n" + LIMIT + KB.message("handoff")
    assert KB.shown_settings()["contact_phone"] in texts[0]  # the number, or its fallback
    events, texts, _ = lookup("2026 LSK C 10452", "1002003004")  # even the right TPIN now
    assert "for your security" in texts[0].lower()
    assert KB.shown_settings()["contact_phone"] in texts[0]  # the number, or its fallback
    assert "assessed" not in texts[0]
    assert slot_events(events)["declaration_tpin"] is None


def test_once_locked_out_nothing_more_is_asked_or_offered():
    """After the limit the bot still offered "check another?", then asked a reference and a
    TPIN, and only then refused."""
    for _ in range(3):
        _, texts, messages = lookup("2026 LSK C 10452", "9999999999")
    assert texts[0].endswith(KB.message("handoff")) and len(messages) == 1  # no offer after it
    starting = make_tracker(text="check my declaration 2026 LSK C 10452",
                            intent="check_declaration_status")
    form = ValidateDeclarationForm()
    events, texts, _ = run(form, starting)
    assert slot_events(events) == {"requested_slot": None} and texts == []  # the form ends
    events, texts, _ = run(ActionCheckDeclaration(), make_tracker(form=None))
    assert texts == [LIMIT + KB.message("handoff")]
    assert slot_events(events)["declaration_reference"] is None
    other = make_tracker(text="check my declaration 2026 LSK C 10452",
                         intent="check_declaration_status", sender="chat-2")
    assert slot_events(run(form, other)[0]) == {"declaration_reference": "2026 LSK C 10452"}


def test_wrong_tpins_from_fresh_conversations_never_lock_the_owner_out():
    """15 wrong TPINs on one reference from fresh senders used to lock its owner out."""
    for i in range(15):
        _, texts, _ = lookup("2026 CHR C 20871", f"90000000{i:02d}", sender=f"fresh-{i}",
                             client="203.0.113.7")
    assert "for your security" in texts[0].lower()  # the attacker is stopped
    _, texts, _ = lookup("2026 CHR C 20871", "1002003004", sender="owner",
                         client="198.51.100.20")
    assert "released" in texts[0]


def test_walking_references_with_one_tpin_stops_after_five_whatever_the_sender_id():
    """References are sequential and TPINs printed on invoices: one TPIN walked references
    from fresh sender ids (1 of 30 tries limited)."""
    replies = [lookup(f"2026 LSK C {10_440 + n}", "1002003004", sender=f"walk-{n}",
                      client="203.0.113.7")[1][0] for n in range(30)]
    limited = [n for n, text in enumerate(replies) if "for your security" in text.lower()]
    assert limited == list(range(4, 30))  # the fifth failure says so, then nothing is looked up
    assert all(text.startswith(LIMIT) for text in replies[5:])
    # Even the TPIN's own reference (10452 is among them) is not answered to the walker...
    assert not any("assessed" in text for text in replies)
    # ...but it is to its owner, from another address.
    _, texts, _ = lookup("2026 LSK C 10452", "1002003004", sender="owner",
                         client="198.51.100.20")
    assert "assessed" in texts[0]


def test_the_rest_client_identity_cannot_be_forged_in_metadata():
    """Only the value the channel makes (a keyed hash) counts; anything else is the sender."""
    from bot.channels.identity import CLIENT_KEY, person_of

    assert person_of("web-1", {CLIENT_KEY: "198.51.100.20"}) == "web-1"
    assert person_of("whatsapp:260977", {CLIENT_KEY: "client:" + "0" * 32}) == "whatsapp:260977"
    assert person_of("web-1", None) == "web-1"


@pytest.mark.parametrize("fault", [StatusServiceUnavailable("down"), RuntimeError("bug")])
def test_backend_outage_gives_clear_message(monkeypatch, fault):
    class Broken:
        name = "broken"

        def lookup(self, reference, tpin):
            raise fault

    monkeypatch.setattr("actions.declarations.form.get_backend", lambda: Broken())
    events, texts, _ = lookup("2026 LSK C 10452", "1002003004")
    assert texts == [
        "Sorry, the declaration status service is unavailable at the moment, please try again "
        "later. " + KB.message("handoff")
    ]
    assert KB.shown_settings()["contact_phone"] in texts[0]  # the number, or its fallback
    assert slot_events(events) == {"declaration_tpin": None, "declaration_reference": None,
                                   "declaration_retry_reference": None, **NO_OFFER}


def test_http_backend_pointing_at_dead_port_gives_outage_message(monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("DECLARATION_BACKEND", "http")
    monkeypatch.setenv("CUSTOMS_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CUSTOMS_API_BACKOFF", "0")
    _, texts, _ = lookup("2026 LSK C 10452", "1002003004")
    assert "unavailable" in texts[0]


def test_database_down_gives_outage_message(monkeypatch):
    monkeypatch.setenv("CUSTOMS_DB_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/none")
    appdb.dispose_engines()
    _, texts, _ = lookup("2026 LSK C 10452", "1002003004")
    assert "unavailable" in texts[0]


def test_masked_tpin_is_not_looked_up():
    events, texts, _ = lookup("2026 LSK C 10452", "******3004")
    assert "again" in texts[0]
    assert slot_events(events)["declaration_tpin"] is None


# --- the form -------------------------------------------------------------------------------

def validate(text, intent="inform", requested=None, slots=None):
    return run(ValidateDeclarationForm(), make_tracker(slots, text, intent, requested=requested))


def test_first_message_with_reference_and_tpin_fills_both():
    events, texts, _ = validate("has LSK/2026/C/10452 been released? tpin 1002003004",
                                intent="check_declaration_status")
    assert slot_events(events) == {"declaration_reference": "2026 LSK C 10452",
                                   "declaration_tpin": "1002003004"}
    assert texts == []


def test_first_message_with_reference_only():
    events, _, _ = validate("has 2026 CHR C 20871 been released?", "check_declaration_status")
    assert slot_events(events) == {"declaration_reference": "2026 CHR C 20871"}


def test_a_lookup_that_finds_nothing_keeps_its_reference_to_retry_and_one_that_finds_forgets():
    events, _, _ = lookup("2026 LSK C 10452", "9999999999")
    assert slot_events(events)["declaration_retry_reference"] == "2026 LSK C 10452"
    assert slot_events(events)["declaration_tpin"] is None
    events, _, _ = lookup("2026 LSK C 10452", "1002003004")
    assert slot_events(events)["declaration_retry_reference"] is None


RETRY = {"declaration_retry_reference": "2026 LSK C 10452"}


NOT_FOUND_TURN = [{"event": "user", "text": "1002003005"},
                  {"event": "action", "name": "declaration_form"},
                  {"event": "action", "name": "action_check_declaration"},
                  {"event": "action", "name": "action_listen"}]


def retry_tracker(text, notes, slots=RETRY, requested=None, before=NOT_FOUND_TURN):
    tracker = make_tracker(slots, text, "check_declaration_status", requested=requested)
    tracker.latest_message["understanding"] = notes
    tracker.events = [*before, {"event": "user", "text": text}]
    return tracker


def test_a_tpin_alone_after_a_failed_lookup_checks_that_reference_again():
    """"sorry wrong tpin, its 1002003004" after "couldn't find": it was read as the contact
    centre (a phone number), and the person had to start over."""
    events, texts, _ = run(ValidateDeclarationForm(), retry_tracker(
        "sorry wrong tpin, its 1002003004", {"tpin_only": True}))
    assert slot_events(events) == {"declaration_reference": "2026 LSK C 10452",
                                   "declaration_tpin": "1002003004"}
    assert texts == [KB.message("declaration_retry").format(reference="2026 LSK C 10452")]


LATER = [*NOT_FOUND_TURN, {"event": "user", "text": "what is the vat rate"},
         {"event": "action", "name": "action_answer_knowledge"}]


@pytest.mark.parametrize(("notes", "slots", "requested", "before"), [
    ({}, RETRY, None, NOT_FOUND_TURN),  # not a TPIN alone ("check my declaration, tpin ...")
    ({"tpin_only": True}, {}, None, NOT_FOUND_TURN),  # no lookup failed before
    ({"tpin_only": True}, RETRY, "declaration_reference", NOT_FOUND_TURN),  # a form question
    ({"tpin_only": True}, RETRY, None, LATER),  # other questions since: a check of its own
])
def test_without_a_failed_lookup_just_before_a_tpin_waits_for_its_reference(notes, slots,
                                                                            requested, before):
    events, texts, _ = run(ValidateDeclarationForm(), retry_tracker(
        "1002003004", notes, slots, requested, before))
    assert not slot_events(events).get("declaration_reference")
    assert all("again with" not in t for t in texts)


def test_tpin_before_reference_is_asked_again_later():
    events, texts, _ = validate("check my declaration, tpin 1002003004",
                                intent="check_declaration_status")
    assert slot_events(events)["declaration_tpin"] is None
    assert "reference" in texts[0]
    assert all("1002003004" not in t for t in texts)


def test_malformed_reference_reprompts_with_example():
    events, texts, _ = validate("LSK 10452", requested="declaration_reference")
    assert slot_events(events) == {"declaration_reference": None}
    assert "2026 LSK C 10452" in texts[0] and "year" in texts[0]
    assert texts[0].startswith("Sorry, that reference doesn't look right: ")
    assert texts[0].endswith(". It looks like 2026 LSK C 10452: the year, the office code, the "
                             "series letter and the number.")
    _, texts, _ = validate("my reference please", requested="declaration_reference")
    assert texts == ["I need the declaration reference. It looks like 2026 LSK C 10452: the "
                     "year, the office code, the series letter and the number."]


def test_reference_given_when_asked():
    events, _, _ = validate("c10452 lsk 2026", intent="nlu_fallback",
                            requested="declaration_reference")
    assert slot_events(events) == {"declaration_reference": "2026 LSK C 10452"}


@pytest.mark.parametrize("text, reason", [("12345", "has 5"), ("123456/78/9", "NRC")])
def test_bad_tpin_reprompts(text, reason):
    events, texts, _ = validate(text, requested="declaration_tpin",
                                slots={"declaration_reference": "2026 LSK C 10452"})
    assert slot_events(events) == {"declaration_tpin": None}
    assert reason in texts[0] and "10-digit" in texts[0]


@pytest.mark.parametrize("text, count", [("10020030041", 11), ("100200300", 9),
                                         ("100200300412", 12), ("1002 0030 041", 11),
                                         ("1002-0030-0412", 12)])
def test_a_wrong_length_number_at_the_tpin_question_is_told_its_length(text, count):
    # The model reads a bare number as the contact-centre entry (a phone number): at the TPIN
    # question it is the TPIN, typed wrongly, not a knowledge question.
    events, texts, _ = validate(text, intent="kb_contact_customer_support",
                                requested="declaration_tpin",
                                slots={"declaration_reference": "2026 LSK C 10452"})
    assert slot_events(events) == {"declaration_tpin": None}
    assert texts == [KB.message("declaration_tpin_invalid", reason=(
        f"a TPIN has exactly 10 digits, and that has {count}"))]


def test_a_tpin_read_as_the_contact_centre_entry_is_still_taken():
    events, texts, _ = validate("1002003004", intent="kb_contact_customer_support",
                                requested="declaration_tpin",
                                slots={"declaration_reference": "2026 LSK C 10452"})
    assert slot_events(events) == {"declaration_tpin": "1002003004"}
    assert texts == []


def test_tpin_given_when_asked():
    events, texts, _ = validate("100 200 3004", requested="declaration_tpin",
                                slots={"declaration_reference": "2026 LSK C 10452"})
    assert slot_events(events) == {"declaration_tpin": "1002003004"}
    assert texts == []


def test_masked_tpin_from_an_earlier_turn_counts_as_not_given():
    events, texts, _ = validate("I am still here", intent="greet",
                                requested="declaration_tpin",
                                slots={"declaration_reference": "2026 LSK C 10452",
                                       "declaration_tpin": "******3004"})
    assert slot_events(events) == {"declaration_tpin": None}
    assert texts == []


@pytest.mark.parametrize("intent", ["greet", "stop", "request_human", "stop_notifications"])
def test_other_intents_are_ignored_without_error(intent):
    events, texts, _ = validate("what documents do I need for an import?", intent=intent,
                                requested="declaration_reference")
    assert events == [] and texts == []


@pytest.mark.parametrize("requested", ["declaration_reference", "declaration_tpin"])
def test_a_knowledge_question_inside_the_form_is_answered_and_the_question_asked_again(
        requested):
    from bot.content.answers import answer_text

    events, texts, _ = validate("what documents do I need for an import?",
                                intent="kb_documents_required_for_import", requested=requested,
                                slots={"declaration_reference": "2026 LSK C 10452"}
                                if requested == "declaration_tpin" else None)
    assert events == [SlotSet(requested, None)]
    assert texts == [answer_text(KB, "documents_required_for_import"),
                     KB.message("form_resume")]


@pytest.mark.parametrize("text", ["hold on, let me look for the reference",
                                  "wait i'm checking with my agent", "just a moment please"])
def test_a_pause_inside_the_form_is_not_answered_as_a_knowledge_question(text):
    # The model reads "reference" as the reference-format entry: the person is finding it.
    events, texts, _ = validate(text, intent="kb_declaration_reference_format",
                                requested="declaration_reference")
    assert events == [SlotSet("declaration_reference", None)]
    assert texts == [KB.message("form_not_an_answer")]


def test_a_question_after_a_pause_is_still_answered():
    from bot.content.answers import answer_text

    events, texts, _ = validate("wait, where do i find the reference?",
                                intent="kb_declaration_reference_format",
                                requested="declaration_reference")
    assert events == [SlotSet("declaration_reference", None)]
    assert texts == [answer_text(KB, "declaration_reference_format"),
                     KB.message("form_resume")]


def test_another_language_inside_the_form_is_told_and_the_question_asked_again():
    events, texts, _ = validate("Ndikufuna kudziwa za msonkho", intent="other_language",
                                requested="declaration_reference")
    assert events == [SlotSet("declaration_reference", None)]
    assert texts == [KB.message("other_language")]


def test_knowledge_question_with_a_reference_still_fills_it():
    events, _, _ = validate("2026 LSK C 10452", intent="kb_pay_duty",
                            requested="declaration_reference")
    assert slot_events(events) == {"declaration_reference": "2026 LSK C 10452"}


def test_injection_and_huge_input_are_rejected_safely():
    for text in ("' OR '1'='1", "x' UNION SELECT consignee_tpin --", "9" * 100_000):
        events, texts, _ = validate(text, requested="declaration_reference")
        assert slot_events(events) == {"declaration_reference": None}
        assert len(texts) == 1 and len(texts[0]) < 300
    # Only the canonical reference found in the text goes on; the rest never reaches a query.
    events, _, _ = validate("2026 LSK C 1; DROP TABLE declarations",
                            requested="declaration_reference")
    assert slot_events(events) == {"declaration_reference": "2026 LSK C 1"}


def test_cancel_stops_the_form_and_forgets():
    events, texts, _ = run(ActionCancelDeclaration(), make_tracker(
        {"declaration_reference": "2026 LSK C 10452"}, "never mind", "stop"))
    assert ActiveLoop(None) in events
    assert SlotSet("declaration_reference", None) in events
    assert SlotSet("declaration_tpin", None) in events
    assert texts == ["Okay, I've stopped the declaration check. What else can I help you with?"]


# --- support-staff wording -------------------------------------------------------------------

def test_status_texts_cover_every_status_and_lane():
    texts = load_status_texts()
    assert {"registered", "assessed", "paid", "query", "released", "cancelled"} <= set(
        texts.statuses
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ("statuses: [", "YAML syntax error"),
        ("- a list", "'statuses:' and 'lanes:'"),
        ("statuses: {}\nlanes: {}", "status 'stored' is missing"),
    ],
)
def test_malformed_status_texts_fail_clearly(tmp_path, content, message):
    path = tmp_path / "statuses.yml"
    path.write_text(content)
    with pytest.raises(StatusTextError) as error:
        load_status_texts(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_missing_field_is_named(tmp_path):
    data = yaml.safe_load((ROOT / "knowledge" / "statuses.yml").read_text())
    del data["statuses"]["query"]["action"]
    path = tmp_path / "statuses.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(StatusTextError, match="status 'query' needs a text for 'action'"):
        load_status_texts(path)


def test_malformed_status_texts_give_outage_message_not_exception(tmp_path, monkeypatch):
    bad = tmp_path / "knowledge"
    bad.mkdir()
    for name in ("settings.yml", "messages.yml"):
        (bad / name).write_text((ROOT / "knowledge" / name).read_text())
    (bad / "statuses.yml").write_text("statuses: [")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(bad))
    _, texts, _ = lookup("2026 LSK C 10452", "1002003004")
    assert "unavailable" in texts[0]


def test_stop_worded_like_a_pause_still_leaves_the_declaration_form():
    # "let me stop here" is a training example of the stop intent (data/nlu/core.yml).
    for text in ("let me stop here", "wait, cancel that"):
        events, texts, _ = validate(text, intent="stop", requested="declaration_reference")
        assert texts == [], text
    _, texts, _ = validate("wait, let me find it", intent="greet",
                           requested="declaration_reference")
    assert texts  # a pause: the not-an-answer note, and the form asks again


@pytest.mark.parametrize(("text", "requested", "key"), [
    ("Peter Banda", "declaration_tpin", "declaration_tpin_invalid"),
    ("Peter Banda", "declaration_reference", "declaration_reference_missing"),
])
def test_a_few_words_outside_customs_at_the_forms_question_are_a_wrong_answer(text, requested,
                                                                                key):
    """They got "I can only help with customs questions", as if the person had asked one."""
    events, texts, _ = validate(text, intent="out_of_scope", requested=requested)
    assert slot_events(events) == {requested: None}
    said = KB.message(key).split("{")[0]
    assert len(texts) == 1 and texts[0].startswith(said)


def test_a_question_outside_customs_inside_the_form_is_still_one():
    events, texts, _ = validate("what is the weather in lusaka today?", intent="out_of_scope",
                                requested="declaration_tpin")
    assert "declaration_tpin" not in slot_events(events) and texts == []
