"""Siyu's own import-linter contracts: the rules the built-in contract types cannot say.

- `doors`: a domain imports another domain only through its doors: the package itself, a module
  named like one of `doors` (service, models, schemas) or one listed in `more_doors`.
- `private_names`: no module imports, or reaches through an imported module for, a private name
  (`_name`) of another of the root package's top-level packages (other libraries are theirs).

Registered in pyproject.toml ([tool.importlinter] contract_types) and run by `lint-imports`.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


def package_of(module: str) -> str:
    """`siyu.tags.auto` → `siyu.tags`: the top-level package a module belongs to."""
    return ".".join(module.split(".")[:2])


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass(frozen=True, order=True)
class Breach:
    importer: str
    line: int
    what: str

    def render(self) -> str:
        return f"{self.importer}:{self.line}: {self.what}"


class DoorsContract(Contract):
    """A domain imports another domain only through its doors."""

    type_name = "doors"

    domains = fields.ListField(subfield=fields.StringField())
    doors = fields.ListField(subfield=fields.StringField())
    more_doors = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        domains = {str(d) for d in self.domains}  # type: ignore[attr-defined]
        doors = {str(d) for d in self.doors}  # type: ignore[attr-defined]
        listed = {str(d) for d in self.more_doors}  # type: ignore[attr-defined]
        breaches: list[Breach] = []
        for importer in sorted(graph.modules):
            home = package_of(importer)
            if home not in domains:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                there = package_of(imported)
                if there == home or there not in domains:
                    continue
                rest = imported.split(".")[2:]
                if imported in listed or not rest or (len(rest) == 1 and rest[0] in doors):
                    continue
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    what = f"imports {imported}, not a door of {there}"
                    breaches.append(Breach(importer, int(detail["line_number"]), what))
        return ContractCheck(kept=not breaches, metadata={"breaches": breaches})

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(check)


class PrivateNamesContract(Contract):
    """No private name of another top-level package is imported or reached for."""

    type_name = "private_names"

    root = fields.StringField()

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        root = str(self.root)
        spec = importlib.util.find_spec(root)
        if spec is None or spec.origin is None:
            raise ValueError(f"cannot find the package {root}")
        folder = Path(spec.origin).parent
        breaches: list[Breach] = []
        for module in sorted(m for m in graph.modules if m == root or m.startswith(root + ".")):
            path = _file_of(folder, module)
            if path is not None:
                breaches.extend(private_breaches(module, path, graph.modules, root))
        return ContractCheck(kept=not breaches, metadata={"breaches": breaches})

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(check)


def _render(check: ContractCheck) -> None:
    for breach in sorted(check.metadata["breaches"]):
        output.print_error(breach.render())
    output.new_line()


def _file_of(folder: Path, module: str) -> Path | None:
    parts = module.split(".")[1:]
    package = folder.joinpath(*parts, "__init__.py")
    if package.is_file():
        return package
    plain = folder.joinpath(*parts).with_suffix(".py") if parts else None
    return plain if plain is not None and plain.is_file() else None


def private_breaches(module: str, path: Path, modules: set[str], root: str) -> Iterator[Breach]:
    """Imports of another package's private names in one module, and attribute reads of them
    through a module of that package imported under a name (packages of `root` only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    home = package_of(module)
    bound: dict[str, str] = {}  # a local name → the module of another package it names
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(module, is_package, node)
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if _is_other(source, home, root) and (
                    is_private(alias.name) or any(is_private(p) for p in source.split("."))
                ):
                    yield Breach(module, node.lineno, f"imports {target}")
                if target in modules and package_of(target) != home:
                    bound[alias.asname or alias.name] = target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_other(alias.name, home, root) and any(
                    is_private(p) for p in alias.name.split(".")
                ):
                    yield Breach(module, node.lineno, f"imports {alias.name}")
                if alias.asname and alias.name in modules and package_of(alias.name) != home:
                    bound[alias.asname] = alias.name
                elif not alias.asname:
                    top = alias.name.split(".")[0]
                    bound[top] = top  # `import a.b.c` binds `a`; a.b.c._x is read through it
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not is_private(node.attr):
            continue
        dotted = _dotted(node.value)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        target = bound.get(head, "")
        target = f"{target}.{rest}" if target and rest else target
        if target in modules and package_of(target) != home:
            yield Breach(module, node.lineno, f"reads {target}.{node.attr}")


def _is_other(module: str, home: str, root: str) -> bool:
    """Whether `module` is in another top-level package of `root` than `home`."""
    return module.startswith(root + ".") and package_of(module) != home


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _dotted(node: ast.expr) -> str | None:
    """`siyu.console.dashboard` for the expression siyu.console.dashboard, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None
