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
    return ask.Asker.load(trained_model)


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
