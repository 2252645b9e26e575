"""Compile the knowledge base into Rasa training inputs under build/ (never edited by hand).

Only what the model needs goes in: an intent per entry and its examples, and the rules that
route each intent to the answering action. Answers stay in knowledge/ and are read at run time,
so editing an answer changes nothing here and never forces a retrain.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import yaml

from bot.content.model import KnowledgeBase
from bot.names import ANSWER_ACTION

GENERATED_NOTE = "# Generated from knowledge/ by `python -m bot build`: edit knowledge/ instead.\n"


def _dump(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    path.write_text(GENERATED_NOTE + text, encoding="utf-8")


def _examples_block(examples: list[str]) -> str:
    # Rasa's example syntax treats [text](entity) and {..} specially; knowledge examples are plain.
    lines = []
    for ex in examples:
        clean = " ".join(ex.replace("[", "(").replace("]", ")").split())
        lines.append(f"- {clean}")
    return "\n".join(lines) + "\n"


def forms_in_domain(domain_dir: Path) -> list[str]:
    """Names of the forms declared in the hand-written domain files."""
    forms: list[str] = []
    for path in sorted(Path(domain_dir).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        forms.extend(sorted((data.get("forms") or {}).keys()))
    return forms


def compile_knowledge(kb: KnowledgeBase, domain_dir: Path, out_dir: Path) -> Path:
    """Write build/rasa/{domain,data}; return out_dir. Deterministic, so fingerprints are stable."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "domain").mkdir(parents=True)
    for path in sorted(Path(domain_dir).glob("*.yml")):
        shutil.copyfile(path, out_dir / "domain" / path.name)
    intents = [entry.intent for entry in kb.entries.values()]
    _dump(out_dir / "domain" / "knowledge.yml", {"version": "3.1", "intents": intents})
    nlu = [{"intent": e.intent, "examples": _examples_block(e.examples)}
           for e in kb.entries.values()]
    _dump(out_dir / "data" / "knowledge_nlu.yml", {"version": "3.1", "nlu": nlu})
    rules = [{"rule": f"answer {i}", "steps": [{"intent": i}, {"action": ANSWER_ACTION}]}
             for i in intents]
    for form in forms_in_domain(domain_dir):
        rules.extend(
            {
                "rule": f"answer {i} during {form}",
                "condition": [{"active_loop": form}],
                "steps": [{"intent": i}, {"action": ANSWER_ACTION}, {"action": form},
                          {"active_loop": form}],
            }
            for i in intents
        )
    _dump(out_dir / "data" / "knowledge_rules.yml", {"version": "3.1", "rules": rules})
    return out_dir


def fingerprint(paths: list[Path]) -> str:
    """A hash of every training input: the same inputs give the same model name.

    Files are named relative to their input folder, so the hash does not depend on where the
    repository or the build folder lives.
    """
    digest = hashlib.sha256()
    for index, path in enumerate(Path(p) for p in paths):
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        for file in files:
            name = file.relative_to(path).as_posix() if path.is_dir() else file.name
            digest.update(f"{index}:{name}\0".encode())
            digest.update(file.read_bytes() if file.exists() else b"")
            digest.update(b"\0")
    return digest.hexdigest()[:16]
