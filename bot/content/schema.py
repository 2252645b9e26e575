"""JSON Schemas of the knowledge files, for help while typing in an editor.

An editor with the YAML language server (VS Code's YAML extension) reads `knowledge/schema/*.json`
through the modeline on each file's first line, completes field names and flags a missing
`source` or a bad date as the officer types. The schemas are generated from the definitions the
validator itself uses (the reader's FIELD_CHECKS, the model's field and settings names, the
message keys, the status codes), so they cannot drift from `validate`: a test fails when the
generated files are out of date. `validate` stays the authority; the schema is a first help.

    python -m bot schema      # rewrites knowledge/schema/*.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.content import reader
from bot.content.checks import MAX_ANSWER_CHARS, MAX_SHORT_ANSWER_CHARS, MIN_EXAMPLES
from bot.content.messages import REQUIRED_MESSAGES
from bot.content.model import (
    CATEGORY_FIELDS,
    ENTRY_FIELDS,
    ID_PATTERN,
    MESSAGES_FILE,
    REQUIRED_SETTINGS,
    SETTINGS_FILE,
    STATUSES_FILE,
)
from bot.content.statuses import LANES, STATUS_FIELDS, STATUSES

SCHEMA_DIR = "schema"
DRAFT = "http://json-schema.org/draft-07/schema#"
CATEGORY_SCHEMA = "category.json"
# The schema each knowledge file names on its first line (category files: CATEGORY_SCHEMA).
SCHEMA_OF = {SETTINGS_FILE: "settings.json", MESSAGES_FILE: "messages.json",
             STATUSES_FILE: "statuses.json"}
MODELINE = "# yaml-language-server: $schema=./{}/{}"

TEXT = {"type": "string", "pattern": r"\S"}  # what reader.is_text accepts: not blank
DATE = {"type": "string",
        "pattern": r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
        "description": "a date written YYYY-MM-DD, e.g. 2026-11-01"}

# How an editor should check each entry field, by the reader's checker for it. A new checker
# in FIELD_CHECKS without a schema here makes `python -m bot schema` (and its test) fail.
CHECKER_SCHEMAS: dict[Any, dict[str, Any]] = {
    reader._entry_id: {"type": "string", "pattern": ID_PATTERN.pattern},
    reader._text: TEXT,
    reader._examples: {"type": "array", "minItems": MIN_EXAMPLES,
                       "items": {"anyOf": [TEXT, {"type": "number"}]}},
    reader._reviewed: DATE,
    reader._short_answer: {"anyOf": [{**TEXT, "maxLength": MAX_SHORT_ANSWER_CHARS},
                                     {"type": "null"}]},
    reader._related: {"type": "array", "items": {"type": "string"}},
    reader._links: {"type": "array", "items": {
        "type": "object", "required": ["title", "url"], "additionalProperties": False,
        "properties": {"title": TEXT,
                       "url": {"type": "string", "pattern": r"^(https?://|\{)"}}}},
}

FIELD_HELP = {
    "id": "A short unique name: lower case, digits and _ only, e.g. what_is_tpin.",
    "question": "The question as a user would ask it; shown on buttons.",
    "examples": f"How people really ask it: at least {MIN_EXAMPLES}, the more varied the "
                "better. An example may belong to one entry only.",
    "answer": f"What the bot replies (at most {MAX_ANSWER_CHARS} characters once settings are "
              "filled in). Write {contact_phone}, {website}... instead of typing them.",
    "source": "The official source of the facts, marked [confirmed] or [uncertain].",
    "owner": "The division that owns the answer and reviews it.",
    "reviewed": "The date the answer was last checked, YYYY-MM-DD.",
    "short_answer": "One or two sentences for small screens (optional).",
    "related": "Other entries offered as buttons after the answer, by id (optional).",
    "links": "Links listed under the answer, each with a title and a url (optional).",
}


def entry_schema() -> dict[str, Any]:
    """One entry, from the reader's FIELD_CHECKS (which fields exist, which are required)."""
    properties = {}
    for name, field_check in reader.FIELD_CHECKS.items():
        if field_check.check not in CHECKER_SCHEMAS:
            raise KeyError(f"no schema for the checker of field '{name}': add it to "
                           "CHECKER_SCHEMAS in bot/content/schema.py")
        properties[name] = {**CHECKER_SCHEMAS[field_check.check],
                            "description": FIELD_HELP.get(name, "")}
    if set(properties) != set(ENTRY_FIELDS):
        raise KeyError("the reader's FIELD_CHECKS and the model's ENTRY_FIELDS differ")
    required = [n for n, c in reader.FIELD_CHECKS.items() if c.required]
    return {"type": "object", "required": required, "additionalProperties": False,
            "properties": properties}


