"""Property-based fuzzing of the knowledge YAML loader (bot/content/reader.py): whatever a
support officer saves (broken YAML, wrong types, odd Unicode, binary), reading returns the
knowledge it could build and a list of problems with file and line, never an exception."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content.model import Problem
from bot.content.reader import read_knowledge

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ["id", "question", "examples", "answer", "source", "owner", "reviewed",
          "short_answer", "related", "links", "category", "entries", "title"]

SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                   st.text(max_size=40), st.dates())
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), inner,
                    max_size=5)), max_leaves=20)
ENTRY = st.dictionaries(st.sampled_from(FIELDS), VALUE, max_size=10)
CATEGORY = st.fixed_dictionaries({"category": SCALAR,
                                  "entries": st.one_of(st.lists(ENTRY, max_size=4), VALUE)})


def as_yaml(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# Valid YAML of the right shape with wrong values; any YAML; text that is barely YAML;
# bytes that are not UTF-8.
FILE = st.one_of(CATEGORY.map(as_yaml), VALUE.map(as_yaml),
                 st.text(alphabet=":-[]{}&*!|>'\"#%@` \n\tabc1", max_size=200),
                 st.binary(max_size=200))


def write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(category=FILE, messages=st.one_of(st.none(), FILE), settings_file=st.one_of(st.none(),
                                                                                   FILE))
def test_any_file_content_is_read_into_problems_not_an_exception(category, messages,
                                                                 settings_file):
    with tempfile.TemporaryDirectory() as tmp:
        kb_dir = Path(tmp)
        for name in ("messages.yml", "settings.yml"):
            shutil.copy(ROOT / "knowledge" / name, kb_dir / name)
        write(kb_dir / "fuzz.yml", category)
        if messages is not None:
            write(kb_dir / "messages.yml", messages)
        if settings_file is not None:
            write(kb_dir / "settings.yml", settings_file)
        kb, problems = read_knowledge(kb_dir)
    assert isinstance(problems, list)
    assert all(isinstance(p, Problem) for p in problems)
    for entry in kb.entries.values():
        assert entry.id and isinstance(entry.answer, str)
