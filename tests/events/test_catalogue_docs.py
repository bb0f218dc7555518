"""docs/events.md shows the event catalogue as the code has it."""

from __future__ import annotations

from pathlib import Path

from siyu.events import catalogue

DOCS = Path(__file__).parents[2] / "docs" / "events.md"


def test_the_docs_list_the_catalogue_the_code_uses():
    text = DOCS.read_text(encoding="utf-8")
    shown = text.split("<!-- catalogue:start -->\n")[1].split("<!-- catalogue:end -->")[0]
    assert shown == catalogue.markdown(), "regenerate it: python -m siyu.events.catalogue"
    assert "`Task Assigned` | brand" in shown
