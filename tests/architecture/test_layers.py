"""The layer rule, checked on the import graph: a module never imports one above it, there is no
import cycle, and the build-time, support and operations code never imports Rasa at module level.

Layers, bottom to top (README, "Architecture"):
  1 settings, names, privacy, retrying
  2 content, appdb, nlu, understanding, metrics
  3 channels, stores, patches, actions (and the deprecated class-path shims)
  4 training, support, notify (it uses the channels' senders and the declaration backends)
  5 ops
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAYERS = {
    "bot.settings": 1, "bot.names": 1, "bot.privacy": 1, "bot.retrying": 1,
    "bot.content": 2, "bot.appdb": 2, "bot.nlu": 2, "bot.understanding": 2,
    "bot.metrics": 2,
    "bot.channels": 3, "bot.stores": 3, "bot.patches": 3, "actions": 3,
    "bot.rest": 3, "bot.whatsapp": 3, "bot.tracker_store": 3, "bot.lock_store": 3,
    "bot.training": 4, "bot.support": 4, "bot.notify": 4,
    "bot.ops": 5, "bot.__main__": 5, "bot": 1,
}
# Never `import rasa` at module level (build time, support tools, settings, operations).
RASA_FREE = ("bot.settings", "bot.names", "bot.privacy", "bot.retrying", "bot.content",
             "bot.understanding", "bot.metrics",
             "bot.appdb", "bot.training", "bot.support", "bot.ops")


EXTERNAL = ("rasa", "rasa_sdk")  # what the Rasa-free code must not import at module level


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    files = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("actions/**/*.py")]
    return {module_name(p): p for p in files}


def layer_of(module: str) -> int:
    best = max((prefix for prefix in LAYERS
                if module == prefix or module.startswith(prefix + ".")), key=len)
    return LAYERS[best]


def imports(path: Path, modules: dict[str, Path],
            source: str | None = None) -> list[tuple[str, int, bool]]:
    """(imported project, Rasa or rasa-sdk module, line, at module level) for every import in
    the file; relative imports (`from .x import y`) are resolved against the file's package."""
    tree = ast.parse(path.read_text("utf-8") if source is None else source)
    top_level = {id(node) for node in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` / try blocks at module level count as top
        if isinstance(node, (ast.If, ast.Try)):
            top_level |= {id(n) for n in ast.walk(node)}
    package = module_name(path).split(".") if path.is_relative_to(ROOT) else [path.stem]
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[:len(package) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            names = ([base] if base else []) + [f"{base}.{a.name}".lstrip(".")
                                                for a in node.names]
        for name in names:
            if name.split(".")[0] in EXTERNAL or name in modules:
                found.append((name, node.lineno, id(node) in top_level))
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: {m for m, _, _ in imports(path, modules) if m in modules and m != name}
            for name, path in modules.items()}


def test_no_module_imports_a_layer_above_its_own() -> None:
    modules = project_modules()
    wrong = []
    for name, path in modules.items():
        for target, line, _ in imports(path, modules):
            if target in modules and layer_of(target) > layer_of(name):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {name} (layer "
                             f"{layer_of(name)}) imports {target} (layer {layer_of(target)})")
    assert not wrong, "\n".join(wrong)


def test_build_support_and_ops_code_never_imports_rasa_at_module_level() -> None:
    modules = project_modules()
    wrong = [f"{path.relative_to(ROOT)}:{line}: imports {target} at module level"
             for name, path in modules.items() if name.startswith(RASA_FREE)
             for target, line, top in imports(path, modules)
             if top and target.split(".")[0] in EXTERNAL]
    assert not wrong, "\n".join(wrong)


def strongly_connected(g: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the components with more than one module are import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            found.append(component)

    for v in g:
        if v not in index:
            visit(v)
    return [c for c in found if len(c) > 1]


def test_no_import_cycle() -> None:
    # A package importing its own submodules (an __init__ re-export) is not a cycle of concerns.
    g = {m: {t for t in targets if not (m and t.startswith(m + "."))}
         for m, targets in graph().items()}
    assert strongly_connected(g) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_the_layer_check_sees_lazy_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from bot.ops import cli\n")
    modules = {"bot.ops.cli": source}
    assert imports(source, modules) == [("bot.ops.cli", 2, False)]


def test_the_layer_check_resolves_relative_imports_and_sees_rasa_sdk() -> None:
    path = ROOT / "bot" / "content" / "checks.py"  # any module two levels down
    modules = {"bot.ops.cli": path, "bot.content.model": path}
    source = "from ..ops import cli\nfrom .model import X\nfrom rasa_sdk import Action\n"
    found = imports(path, modules, source)
    assert ("bot.ops.cli", 1, True) in found and ("bot.content.model", 2, True) in found
    assert ("rasa_sdk", 3, True) in found


@pytest.mark.parametrize("package", RASA_FREE)
def test_importing_rasa_free_code_loads_neither_rasa_nor_tensorflow(package: str) -> None:
    modules = [m for m in project_modules() if m == package or m.startswith(package + ".")]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted(k for k in ('rasa', 'rasa_sdk', 'tensorflow') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
