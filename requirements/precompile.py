"""Writes the bytecode of what Siyu runs, once, when `make` installs it.

The libraries are installed with --no-compile (the bytecode of their tests and of what Siyu never
imports would be 80 MB nobody runs), on the grounds that Python compiles a module on its first
import and keeps the result. It does not keep it when PYTHONDONTWRITEBYTECODE is set, as it is in
many containers: every `siyu` command then compiled SQLAlchemy, pydantic and rich again, 2-5 s of
CPU before doing anything. This imports Siyu's entry points, then compiles the whole of each
library they loaded (a library imports more later, Ibis its DuckDB backend on the first query)
and Siyu itself, tests left out.

Usage: python requirements/precompile.py
"""

import compileall
import importlib
import re
import sys
import sysconfig
from pathlib import Path

# What the `siyu` command, the server, the worker and the migrations import, and what they load
# only when they first need it (the lake's writers and readers, the report engine).
ENTRY_POINTS = (
    "siyu.cli",
    "siyu.app",
    "siyu.work",
    "siyu.models",
    "siyu.subscribers",
    "siyu.snapshots",
    "siyu.events.shipper",
    "siyu.core.lake_tables",
    "siyu.analytics.runner",
    "alembic.command",
    "alembic.runtime.migration",
    "uvicorn",
    "duckdb",
    "fsspec.implementations.local",
    "pyarrow.parquet",
    "ibis.backends.duckdb",
)
TESTS = re.compile(r"[/\\]tests?[/\\]")


def main() -> None:
    for name in ENTRY_POINTS:
        importlib.import_module(name)
    from siyu.cli import DOMAINS

    for module, _, _ in DOMAINS.values():
        importlib.import_module(module)
    libraries = {Path(sysconfig.get_path(p)).resolve() for p in ("purelib", "platlib")}
    roots: set[Path] = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        for library in libraries:
            if path.is_relative_to(library):
                roots.add(library / path.relative_to(library).parts[0])
    roots.add(Path(importlib.import_module("siyu").__file__).resolve().parent)
    for root in sorted(roots):
        # quiet=2: a library's file that does not compile (a template, an old example) is its
        # own business; Python would fail on it the same way at import.
        if root.is_dir():
            compileall.compile_dir(root, quiet=2, rx=TESTS, workers=0)
        elif root.suffix == ".py":
            compileall.compile_file(root, quiet=2)
    print(f"bytecode written for Siyu and the {len(roots) - 1} libraries it imports")


if __name__ == "__main__":
    main()
