"""Declaration statuses and lanes, and their wording in `knowledge/statuses.yml`.

The codes are the contract with the customs system (ASYCUDA statuses, UNCTAD manual, and the
selectivity lanes); the backends check every answer against them. The wording is support-staff
content, read at every lookup so that edits are live, and checked by `validate` with the same
rules, so a bad edit shows up as `file:line` before it turns lookups into "unavailable".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content.model import STATUSES_FILE, Problem
from bot.content.reader import load_file, relative_name
from bot.content.text import is_text
from bot.content.yaml_lines import YamlError, load_yaml
from bot.settings.paths import knowledge_dir

STATUSES = ("stored", "registered", "assessed", "paid", "query", "released", "cancelled")
# After these nothing more happens to a declaration: status notifications end there.
FINAL_STATUSES = frozenset({"released", "cancelled"})
LANES = ("green", "yellow", "red", "blue")
STATUS_FIELDS = ("label", "next", "action")


class StatusTextError(ValueError):
    """knowledge/statuses.yml is missing or malformed; the message says where."""


@dataclass(frozen=True)
class StatusTexts:
    statuses: dict[str, dict[str, str]]
    lanes: dict[str, str]


def statuses_file() -> Path:
    return knowledge_dir() / STATUSES_FILE


def _line(mapping: Any, key: str, fallback: int) -> int:
    return getattr(mapping, "key_lines", {}).get(key, fallback)


def _status_problems(statuses: Any, line: int, file: str) -> list[Problem]:
    problems = []
    for code in STATUSES:
        texts = statuses.get(code)
        if not isinstance(texts, dict):
            problems.append(Problem(file, _line(statuses, code, line),
                                    f"status '{code}' is missing: add it under 'statuses:' with "
                                    f"a text for {', '.join(map(repr, STATUS_FIELDS))}"))
            continue
        for name in STATUS_FIELDS:
            if not is_text(texts.get(name)):
                problems.append(Problem(file, _line(texts, name, _line(statuses, code, line)),
                                        f"status '{code}' needs a text for '{name}'"))
    return problems


def status_problems(data: Any, file: str) -> list[Problem]:
    """What is wrong with parsed statuses.yml: every status and lane needs its texts."""
    sections = data if isinstance(data, dict) else {}
    statuses, lanes = sections.get("statuses"), sections.get("lanes")
    if not isinstance(statuses, dict) or not isinstance(lanes, dict):
        return [Problem(file, getattr(data, "line", 1) or 1,
                        "expected 'statuses:' and 'lanes:' sections")]
    problems = _status_problems(statuses, _line(data, "statuses", 1), file)
    for lane in LANES:
        if not is_text(lanes.get(lane)):
            problems.append(Problem(file, _line(lanes, lane, _line(data, "lanes", 1)),
                                    f"lane '{lane}' needs an explanation"))
    return problems


def check_statuses(directory: Path) -> list[Problem]:
    """The problems of a knowledge folder's statuses.yml, for `validate`."""
    path = Path(directory) / STATUSES_FILE
    file = relative_name(path, Path(directory))
    if not path.exists():
        return [Problem(file, 1, "the statuses file is missing; copy it from the repository "
                        "history")]
    data, problems = load_file(path, file)
    return problems if data is None else problems + status_problems(data, file)


# path -> (the file's bytes when read, what they gave): the last good read of each file.
_read: dict[Path, tuple[bytes, StatusTexts]] = {}


def load_status_texts(path: Path | None = None) -> StatusTexts:
    """Read and check the status and lane wording. Edits are live: the file is read at every
    use, and parsed again only when its bytes changed (parsing it with its line numbers was
    about 25 ms of every declaration lookup); else the last good read is given."""
    path = path or statuses_file()
    try:
        raw = path.read_bytes()
    except OSError:
        raw = None  # load_yaml says what is wrong
    known = _read.get(path)
    if raw is not None and known is not None and known[0] == raw:
        return known[1]
    try:
        data = load_yaml(path)
    except YamlError as error:
        raise StatusTextError(str(error)) from None
    problems = status_problems(data, str(path))
    if problems:
        raise StatusTextError("; ".join(f"{p.file}:{p.line}: {p.message}" for p in problems))
    texts = StatusTexts(statuses=data["statuses"], lanes=data["lanes"])
    if raw is not None:
        _read[path] = (raw, texts)
    return texts
