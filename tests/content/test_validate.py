"""The validator reports every content mistake as file:line with a fix, never a traceback."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.content.checks import validate

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 29)

SETTINGS = """\
authority_name: Test Revenue Authority
authority_short: TRA
bot_name: Testy
website: https://example.org
contact_phone: "0800 000 000"
contact_email: help@example.org
contact_hours: Monday to Friday
review_after_months: 12
"""


def examples(prefix: str, n: int = 8) -> str:
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
             "india", "juliet", "kilo", "lima"]
    return "\n".join(f"      - {prefix} {words[i]} question number {i}" for i in range(n))


def entry(entry_id: str, prefix: str, n_examples: int = 8, answer: str = "An answer.",
          reviewed: str = "2026-11-01", extra: str = "") -> str:
    return (
        f"  - id: {entry_id}\n"
        f"    question: What about {prefix}?\n"
        f"    examples:\n{examples(prefix, n_examples)}\n"
        f"    answer: {answer}\n"
        f"    source: test facts [confirmed]\n"
        f"    owner: Test Unit\n"
        f"    reviewed: {reviewed}\n"
        f"{extra}"
    )


def make_kb(tmp_path: Path, files: dict[str, str], settings: str = SETTINGS) -> Path:
    """A knowledge folder with `files`, the shipped messages and statuses unless replaced."""
    kb = tmp_path / "knowledge"
    kb.mkdir(parents=True)
    (kb / "settings.yml").write_text(settings)
    for name in ("messages.yml", "statuses.yml"):
        shutil.copyfile(ROOT / "knowledge" / name, kb / name)
    for name, text in files.items():
        (kb / name).write_text(text)
    return kb


def problems(kb: Path) -> list[str]:
    return [str(p) for p in validate(kb, today=TODAY).problems]


def line_of(kb: Path, name: str, needle: str) -> int:
    for number, line in enumerate((kb / name).read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {name}")


def test_clean_knowledge_base_has_no_problems(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n" + entry("one", "tpin")
                            + entry("two", "vat rate")})
    report = validate(kb, today=TODAY)
    assert report.problems == []
    assert report.ok
    assert list(report.kb.entries) == ["one", "two"]
    assert report.kb.entries["one"].category == "A"


def test_yaml_syntax_error_names_file_line_and_hint(tmp_path):
    bad = "category: A\nentries:\n  - id: one\n    question: What: is this\n"
    kb = make_kb(tmp_path, {"a.yml": bad})
    found = problems(kb)
    assert len(found) == 1
    assert found[0].startswith("knowledge/a.yml:4: error: YAML syntax error")
    assert "quotes" in found[0]


def test_tab_indentation_gets_plain_advice(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n\t- id: one\n"})
    found = problems(kb)
    assert len(found) == 1 and "knowledge/a.yml:3:" in found[0] and "tabs" in found[0]


def test_missing_and_empty_fields(tmp_path):
    text = ("category: A\nentries:\n" + entry("one", "tpin").replace(
        "    owner: Test Unit\n", "").replace("answer: An answer.", 'answer: ""'))
    kb = make_kb(tmp_path, {"a.yml": text})
    found = problems(kb)
    assert "knowledge/a.yml:3: error: required field 'owner' is missing" in found
    answer_line = line_of(kb, "a.yml", "answer:")
    assert f"knowledge/a.yml:{answer_line}: error: field 'answer' is empty; write it as a text" \
        in found


def test_unknown_field_is_named_with_suggestion(tmp_path):
    text = "category: A\nentries:\n" + entry("one", "tpin").replace("examples:", "exmaples:")
    kb = make_kb(tmp_path, {"a.yml": text})
    found = problems(kb)
    line = line_of(kb, "a.yml", "exmaples:")
    assert any(p.startswith(f"knowledge/a.yml:{line}: error: unknown field 'exmaples' "
                            "(did you mean 'examples'?)") for p in found)
    assert "knowledge/a.yml:3: error: required field 'examples' is missing: list the ways " \
           "users ask this question" in found


def test_duplicate_ids_across_files(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n" + entry("one", "tpin"),
                            "b.yml": "category: B\nentries:\n" + entry("one", "vat")})
    found = problems(kb)
    assert "knowledge/b.yml:3: error: duplicate id 'one': already used at knowledge/a.yml:3; " \
           "ids must be unique" in found


def test_same_example_under_two_entries(tmp_path):
    second = entry("two", "vat").replace("vat alpha question number 0",
                                         "tpin alpha question number 0")
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n" + entry("one", "tpin") + second})
    found = problems(kb)
    line = [n for n, t in enumerate((kb / "a.yml").read_text().splitlines(), 1)
            if "tpin alpha question number 0" in t][1]
    assert any(p.startswith(f"knowledge/a.yml:{line}: error: example 'tpin alpha question "
                            "number 0' is also under entry 'one'") for p in found)


def test_same_example_differing_only_in_case_and_punctuation(tmp_path):
    second = entry("two", "vat").replace("vat alpha question number 0",
                                         "TPIN Alpha question, number 0?")
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n" + entry("one", "tpin") + second})
    assert any("is also under entry 'one'" in p for p in problems(kb))


def test_near_identical_examples_under_two_entries(tmp_path):
    first = entry("one", "tpin").replace("tpin alpha question number 0",
                                         "how do i register for a tpin online")
    second = entry("two", "vat").replace("vat alpha question number 0",
                                         "how do i register for a tpin onlinee")
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n" + first + second})
    found = problems(kb)
    assert any("is almost the same as 'how do i register for a tpin online' under entry 'one'"
               in p for p in found)


def test_distinct_examples_are_not_flagged_as_near_identical(tmp_path):
    first = entry("one", "tpin").replace("tpin alpha question number 0",
                                         "how is import duty calculated")
    second = entry("two", "vat").replace("vat alpha question number 0",
                                         "what are the import duty bands")
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n" + first + second})
    assert problems(kb) == []


def test_too_few_examples(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n" + entry("one", "tpin", 3)})
    line = line_of(kb, "a.yml", "examples:")
    assert (f"knowledge/a.yml:{line}: error: entry 'one' has 3 example(s); write at least 8 "
            "different ways users ask it") in problems(kb)


def test_invalid_reviewed_date(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n"
                            + entry("one", "tpin", reviewed="2026-13-45")})
    line = line_of(kb, "a.yml", "reviewed:")
    assert (f"knowledge/a.yml:{line}: error: 'reviewed' date '2026-13-45' is not valid; write it "
            "as YYYY-MM-DD, e.g. 2026-11-01") in problems(kb)


def test_answer_longer_than_a_whatsapp_message(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n"
                            + entry("one", "tpin", answer="word " * 900)})
    found = problems(kb)
    assert any("answer is 4499 characters; a WhatsApp message holds at most 4096" in p
               for p in found)


def test_stale_entry_is_a_warning_not_an_error(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n"
                            + entry("one", "tpin", reviewed="2024-01-15")})
    report = validate(kb, today=TODAY)
    assert report.ok
    assert [p.severity for p in report.problems] == ["warning"]
    assert "last reviewed on 2024-01-15, more than 12 months ago" in report.problems[0].message
    assert validate(kb, today=TODAY, review_after_months=48).problems == []


def test_unknown_placeholder_with_suggestion(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n"
                            + entry("one", "tpin", answer="Call {contact_phon} today.")})
    assert any("unknown placeholder {contact_phon} in 'answer' (did you mean 'contact_phone'?)"
               in p for p in problems(kb))


def test_placeholders_are_filled_from_settings(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n"
                            + entry("one", "tpin", answer="Call {contact_phone} ({bot_name}).")})
    report = validate(kb, today=TODAY)
    assert report.kb.fill(report.kb.entries["one"].answer) == "Call 0800 000 000 (Testy)."


def test_placeholder_settings_are_warned(tmp_path):
    settings = SETTINGS.replace('"0800 000 000"', '"[toll-free number]"')
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n" + entry("one", "tpin")},
                 settings=settings)
    found = problems(kb)
    assert len(found) == 1
    assert found[0].startswith("knowledge/settings.yml:5: warning: setting 'contact_phone' is "
                               "still a placeholder")


def test_unknown_related_entry(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": "category: A\nentries:\n" + entry(
        "one", "tpin", extra="    related: [twoo]\n") + entry("two", "vat")})
    assert any("related entry 'twoo' does not exist (did you mean 'two'?)" in p
               for p in problems(kb))


def test_every_problem_reported_in_one_pass(tmp_path):
    broken = ("category: A\nentries:\n"
              + entry("one", "tpin", 2).replace("examples:", "examples:")
              + entry("Bad Id", "vat", reviewed="yesterday"))
    kb = make_kb(tmp_path, {"a.yml": broken, "b.yml": "category: B\nentries: [\n"})
    found = problems(kb)
    assert any("knowledge/b.yml" in p and "YAML syntax error" in p for p in found)
    assert any("has 2 example(s)" in p for p in found)
    assert any("id 'Bad Id' must be lower case" in p for p in found)
    assert any("'reviewed' date 'yesterday' is not valid" in p for p in found)


@pytest.mark.parametrize("content", [
    "category: A\nentries:\n  - just a sentence\n",
    "- a list\n- at the top\n",
    "category: A\nentries:\n  - id: one\n    examples: not a list\n",
    "category: A\nentries:\n  - id: 5\n    question: [1, 2]\n",
    "",
    "category: A\nentries:\n  - id: one\n    id: two\n",
])
def test_odd_shapes_give_messages_not_exceptions(tmp_path, content):
    kb = make_kb(tmp_path, {"a.yml": content})
    found = problems(kb)
    assert found, content
    assert all(p.startswith("knowledge/a.yml:") for p in found)


def test_cli_validate_exit_codes_and_no_traceback(tmp_path):
    good = make_kb(tmp_path / "g", {"a.yml": "category: A\nentries:\n" + entry("one", "tpin")})
    run = subprocess.run([sys.executable, "-m", "bot", "validate", "--knowledge", str(good)],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 entries in 1 category files: 0 error(s), 0 warning(s)" in run.stdout
    bad = make_kb(tmp_path / "b", {"a.yml": "category: A\nentries:\n  - id: x\n    bad: : :\n"})
    run = subprocess.run([sys.executable, "-m", "bot", "validate", "--knowledge", str(bad)],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert "a.yml:4: error: YAML syntax error" in run.stdout



def test_shipped_knowledge_base_is_clean():
    report = validate(ROOT / "knowledge", ROOT / "data")
    assert report.errors == [], "\n".join(map(str, report.errors))


@pytest.mark.parametrize("broken", [
    # a file that is no YAML at all
    "category: B\nentries:\n  - id: two\n    question: What: is this\n",
    # an entry the reader drops (no answer)
    "category: B\nentries:\n" + entry("two", "vat rate").replace("    answer: An answer.\n", ""),
])
def test_one_broken_file_gives_its_own_error_not_missing_related_entries_elsewhere(tmp_path,
                                                                                   broken):
    """A support officer broke b.yml: validate listed "related entry 'two' does not exist" in
    a.yml, which nobody touched, before the real error."""
    ok = "category: A\nentries:\n" + entry("one", "tpin", extra="    related: [two, nine]\n")
    kb = make_kb(tmp_path, {"a.yml": ok, "b.yml": broken})
    found = problems(kb)
    assert found and all("knowledge/b.yml" in p or "'nine'" in p for p in found), found
    assert any("related entry 'nine' does not exist" in p for p in found)  # still checked
