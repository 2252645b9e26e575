"""The editor's JSON Schemas: generated from the validator's definitions, up to date, named by
every knowledge file, accepting the shipped files and rejecting the validator's error cases."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.content import schema
from bot.content.checks import validate
from bot.content.messages import REQUIRED_MESSAGES
from tests.content.test_validate import SETTINGS, TODAY, entry, make_kb

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"


class EditorLoader(yaml.SafeLoader):
    """YAML 1.2 as the language server reads it: a date is a text, checked by its pattern."""


EditorLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def as_editor_sees(text: str):
    return json.loads(json.dumps(yaml.load(text, Loader=EditorLoader)))  # noqa: S506 - safe


def errors(file_name: str, text: str) -> list[str]:
    validator = jsonschema.Draft7Validator(schema.schemas()[schema.schema_for(file_name)])
    return [e.message for e in validator.iter_errors(as_editor_sees(text))]


def test_the_committed_schema_files_are_up_to_date():
    for name, generated in schema.schemas().items():
        path = KNOWLEDGE / schema.SCHEMA_DIR / name
        assert path.read_text(encoding="utf-8") == schema.render(generated), (
            f"{path} is out of date: run `python -m bot schema`")


def test_every_schema_is_a_valid_draft_7_schema():
    for generated in schema.schemas().values():
        jsonschema.Draft7Validator.check_schema(generated)


@pytest.mark.parametrize("path", sorted(KNOWLEDGE.glob("*.yml")), ids=lambda p: p.name)
def test_every_shipped_file_names_its_schema_and_is_accepted(path):
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == schema.modeline(path.name)
    assert (KNOWLEDGE / text.splitlines()[0].split("$schema=./")[1]).is_file()
    assert errors(path.name, text) == []


def test_the_schema_follows_the_readers_fields():
    entry_schema = schema.entry_schema()
    assert set(entry_schema["properties"]) == {
        "id", "question", "examples", "answer", "source", "owner", "reviewed",
        "short_answer", "related", "links"}
    assert set(entry_schema["required"]) == {
        "id", "question", "examples", "answer", "source", "owner", "reviewed"}
    assert set(schema.messages_schema()["required"]) == set(REQUIRED_MESSAGES)
    assert all(entry_schema["properties"][name]["description"]
               for name in entry_schema["properties"])


def category(*entries: str) -> str:
    return "category: A\nentries:\n" + "".join(entries)


# The validator's error examples (tests/content/test_validate.py), each rejected by the schema.
REJECTED = {
    "missing owner": category(entry("one", "tpin").replace("    owner: Test Unit\n", "")),
    "empty answer": category(entry("one", "tpin").replace("answer: An answer.", 'answer: ""')),
    "unknown field": category(entry("one", "tpin").replace("examples:", "exmaples:")),
    "bad id": category(entry("Bad Id", "vat")),
    "bad date": category(entry("one", "tpin", reviewed="2026-13-45")),
    "not a date": category(entry("one", "tpin", reviewed="yesterday")),
    "too few examples": category(entry("one", "tpin", 3)),
    "examples not a list": "category: A\nentries:\n  - id: one\n    examples: not a list\n",
    "link without https": category(entry("one", "tpin", extra=(
        "    links:\n      - title: Site\n        url: www.example.org\n"))),
    "unknown top field": "categroy: A\nentries: []\n",
    "entry as a sentence": "category: A\nentries:\n  - just a sentence\n",
}


@pytest.mark.parametrize("name", REJECTED)
def test_the_category_schema_rejects_what_validate_calls_an_error(tmp_path, name):
    text = REJECTED[name]
    kb = make_kb(tmp_path, {"a.yml": text})
    assert not validate(kb, today=TODAY).ok, "the example must be an error for validate too"
    assert errors("a.yml", text), f"the schema accepts: {name}"


def test_the_other_schemas_reject_missing_texts():
    assert errors("settings.yml", SETTINGS.replace("contact_email: help@example.org\n", ""))
    assert errors("settings.yml", SETTINGS.replace("review_after_months: 12",
                                                   "review_after_months: twelve"))
    messages = (KNOWLEDGE / "messages.yml").read_text(encoding="utf-8")
    assert errors("messages.yml", "\n".join(line for line in messages.splitlines()
                                            if not line.startswith("greet:")))
    statuses = as_editor_sees((KNOWLEDGE / "statuses.yml").read_text(encoding="utf-8"))
    del statuses["statuses"]["paid"]["action"]
    assert errors("statuses.yml", yaml.safe_dump(statuses))


def test_validate_and_the_reader_accept_the_modeline(tmp_path):
    text = schema.modeline("a.yml") + "\n" + category(entry("one", "tpin"))
    kb = make_kb(tmp_path, {"a.yml": text})
    report = validate(kb, today=TODAY)
    assert report.problems == []
    assert report.kb.entries["one"].line == 4  # lines are still counted from the file's top


def test_the_command_writes_schemas_and_modelines(tmp_path):
    kb = make_kb(tmp_path, {"a.yml": category(entry("one", "tpin"))})
    changed = schema.write_schemas(kb) + schema.add_modelines(kb)
    assert kb / "schema" / "category.json" in changed and kb / "a.yml" in changed
    assert (kb / "settings.yml").read_text().startswith(
        "# yaml-language-server: $schema=./schema/settings.json\n")
    assert schema.write_schemas(kb) + schema.add_modelines(kb) == []  # idempotent
