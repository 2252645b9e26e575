"""Contracts by name: every class path the configuration files name imports, and every dialogue
name Python uses exists in the domain. A rename that half-happens fails here, not in production.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
import yaml

from bot import names
from bot.settings.credentials import build_credentials
from bot.settings.endpoints import build_endpoints

ROOT = Path(__file__).resolve().parents[2]
RASA_BUILTIN_CHANNELS = {"rest", "telegram", "socketio", "callback"}


def import_path(path: str) -> object:
    module, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def class_paths() -> list[str]:
    paths = []
    config = yaml.safe_load((ROOT / "config.yml").read_text("utf-8"))
    paths += [c["name"] for c in config["pipeline"] + config["policies"] if "." in c["name"]]
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text("utf-8"))
    paths += [key for key in credentials if key not in RASA_BUILTIN_CHANNELS]
    env = {"WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_APP_SECRET": "s",
           "WHATSAPP_ACCESS_TOKEN": "a", "WHATSAPP_PHONE_NUMBER_ID": "1",
           "REDIS_URL": "redis://127.0.0.1:6379/0"}
    paths += [key for key in build_credentials(env) if key not in RASA_BUILTIN_CHANNELS]
    endpoints = build_endpoints(env)
    paths += [section["type"] for section in endpoints.values()
              if isinstance(section, dict) and "." in str(section.get("type", ""))]
    return sorted(set(paths))


def test_the_configuration_names_classes() -> None:
    found = class_paths()
    assert "bot.channels.rest.GuardedRestInput" in found
    assert "bot.stores.lock_store.KeepAliveRedisLockStore" in found
    assert "bot.nlu.featurizer.MiniLMFeaturizer" in found


@pytest.mark.parametrize("path", class_paths())
def test_every_class_path_in_the_configuration_imports(path: str) -> None:
    assert isinstance(import_path(path), type)


@pytest.mark.parametrize("old", ["bot.rest.GuardedRestInput", "bot.whatsapp.WhatsAppInput",
                                 "bot.tracker_store.RedactingSQLTrackerStore",
                                 "bot.lock_store.KeepAliveRedisLockStore"])
def test_old_class_paths_still_work_for_one_release_with_a_warning(old: str) -> None:
    import sys
    import warnings

    sys.modules.pop(old.rpartition(".")[0], None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cls = import_path(old)
    assert isinstance(cls, type)
    assert any(issubclass(w.category, DeprecationWarning) and "deprecated" in str(w.message)
               for w in caught)


def domain_names() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"intents": set(), "actions": set(), "forms": set(),
                                  "slots": set(), "entities": set()}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text("utf-8")) or {}
        for kind in found:
            section = data.get(kind) or []
            found[kind] |= {next(iter(i)) if isinstance(i, dict) else i for i in section}
    return found


# Names Rasa defines itself (not in our domain files).
RASA_NAMES = {names.NLU_FALLBACK, names.SESSION_START_ACTION}


def test_every_name_in_bot_names_exists_in_the_domain() -> None:
    domain = domain_names()
    known = set().union(*domain.values()) | RASA_NAMES
    declared = {k: v for k, v in vars(names).items()
                if k.isupper() and isinstance(v, str) and k != "INTENT_PREFIX"}
    missing = {k: v for k, v in declared.items() if v not in known}
    assert not missing


def python_name_literals() -> list[tuple[str, int, str]]:
    """String literals in bot/ and actions/ that look like dialogue names."""
    found = []
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("actions/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value.startswith(("action_", "utter_", "validate_"))
                    and node.value.replace("_", "").isalnum()):
                found.append((str(path.relative_to(ROOT)), node.lineno, node.value))
    return found


def test_every_action_name_written_in_python_exists_in_the_domain() -> None:
    domain = domain_names()
    known = domain["actions"] | RASA_NAMES | {"action_default_fallback", "action_listen",
                                              "action_restart", "action_deactivate_loop"}
    responses = set()
    for path in (ROOT / "domain").glob("*.yml"):
        responses |= set((yaml.safe_load(path.read_text("utf-8")) or {}).get("responses") or {})
    # Not action names: keys of Rasa's own files and events, and a name prefix.
    not_names = {"action_endpoint", "action_name", "action_ask_", "utter_ask_"}
    unknown = [f"{f}:{line}: {value}" for f, line, value in python_name_literals()
               if value not in known | responses | not_names]
    assert not unknown, "\n".join(unknown)


def test_every_action_class_is_declared_in_the_domain() -> None:
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    domain = domain_names()
    assert set(executor.actions) <= domain["actions"] | domain["forms"]
    assert {a for a in domain["actions"] if not a.startswith("utter_")} <= set(executor.actions)
