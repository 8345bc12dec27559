"""The layering of DESIGN.md, checked on every import statement of the tree (at any depth).

``core`` imports nothing of the project; ``vision``, ``voice``, ``calibration`` and ``ar_bridge``
import ``core`` and the packages :data:`ALLOWED` names for them (an acyclic list); ``sonoguide``
and ``research`` sit on top and nothing imports them. No import cycle runs between packages, nor
between the modules of the real-time segmentation stage.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "vision", "voice", "calibration", "ar_bridge", "sonoguide", "research")
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "ar_bridge": {"core"},
    "calibration": {"core"},
    "vision": {"core"},
    "voice": {"core", "ar_bridge"},  # the headset's audio arrives in a wire message
    "sonoguide": {"core", "vision", "voice", "calibration", "ar_bridge"},
    "research": {"core", "vision", "voice", "calibration", "ar_bridge"},
}
"""Which project packages each package may import (besides itself)."""


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py") if (ROOT / pkg).is_dir() else ():
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = p
    return out


def _imports(path: Path, module: str) -> set[str]:
    """Absolute names of the project modules ``path`` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)  # "from pkg import module"
    return {n for n in out if n.split(".")[0] in PACKAGES}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = _modules()
    g: dict[str, set[str]] = {}
    for name, path in mods.items():
        g[name] = {m for m in _imports(path, name) if m in mods}
    return g


def test_no_import_runs_up_a_layer(graph):
    bad = sorted(f"{a} imports {b}" for a, deps in graph.items() for b in deps
                 if a.split(".")[0] != b.split(".")[0] and b.split(".")[0] not in ALLOWED[a.split(".")[0]])
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_allowed_package_dependencies_are_acyclic():
    seen: dict[str, int] = {}

    def visit(p: str) -> None:
        assert seen.get(p) != 1, f"cycle through {p} in ALLOWED"
        if p in seen:
            return
        seen[p] = 1
        for q in ALLOWED[p]:
            visit(q)
        seen[p] = 2

    for p in ALLOWED:
        visit(p)


def _cycles(graph: dict[str, set[str]], prefix: str) -> list[list[str]]:
    """Strongly connected components (Tarjan) of more than one module under ``prefix``."""
    nodes = [n for n in graph if n.startswith(prefix)]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if not w.startswith(prefix) or w == v:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for n in nodes:
        if n not in index:
            strong(n)
    return out


def test_no_cycle_inside_the_real_time_segmentation_stage(graph):
    assert _cycles(graph, "vision.segmentation") == []


def test_the_real_time_packages_import_nothing_of_research(graph):
    assert "research" in {n.split(".")[0] for n in graph}, "the research package is missing"
    bad = sorted(f"{a} imports {b}" for a, deps in graph.items() for b in deps
                 if a.split(".")[0] in ("vision", "voice") and b.split(".")[0] == "research")
    assert not bad, "real-time code depends on research code:\n" + "\n".join(bad)
    assert all("research" not in ALLOWED[p] for p in ("core", "vision", "voice", "calibration", "ar_bridge"))


def test_core_stands_alone(graph):
    assert any(n.startswith("core") for n in graph), "the core package is missing"
    assert all(b.startswith("core") for a, deps in graph.items() if a.startswith("core") for b in deps)
