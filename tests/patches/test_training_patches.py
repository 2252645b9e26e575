"""bot.patches.training: during `rasa train` a YAML text is parsed and schema-checked once (the
same structures and errors as Rasa's own reading), and the model file is written at gzip level
1 and read back by Rasa's loader."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

pytest.importorskip("rasa")

import rasa.shared.utils.io as io  # noqa: E402
import rasa.shared.utils.validation as validation  # noqa: E402
from rasa.shared.core.training_data.story_reader.yaml_story_reader import (  # noqa: E402
    YAMLStoryReader,
)
from rasa.shared.exceptions import YamlException  # noqa: E402

from bot.patches import training  # noqa: E402

RULES = """version: "3.1"
rules:
- rule: greet back
  steps:
  - intent: greet
  - action: utter_greet
"""


@pytest.fixture()
def patched(monkeypatch: pytest.MonkeyPatch):
    """The patch installed on a clean slate, and counters of Rasa's own functions' calls."""
    import rasa.engine.storage.local_model_storage as storage

    calls = {"parse": 0, "check": 0}
    parse, check = io.read_yaml, validation.validate_yaml_schema

    def counting_parse(*args, **kwargs):
        calls["parse"] += 1
        return parse(*args, **kwargs)

    def counting_check(*args, **kwargs):
        calls["check"] += 1
        return check(*args, **kwargs)

    monkeypatch.setattr(io, "read_yaml", counting_parse)
    monkeypatch.setattr(validation, "validate_yaml_schema", counting_check)
    monkeypatch.setattr(storage, "TarSafe", storage.TarSafe)
    monkeypatch.setattr(training, "_parsed", {})
    monkeypatch.setattr(training, "_valid", set())
    training.install()
    return calls


def test_a_text_is_parsed_and_checked_once_and_each_reader_gets_its_own_copy(patched) -> None:
    first = YAMLStoryReader().read_from_string(RULES)
    second = YAMLStoryReader().read_from_string(RULES)
    assert [s.block_name for s in first] == [s.block_name for s in second] == ["greet back"]
    assert patched["check"] == 1
    parses = patched["parse"]
    a, b = io.read_yaml(RULES), io.read_yaml(RULES)
    assert a == b and a is not b  # a copy each time: a caller may change its own
    a["rules"].clear()
    assert io.read_yaml(RULES)["rules"]
    assert patched["parse"] == parses  # still parsed only once


def test_a_broken_text_fails_every_time_as_rasa_says(patched) -> None:
    broken = RULES.replace("  - action: utter_greet", "  - action: [utter_greet")
    for _ in range(2):
        with pytest.raises(YamlException):
            YAMLStoryReader().read_from_string(broken)
    invalid = RULES.replace("steps:", "stepz:")
    for _ in range(2):
        with pytest.raises(YamlException):
            validation.validate_yaml_schema(invalid, "shared/utils/schemas/stories.yml")


def test_the_model_file_is_written_at_gzip_level_1_and_read_back(patched, tmp_path: Path) -> None:
    import rasa.engine.storage.local_model_storage as storage

    data = tmp_path / "weights.txt"
    data.write_text("0.123456789 " * 200_000)
    fast, default = tmp_path / "fast.tar.gz", tmp_path / "default.tar.gz"
    with storage.TarSafe.open(fast, "w:gz") as tar:
        tar.add(data, arcname="weights.txt")
    with tarfile.open(default, "w:gz") as tar:  # Python's default, level 9
        tar.add(data, arcname="weights.txt")
    assert fast.stat().st_size > default.stat().st_size  # level 1 compresses less
    with storage.TarSafe.open(fast, "r:gz") as tar:
        assert tar.extractfile("weights.txt").read() == data.read_bytes()
