"""The import flow is one-way (ARCHITECTURE.md): a package uses what stands above it, never below.

Every ``import mir101.x`` / ``from mir101.x import`` of every module is read from the source
(lazy imports inside functions included), so a lower layer that reaches up fails here, naming
the file, the line and both layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mir101"

#: layer rank of each top-level module or package: an import may only go to a rank <= its own.
#: Modules of one rank may import each other (losses and metrics, say), never a higher rank.
RANKS = {
    "__init__": 0,
    "errors": 0,
    "utils": 0,
    "config": 0,
    "data": 1,
    "inputs": 2,
    "bricks": 3,
    "models": 4,
    "losses": 5,
    "metrics": 5,
    "viz": 6,  # plots of inputs, bricks and results: used by tasks and the book
    "paradigms": 6,
    "tasks": 7,
    "cli": 8,
    "__main__": 8,
}
#: imports that are not layers at all but stand-alone leaves of a package
NEVER = {"bricks": ("lightning",), "models": ("lightning",), "data": ("lightning",), "inputs": ("lightning",)}


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


MODULES = sorted(SRC.rglob("*.py"))


def test_every_top_level_module_has_a_rank():
    missing = sorted({_layer(p) for p in MODULES} - set(RANKS))
    assert not missing, f"give these a rank in {__file__}: {missing}"


def _violations(layer: str, imports: list[tuple[int, str]]) -> list[str]:
    wrong = []
    for line, name in imports:
        parts = name.split(".")
        if parts[0] == "mir101" and len(parts) > 1:
            target = parts[1]
            if RANKS.get(target, 0) > RANKS[layer]:
                wrong.append(f"line {line}: {layer} (rank {RANKS[layer]}) imports {name} (rank {RANKS[target]})")
        elif parts[0] in NEVER.get(layer, ()):
            wrong.append(f"line {line}: {layer} must not import {parts[0]}")
    return wrong


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_up_the_flow(path):
    wrong = _violations(_layer(path), _imports(path))
    assert not wrong, f"{path.relative_to(SRC)}:\n" + "\n".join(wrong)


def test_the_check_reports_an_upward_import():
    """The check can fail: a brick importing a task, or Lightning, is reported."""
    assert _violations("bricks", [(3, "mir101.tasks.runner"), (4, "lightning.pytorch")]) == [
        "line 3: bricks (rank 3) imports mir101.tasks.runner (rank 7)",
        "line 4: bricks must not import lightning",
    ]
    assert _violations("tasks", [(1, "mir101.bricks"), (2, "lightning")]) == []
