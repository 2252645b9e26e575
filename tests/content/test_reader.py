"""Reading one entry: which problems drop it and which only fall back (the reader's rule)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.content.model import ENTRY_FIELDS, REQUIRED_FIELDS, KnowledgeBase
from bot.content.reader import FIELD_CHECKS, read_knowledge
from bot.content.text import normalise, suggest

ENTRY = """\
category: A
entries:
  - id: one
    question: What about it?
    examples:
      - first way to ask
      - second way to ask
    answer: An answer.
    source: test facts
    owner: Test Unit
    reviewed: 2026-11-01
"""


def read(tmp_path, text: str):
    kb_dir = tmp_path / "knowledge"
    kb_dir.mkdir()
    (kb_dir / "a.yml").write_text(text)
    kb, problems = read_knowledge(kb_dir)
    return kb.entries.get("one"), [p.message for p in problems if p.file == "knowledge/a.yml"]


def test_every_entry_field_has_exactly_one_checker():
    assert sorted(FIELD_CHECKS) == sorted(ENTRY_FIELDS)
    assert {name for name, c in FIELD_CHECKS.items() if c.required} == set(REQUIRED_FIELDS)


def test_a_clean_entry_is_read_with_its_lines(tmp_path):
    entry, problems = read(tmp_path, ENTRY)
    assert problems == []
    assert entry.examples == ["first way to ask", "second way to ask"]
    assert entry.example_lines == [6, 7]
    assert entry.reviewed == dt.date(2026, 11, 1)
    assert (entry.line, entry.field_lines["answer"]) == (3, 8)
    assert (entry.short_answer, entry.related, entry.links) == (None, [], [])


@pytest.mark.parametrize("old, new, message", [
    ("    owner: Test Unit\n", "", "required field 'owner' is missing"),
    ("answer: An answer.", "answer: [1, 2]", "field 'answer' is not a text; write it as a text"),
    ("question: What about it?", 'question: ""', "field 'question' is empty; write it as a text"),
    ("examples:\n      - first way to ask\n      - second way to ask", "examples: one way",
     "'examples' must be a list, one '- ' line each"),
    ("    reviewed: 2026-11-01\n", "", "required field 'reviewed' is missing: the date the answer "
     "was last checked, e.g. 2026-11-01"),
])
def test_problems_that_drop_the_entry(tmp_path, old, new, message):
    entry, problems = read(tmp_path, ENTRY.replace(old, new))
    assert entry is None
    assert problems == [message]


def test_a_malformed_id_drops_the_entry(tmp_path):
    kb_dir = tmp_path / "knowledge"
    kb_dir.mkdir()
    (kb_dir / "a.yml").write_text(ENTRY.replace("id: one", "id: One"))
    kb, problems = read_knowledge(kb_dir)
    assert kb.entries == {}
    assert [p.message for p in problems if p.file == "knowledge/a.yml"] == [
        "id 'One' must be lower case letters, digits and '_', starting with a letter "
        "(e.g. what_is_tpin)"]


@pytest.mark.parametrize("old, new, message, kept", [
    ("reviewed: 2026-11-01", "reviewed: 2026-13-45",
     "'reviewed' date '2026-13-45' is not valid; write it as YYYY-MM-DD, e.g. 2026-11-01",
     ("reviewed", None)),
    ("    reviewed:", "    short_answer: [x]\n    reviewed:", "'short_answer' must be a text",
     ("short_answer", None)),
    ("    reviewed:", "    related: what_is_tpin\n    reviewed:",
     "'related' must be a list of entry ids, e.g. [what_is_tpin]", ("related", [])),
    ("    reviewed:", "    links:\n      - title: Site\n    reviewed:",
     "each link needs a 'title' and a 'url'", ("links", [])),
    ("      - second way to ask", "      - ''", "an example is empty or not a text",
     ("examples", ["first way to ask"])),
    ("    reviewed:", "    answr: typo\n    reviewed:",
     "unknown field 'answr' (did you mean 'answer'?); allowed fields: " + ", ".join(ENTRY_FIELDS),
     ("answer", "An answer.")),
])
def test_problems_that_keep_the_entry_with_a_fallback(tmp_path, old, new, message, kept):
    entry, problems = read(tmp_path, ENTRY.replace(old, new))
    assert problems == [message]
    assert entry is not None and getattr(entry, kept[0]) == kept[1]


def test_link_problems_keep_the_link_when_it_has_title_and_url(tmp_path):
    links = ("    links:\n      - title: Site\n        url: ftp://example.org\n        icon: x\n"
             "    reviewed:")
    entry, problems = read(tmp_path, ENTRY.replace("    reviewed:", links))
    assert problems == ["unknown link field 'icon'; a link has only 'title' and 'url'",
                        "link url 'ftp://example.org' must start with https://"]
    assert entry.links == [{"title": "Site", "url": "ftp://example.org"}]


def test_messages_fill_settings_and_the_values_the_code_gives():
    kb = KnowledgeBase({}, [], {"contact_phone": "0800", "name": "from settings"},
                       messages={"ticket": "Thanks {name}, ticket {ticket}; call {contact_phone}."
                                 " {unknown} stays."})
    assert kb.message("ticket", name="Mary", ticket="T-1") == (
        "Thanks Mary, ticket T-1; call 0800. {unknown} stays.")
    assert kb.message("absent") == ""


def test_text_helpers():
    assert normalise("  How do I PAY duty?? ") == "how do i pay duty"
    assert suggest("exmaples", ENTRY_FIELDS) == " (did you mean 'examples'?)"
    assert suggest("zzz", ENTRY_FIELDS) == ""


def _bad_file(tmp_path, raw: bytes):
    from bot.content.yaml_lines import YamlError, load_yaml

    path = tmp_path / "duties.yml"
    path.write_bytes(raw)
    with pytest.raises(YamlError) as caught:
        load_yaml(path)
    return caught.value


def test_a_byte_that_is_not_utf8_is_reported_on_its_own_line(tmp_path):
    """A Windows-1252 'é' pasted into line 3 was reported at line 1."""
    error = _bad_file(tmp_path, b"category: Duties\nentries:\n  - id: caf\xe9_duty\n")
    assert error.line == 3
    assert "not UTF-8" in error.message


def test_a_control_character_is_reported_on_its_own_line_in_plain_words(tmp_path):
    """A NUL pasted into line 3 was reported at line 1 with YAML's 'position 40' text."""
    error = _bad_file(tmp_path, b"category: Duties\nentries:\n  - id: a\x00b\n")
    assert error.line == 3
    assert "position" not in error.message and "\n" not in error.message
    assert "invisible character" in error.message
