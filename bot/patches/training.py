"""Two measured costs of `rasa train` that grow with the knowledge base, removed.

1. Each YAML file read once. `rasa train` reads the domain and every data file twice (its
   validation and the training use two importers), and each reading parses the text twice
   (once to check it against Rasa's schema with pykwalify, once to load it), with ruamel's
   pure-Python parser: a profiled 500-entry training spent 59 s in schema checks and 50 s in
   parsing (overlapping: a check parses too) of the 244 s before its classifier. A text
   already checked against a schema passes again, so it is checked once; a text already
   parsed gives the same structure, so it is parsed once and a deep copy handed out each time
   (callers may change what they get). Same texts in, same results and errors out; a text
   that fails is never kept.
2. The model file compressed at gzip level 1 instead of 9. The classifier's weights are most
   of the file (74 MB at 500 entries, float64) and compress little at any level: on the
   501-entry model, level 9 took 32.7 s of CPU for 34 MB, level 6 3.7 s for 35 MB, level 1
   0.8 s for 38 MB. Rasa reads either the same way.

Installed for training only (`bot.training.rasa_train`).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

_parsed: dict[tuple[bytes, str], Any] = {}
_valid: set[tuple[bytes, str]] = set()


def _digest(content: Any) -> bytes:
    text = content if isinstance(content, str) else repr(content)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def install() -> None:
    _yaml_once()
    _fast_model_package()


def _fast_model_package() -> None:
    import rasa.engine.storage.local_model_storage as storage

    if getattr(storage.TarSafe, "_fast_gzip", False):
        return

    class FastGzipTar(storage.TarSafe):  # type: ignore[misc, valid-type]
        _fast_gzip = True

        @classmethod
        def open(cls, name: Any = None, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if mode == "w:gz":
                kwargs.setdefault("compresslevel", 1)
            return super().open(name, mode, *args, **kwargs)

    storage.TarSafe = FastGzipTar


def _yaml_once() -> None:
    import rasa.shared.utils.io as io
    import rasa.shared.utils.validation as validation

    if getattr(io.read_yaml, "_parsed_once", False):
        return
    parse = io.read_yaml
    check = validation.validate_yaml_schema

    def read_yaml(content: str, reader_type: Any = "safe") -> Any:
        key = (_digest(content), repr(reader_type))
        if key not in _parsed:
            _parsed[key] = parse(content, reader_type)
        return copy.deepcopy(_parsed[key])

    def validate_yaml_schema(yaml_file_content: str, schema_path: str, *args: Any) -> None:
        key = (_digest(yaml_file_content), repr((schema_path, args)))
        if key not in _valid:
            check(yaml_file_content, schema_path, *args)
            _valid.add(key)

    read_yaml._parsed_once = True  # type: ignore[attr-defined]
    io.read_yaml = read_yaml
    validation.validate_yaml_schema = validate_yaml_schema
