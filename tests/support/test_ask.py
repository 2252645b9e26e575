"""`python -m bot ask`: what the bot would do with a wording, with the trained model in-process."""

from __future__ import annotations

import re

import pytest

from bot.support import ask
from bot.support.ask import Reply, Verdict


def verdict(text: str, kind: str, entries: list[str], confidence: float = 0.9,
            alternatives: list[tuple[str, float]] | None = None) -> Verdict:
    intent = entries[0] if entries else "out_of_scope"
    return Verdict(text, kind, intent, confidence, entries, alternatives or [("b", 0.05)],
                   [Reply("The answer.", ["Related"])])


def test_the_table_has_one_line_per_wording_with_entry_confidence_and_runner_up():
    out = ask.table([verdict("how do i get a tpin", ask.ANSWER, ["how_to_register_tpin"], 0.97,
                             [("find_my_tpin", 0.02)]),
                     verdict("weather in paris", ask.DECLINE, [], 0.3)]).splitlines()
    assert out[0].split() == ["Wording", "Bot", "would", "Entry", "Conf.", "Next"]
    assert out[2].split() == ["how", "do", "i", "get", "a", "tpin", "answer",
                              "how_to_register_tpin", "0.97", "find_my_tpin", "0.02"]
    assert "decline" in out[3] and " - " in out[3]


def test_the_description_shows_the_reply_with_its_buttons():
    text = ask.describe(verdict("q", ask.ANSWER, ["one"], alternatives=[("two", 0.04)]), 0.4)
    assert "The bot would answer with entry one." in text
    assert "confidence 0.90; the bot answers from 0.40" in text
    assert "Next: two 0.04" in text
    assert text.endswith("What the user sees:\n  The answer.\n  [Related]")


def test_question_files_skip_blank_lines_and_comments(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("# wordings from the phone log\nhow do i get a tpin\n\n  vat rate?  \n")
    assert ask.read_questions(path) == ["how do i get a tpin", "vat rate?"]


@pytest.fixture(scope="module")
def asker(trained_model):
    ask.import_quickly()
    with ask.scratch_app_database():
        yield ask.Asker.load(trained_model)


PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def test_a_clear_question_is_answered_with_settings_filled_in(asker):
    asker.reset()
    v = asker.ask("how do i register for a tpin")
    assert v.kind == ask.ANSWER and v.entries == ["how_to_register_tpin"]
    assert v.confidence >= asker.threshold
    assert len(v.alternatives) == 3 and "how_to_register_tpin" not in dict(v.alternatives)
    assert "https://www.zra.org.zm" in v.replies[0].text
    assert not PLACEHOLDER.search(v.replies[0].text)
    assert v.replies[0].buttons  # the related entries


def test_out_of_scope_is_declined_and_a_person_is_handed_over(asker):
    asker.reset()
    assert asker.ask("who won the football world cup in 2010").kind in (ask.DECLINE,
                                                                          ask.CLARIFY)
    asker.reset()
    v = asker.ask("i want to talk to a person")
    assert v.kind == ask.HAND_OVER
    assert v.replies[-1].text == "What is your name?"
    assert asker.in_form


def test_another_language_is_said_so(asker):
    asker.reset()
    assert asker.ask("bonjour, comment puis-je payer les droits de douane").kind == ask.LANGUAGE


def test_a_conversation_reads_follow_ups_in_context(asker):
    asker.reset()
    assert asker.ask("is there vat on the fridges im bringing from sa").entries == [
        "import_vat_rate"]
    follow_up = asker.ask("and excise?")
    assert follow_up.entries == ["excise_duty_goods"]
    assert follow_up.notes["follow_up_of"] == "import_vat_rate"
    asker.reset()  # the same words alone have no previous answer to lean on
    assert asker.ask("and excise?").notes.get("follow_up_of") is None


def test_the_command_prints_a_table_for_a_file_and_the_time_to_first_answer(
        trained_model, tmp_path, capsys):
    questions = tmp_path / "q.txt"
    questions.write_text("how do i register for a tpin\nwhat is the vat rate on imports\n")
    assert ask.main([], file=questions, timing=True, model=trained_model) == 0
    out = capsys.readouterr().out
    assert re.search(r"how do i register for a tpin\s+answer\s+how_to_register_tpin", out)
    assert re.search(r"Time to first answer: \d+\.\d s", out)


def test_nothing_to_ask_is_said_plainly(capsys):
    assert ask.main([]) == 1
    assert "Nothing to ask" in capsys.readouterr().out


def _browse() -> str:
    """The payload of the first category's button."""
    import json

    from bot.content.live import get_knowledge

    return "/browse_category" + json.dumps({"category": get_knowledge().categories[0].name})


def _conversations() -> list[list[str]]:
    """Turns whose action the rules choose in different ways: a button payload, a vote after
    an answer, a follow-up, a miss then a second miss (the form starts), a greeting."""
    return [["hello", "how do i register for a tpin", "/feedback_helpful"],
            [_browse()],
            ["what is the vat rate on imports", "and excise?", "thanks"],
            ["who won the football world cup in 2010", "what is the weather in lusaka"],
            ["i want to talk to a person"]]


@pytest.mark.conversation
def test_ask_replies_exactly_as_the_running_bot(asker, bot_server):
    """No second table of what follows what: every turn's messages and buttons are the ones the
    running bot sends over REST for the same conversation."""
    for n, lines in enumerate(_conversations()):
        asker.reset()
        for text in lines:
            mine = [(r.text, r.buttons) for r in asker.ask(text).replies]
            sent = bot_server.send(f"ask-parity-{n}", text)
            theirs = [(m.get("text") or "", [b.get("title") for b in m.get("buttons") or []])
                      for m in sent]
            assert mine == theirs, text


def test_a_browse_button_lists_the_category_as_the_rules_say(asker):
    asker.reset()
    v = asker.ask(_browse())
    assert v.kind == ask.REPLY and v.replies and len(v.replies[-1].buttons) >= 2


def test_trying_wordings_records_no_vote(trained_model, app_db, capsys):
    from bot.appdb.votes import vote_counts

    assert ask.main(["how do i register for a tpin", "/feedback_helpful"], conversation=True,
                    model=trained_model) == 0
    assert "Thank" in capsys.readouterr().out  # the vote was taken, in the scratch database
    assert vote_counts() == {}


def test_a_broken_knowledge_file_is_reported_with_its_line_and_nothing_is_asked(
        private_knowledge, capsys):
    with open(private_knowledge / "duties.yml", "a", encoding="utf-8") as f:
        f.write("\n  - id: [broken\n")
    assert ask.main(["how do i get a tpin"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"duties\.yml:\d+: error: YAML syntax error", out)
    assert "run `make validate`" in out and "The bot would" not in out


def test_a_question_file_that_is_not_utf8_is_said_plainly(tmp_path, capsys):
    path = tmp_path / "q.txt"
    path.write_bytes(b"\xff\xfe how do i get a tpin\n")
    assert ask.main([], file=path) == 1
    out = capsys.readouterr().out
    assert "Cannot read" in out and "UTF-8" in out


def test_an_empty_question_is_nothing_to_ask(capsys):
    """The REST channel refuses an empty message (400): ask must not invent a reply for it."""
    assert ask.main(["", "   "]) == 1
    assert "Nothing to ask" in capsys.readouterr().out
