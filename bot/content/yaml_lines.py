"""YAML loading that remembers line numbers, so every content problem can be reported as file:line.

Support staff edit these files by hand; a message that names the line is the difference between
a two-minute fix and a call to an engineer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict):
    """A mapping that knows the line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict[str, int]
    duplicate_keys: list[tuple[str, int]]


class LineList(list):
    """A sequence that knows the line of itself and of each item."""

    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.duplicate_keys = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        value = loader.construct_object(value_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            result.duplicate_keys.append((key, line))
        result[key] = value
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    # "2026-13-45" looks like a date to YAML but is not one: keep the text so that the
    # validator can say which date is wrong instead of crashing.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


@dataclass
class YamlError(Exception):
    """A file that is not valid YAML, with the line to look at and a hint in plain words."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _hint(problem: str) -> str:
    if "\t" in problem or "\\t" in problem or " tab" in problem:
        return "use spaces, not tabs, to indent"
    if "mapping values are not allowed" in problem:
        return "a text containing ': ' must be put in quotes, or the indentation is off"
    if "could not find expected ':'" in problem:
        return "a line is missing its ':' or a quote is not closed"
    if "found unexpected end of stream" in problem or "found unexpected" in problem:
        return "a quote or bracket is not closed"
    if "did not find expected '-'" in problem or "expected <block end>" in problem:
        return "check the indentation: items of a list start with '- ' at the same column"
    return "check the indentation and quoting of this line and the one before it"


def load_yaml(path: Path) -> Any:
    """Parse a YAML file into LineDict/LineList values; raise YamlError on bad syntax."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        message = (f"the file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on this "
                   f"line: {exc.reason}); save it as UTF-8")
        raise YamlError(path, line, message) from None
    except OSError as exc:
        raise YamlError(path, 1, f"cannot read the file: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or str(exc)
        return_msg = f"YAML syntax error: {problem.strip()}; {_hint(problem)}"
        raise YamlError(path, line, return_msg) from None
    except yaml.reader.ReaderError as exc:
        # A control character (NUL, a stray escape...) pasted in: YAML names its position only.
        line = text[:exc.position].count("\n") + 1
        message = (f"an invisible character (code {exc.character}) is not allowed in YAML; "
                   "delete it (retype the line if you cannot see it)")
        raise YamlError(path, line, message) from None
    except yaml.YAMLError as exc:
        raise YamlError(path, 1, f"YAML error: {exc}") from None


def duplicate_keys(node: Any) -> list[tuple[str, int]]:
    """(key, line) of every key written twice in a mapping, at any depth: YAML keeps the last."""
    if isinstance(node, LineDict):
        found = list(node.duplicate_keys)
        for value in node.values():
            found.extend(duplicate_keys(value))
        return found
    if isinstance(node, list):
        return [dup for value in node for dup in duplicate_keys(value)]
    return []
