"""`validate` checks the wording the code reads: messages.yml keys and statuses.yml texts."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
import yaml

from bot import names
from bot.content.checks import validate
from bot.content.messages import REQUIRED_MESSAGES
from bot.content.statuses import (
    LANES,
    STATUSES,
    StatusTextError,
    check_statuses,
    load_status_texts,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def kb(tmp_path) -> Path:
    """A copy of the shipped knowledge folder (clean), for one test to break."""
    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    return target


def problems(kb: Path) -> list[str]:
    return [str(p) for p in validate(kb).problems if "still a placeholder" not in p.message]


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def drop_lines(path: Path, *starts: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(starts)))


def test_shipped_wording_files_are_clean(kb):
    assert problems(kb) == []


# --- statuses.yml -------------------------------------------------------------------------------

def test_statuses_file_without_a_status_is_an_error_with_file_line_and_fix(kb):
    path = kb / "statuses.yml"
    data = yaml.safe_load(path.read_text())
    del data["statuses"]["paid"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert problems(kb) == [
        f"knowledge/statuses.yml:{line_of(path, 'statuses:')}: error: status 'paid' is missing: "
        "add it under 'statuses:' with a text for 'label', 'next', 'action'"
    ]


def test_statuses_file_empty_text_is_reported_at_its_line(kb):
    path = kb / "statuses.yml"
    path.write_text(path.read_text().replace("label: released", 'label: ""'))
    line = line_of(path, 'label: ""')
    assert problems(kb) == [f"knowledge/statuses.yml:{line}: error: status 'released' needs a "
                            "text for 'label'"]


def test_statuses_file_missing_lane_and_yaml_errors(kb):
    path = kb / "statuses.yml"
    drop_lines(path, "  blue:")
    assert problems(kb) == [f"knowledge/statuses.yml:{line_of(path, 'lanes:')}: error: lane "
                            "'blue' needs an explanation"]
    path.write_text("statuses: [\n")
    [found] = problems(kb)
    assert found.startswith("knowledge/statuses.yml:2: error: YAML syntax error")
    path.unlink()
    assert problems(kb) == ["knowledge/statuses.yml:1: error: the statuses file is missing; "
                            "copy it from the repository history"]


def test_statuses_duplicate_key_is_reported(kb):
    path = kb / "statuses.yml"
    path.write_text(path.read_text().replace("lanes:\n", "lanes:\n  red: Red again.\n"))
    assert problems(kb) == [f"knowledge/statuses.yml:{line_of(path, 'red: Red lane')}: error: "
                            "'red' appears twice here; keep only one"]


@pytest.mark.parametrize("edit", [
    lambda text: text.replace("  query:", "  queried:"),
    lambda text: text.replace("    action: Your clearing agent can collect", "    act: x"),
    lambda text: text.replace("lanes:", "lane:"),
])
def test_validate_and_the_lookup_apply_the_same_rules(kb, edit):
    path = kb / "statuses.yml"
    path.write_text(edit(path.read_text()))
    found = check_statuses(kb)
    assert found
    with pytest.raises(StatusTextError) as error:
        load_status_texts(path)
    assert str(error.value) == "; ".join(f"{path}:{p.line}: {p.message}" for p in found)


def test_status_codes_are_the_backends_codes():
    from actions.declarations.backends import base

    assert base.STATUSES is STATUSES and base.LANES is LANES
    texts = load_status_texts(ROOT / "knowledge" / "statuses.yml")
    assert set(texts.statuses) == set(STATUSES) and set(texts.lanes) == set(LANES)


# --- messages.yml -------------------------------------------------------------------------------

def test_messages_file_without_a_required_key_is_an_error_with_file_and_fix(kb):
    drop_lines(kb / "messages.yml", "handoff_ask_name:", "declaration_not_found:")
    assert problems(kb) == [
        "knowledge/messages.yml:1: error: message 'handoff_ask_name' is missing: the bot needs "
        "it; add a line 'handoff_ask_name: \"...\"' (see the repository's knowledge/messages.yml)",
        "knowledge/messages.yml:1: error: message 'declaration_not_found' is missing: the bot "
        "needs it; add a line 'declaration_not_found: \"...\"' (see the repository's "
        "knowledge/messages.yml)",
    ]


def test_misspelt_message_key_is_missing_and_unused_with_suggestion(kb):
    path = kb / "messages.yml"
    path.write_text(path.read_text().replace("handoff_ask_name:", "handoff_ask_nmae:"))
    assert problems(kb) == [
        "knowledge/messages.yml:1: error: message 'handoff_ask_name' is missing: the bot needs "
        "it; add a line 'handoff_ask_name: \"...\"' (see the repository's knowledge/messages.yml)",
        f"knowledge/messages.yml:{line_of(path, 'handoff_ask_nmae')}: warning: message "
        "'handoff_ask_nmae' is not used by the bot (did you mean 'handoff_ask_name'?)",
    ]


def test_message_placeholders_are_settings_or_filled_by_the_code(kb):
    path = kb / "messages.yml"
    text = path.read_text().replace("Your ticket number is {ticket}", "Your ticket is {tiket}")
    path.write_text(text.replace('thank: "You', 'thank: "{ticket} You'))
    assert problems(kb) == [
        f"knowledge/messages.yml:{line_of(path, 'thank:')}: error: unknown placeholder {{ticket}} "
        "in message 'thank'; placeholders are the names in settings.yml",
        f"knowledge/messages.yml:{line_of(path, 'handoff_ticket:')}: error: unknown placeholder "
        "{tiket} in message 'handoff_ticket' (did you mean 'ticket'?); placeholders are the "
        "names in settings.yml and {ticket}, {name}",
    ]


def test_messages_file_missing_is_one_error(kb):
    (kb / "messages.yml").unlink()
    assert problems(kb) == ["knowledge/messages.yml:1: error: the messages file is missing; "
                            "copy it from the repository history"]


def _key(node: ast.expr) -> str | None:
    """A message key written as a literal or as a bot.names constant (e.g. OUT_OF_SCOPE)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and isinstance(getattr(names, node.id, None), str):
        return getattr(names, node.id)
    return None


def _message_keys_in_code() -> set[str]:
    """First arguments of `<x>.message(key)` and `say(key)` calls in bot/ and actions/."""
    keys = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "actions").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            named = (isinstance(func, ast.Attribute) and func.attr == "message") or (
                isinstance(func, ast.Name) and func.id == "say")
            key = _key(node.args[0]) if named else None
            if key is not None:
                keys.add(key)
    return keys


def test_every_message_key_in_the_code_is_declared():
    used = _message_keys_in_code()
    assert len(used) > 30  # the scan works
    assert used - set(REQUIRED_MESSAGES) == set()
