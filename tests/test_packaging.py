"""What `pip install siyu` brings is what the code imports: every package src/siyu imports is a
declared runtime dependency, and the optional engine (PySpark) is imported only when asked for."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "siyu"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> tuple[set[str], set[str]]:
    """(runtime dependencies, packages of the `spark` extra) from pyproject.toml, normalised."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(lines: list[str]) -> set[str]:
        return {_normal(Requirement(line).name) for line in lines}

    return names(project["dependencies"]), names(project["optional-dependencies"]["spark"])


def _import_statements(node: ast.AST, in_function: bool = False):
    """(import statement, whether it sits inside a function), statements only (imports are)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, in_function
        elif isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from _import_statements(child, inner)


def _imports() -> dict[str, dict[str, bool]]:
    """Third-party top-level module → {file: imported at module level}."""
    found: dict[str, dict[str, bool]] = {}
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, in_function in _import_statements(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "siyu":
                    continue
                files = found.setdefault(top, {})
                files[str(path)] = files.get(str(path), False) or not in_function
    return found


def test_every_imported_package_is_a_declared_dependency():
    runtime, spark = _declared()
    owners = packages_distributions()
    undeclared, eager_optional = [], []
    for module, files in sorted(_imports().items()):
        dists = {_normal(d) for d in owners.get(module, [module])}
        if dists & runtime:
            continue
        if dists & spark:
            eager_optional += [
                f"{module} at module level in {f}" for f, eager in files.items() if eager
            ]
            continue
        undeclared.append(f"{module} ({', '.join(sorted(files))})")
    assert not undeclared, f"imported but not in pyproject.toml's dependencies: {undeclared}"
    assert not eager_optional, f"optional packages must be imported where used: {eager_optional}"
    assert "pyspark" in spark and "pyspark" not in runtime