def category_schema() -> dict[str, Any]:
    return {"$schema": DRAFT, "title": "A category of knowledge entries (knowledge/<name>.yml)",
            "type": "object", "required": list(CATEGORY_FIELDS), "additionalProperties": False,
            "properties": {
                "category": {**TEXT, "description": "The category's name, shown as a button."},
                "entries": {"type": "array", "items": {"$ref": "#/definitions/entry"},
                            "description": "The questions of this category, each '- id: ...'"},
            },
            "definitions": {"entry": entry_schema()}}


def settings_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {key: TEXT for key in REQUIRED_SETTINGS}
    properties["review_after_months"] = {
        "type": "integer", "minimum": 1,
        "description": "Entries not reviewed for this many months are listed by `review`."}
    return {"$schema": DRAFT, "title": "Settings of the deploying authority (settings.yml)",
            "type": "object", "required": list(REQUIRED_SETTINGS), "properties": properties,
            "additionalProperties": {**TEXT, "description": "A value used as a {placeholder}."}}


def messages_schema() -> dict[str, Any]:
    properties = {}
    for key, filled in REQUIRED_MESSAGES.items():
        also = (" The bot fills in " + ", ".join(f"{{{n}}}" for n in filled) + ".") \
            if filled else ""
        properties[key] = {**TEXT, "description": f"A sentence the bot needs.{also}"}
    return {"$schema": DRAFT, "title": "The bot's own sentences (messages.yml)",
            "type": "object", "required": list(REQUIRED_MESSAGES), "properties": properties,
            "additionalProperties": {**TEXT, "description": "Not used by the bot (a typo?)."}}


def statuses_schema() -> dict[str, Any]:
    status = {"type": "object", "required": list(STATUS_FIELDS),
              "properties": {name: TEXT for name in STATUS_FIELDS}}
    return {"$schema": DRAFT, "title": "Declaration statuses and lanes (statuses.yml)",
            "type": "object", "required": ["statuses", "lanes"], "properties": {
                "statuses": {"type": "object", "required": list(STATUSES),
                             "properties": {code: status for code in STATUSES}},
                "lanes": {"type": "object", "required": list(LANES),
                          "properties": {lane: TEXT for lane in LANES}},
            }}


def schemas() -> dict[str, dict[str, Any]]:
    """File name in knowledge/schema/ -> schema."""
    return {CATEGORY_SCHEMA: category_schema(), SCHEMA_OF[SETTINGS_FILE]: settings_schema(),
            SCHEMA_OF[MESSAGES_FILE]: messages_schema(),
            SCHEMA_OF[STATUSES_FILE]: statuses_schema()}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_for(file_name: str) -> str:
    """The schema file a knowledge file names in its modeline."""
    return SCHEMA_OF.get(file_name, CATEGORY_SCHEMA)


def modeline(file_name: str) -> str:
    return MODELINE.format(SCHEMA_DIR, schema_for(file_name))


def write_schemas(knowledge: Path) -> list[Path]:
    """Write every schema into `knowledge/schema/`; return the files that changed."""
    folder = Path(knowledge) / SCHEMA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, schema in schemas().items():
        path = folder / name
        text = render(schema)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def add_modelines(knowledge: Path) -> list[Path]:
    """Put the modeline on the first line of every knowledge file lacking it."""
    changed = []
    for path in sorted(Path(knowledge).glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        line = modeline(path.name)
        if text.startswith(line + "\n"):
            continue
        if text.startswith("# yaml-language-server:"):
            text = text.split("\n", 1)[1] if "\n" in text else ""
        path.write_text(f"{line}\n{text}", encoding="utf-8")
        changed.append(path)
    return changed
