"""Keep the zh-CN catalogs in step with the code: one .po per package folder (area).

`python -m siyu.core.catalogs` extracts every message from each area's Python and templates and
adds new ones to `translations/zh_Hans_CN/LC_MESSAGES/<area>.po`, keeping existing translations;
`--check` lists messages that have no translation (the test suite runs the same check).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).resolve().parent.parent
FOLDER = PACKAGE / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def areas() -> list[Path]:
    return sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def extracted(area: Path) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
        area, METHODS, OPTIONS, KEYWORDS, strip_comment_tags=True
    ):
        key = message if isinstance(message, str) else message[0]
        if key:
            found.setdefault(key, []).append((f"{area.name}/{filename}", lineno))
    return found


def load(area: Path) -> Catalog:
    po = FOLDER / f"{area.name}.po"
    if po.exists():
        with po.open("rb") as handle:
            return read_po(handle, locale="zh_Hans_CN")
    return Catalog(locale="zh_Hans_CN", project="siyu")


def missing() -> list[tuple[str, str]]:
    """(area, message) for every message in the code without a zh-CN translation."""
    gaps = []
    for area in areas():
        catalog = load(area)
        for message in extracted(area):
            entry = catalog.get(message)
            if entry is None or not entry.string:
                gaps.append((area.name, message))
    return gaps


def update() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for area in areas():
        messages = extracted(area)
        if not messages:
            continue
        catalog = load(area)
        for message, locations in messages.items():
            existing = catalog.get(message)
            catalog.add(message, existing.string if existing else "", locations=locations)
        for stale in [m.id for m in catalog if m.id and m.id not in messages]:
            del catalog[stale]
        with (FOLDER / f"{area.name}.po").open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True)


if __name__ == "__main__":
    if "--check" not in sys.argv:
        update()
    gaps = missing()
    for area, message in gaps:
        print(f"{area}: {message!r} has no zh-CN translation")
    sys.exit(1 if gaps else 0)
