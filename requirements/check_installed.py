"""Fails when pyproject.toml asks for a package the venv lacks, so a lock that fell behind a new
dependency says `make lock` at install time instead of an ImportError in some test later.

Usage: python requirements/check_installed.py [EXTRA ...]   (no extra: the runtime only)
"""

import sys
from importlib.metadata import PackageNotFoundError, requires, version

from packaging.requirements import Requirement


def unmet(extras: list[str]) -> list[str]:
    problems = []
    for line in requires("siyu") or []:
        req = Requirement(line)
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in ["", *extras]):
            continue
        try:
            found = version(req.name)
        except PackageNotFoundError:
            problems.append(f"{req.name}: not installed (pyproject.toml asks for {req.specifier})")
            continue
        if not req.specifier.contains(found, prereleases=True):
            problems.append(f"{req.name}: {found} installed, pyproject.toml asks {req.specifier}")
    return problems


if __name__ == "__main__":
    problems = unmet(sys.argv[1:])
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit("requirements/*.lock do not match pyproject.toml: run `make lock` and commit them")
