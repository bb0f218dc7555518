"""Siyu's own import contracts (tools/importrules.py) catch what they are for: a domain reaching
past another's doors, and a private name taken from another package."""

from __future__ import annotations

from pathlib import Path

import grimp

from tools.importrules import DoorsContract, private_breaches


def _graph(*edges: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in edges:
        graph.add_module(importer)
        graph.add_module(imported)
        graph.add_import(importer=importer, imported=imported, line_number=3, line_contents="")
    return graph


def _doors() -> DoorsContract:
    options = {
        "domains": ["shop.tags", "shop.segments", "shop.customers"],
        "doors": ["service", "models"],
        "more_doors": ["shop.segments.rules"],
    }
    return DoorsContract(name="doors", session_options={}, contract_options=options)


def test_a_domain_may_import_another_through_its_doors():
    graph = _graph(
        ("shop.tags.auto", "shop.segments.service"),
        ("shop.tags.auto", "shop.segments.rules"),
        ("shop.tags.service", "shop.customers.models"),
        ("shop.tags.service", "shop.customers"),
        ("shop.tags.auto", "shop.tags.service"),
        ("shop.console.pages", "shop.segments.compile"),  # not a domain: not held to doors
    )
    assert _doors().check(graph, verbose=False).kept


def test_a_domain_reaching_past_the_doors_breaks_the_contract():
    graph = _graph(("shop.tags.auto", "shop.segments.compile"))
    check = _doors().check(graph, verbose=False)
    assert not check.kept
    assert [b.render() for b in check.metadata["breaches"]] == [
        "shop.tags.auto:3: imports shop.segments.compile, not a door of shop.segments"
    ]


def test_private_names_of_another_package_are_found(tmp_path: Path):
    module = tmp_path / "auto.py"
    module.write_text(
        "from shop.segments.service import _cache, find\n"
        "from shop.tags.service import _own\n"
        "from typer import _click\n"
        "from shop.console import dashboard\n"
        "import shop.customers.service\n"
        "\n"
        "def f():\n"
        "    return dashboard._views, shop.customers.service._iso, dashboard.public\n"
    )
    modules = {"shop.segments.service", "shop.console.dashboard", "shop.customers.service"}
    found = [b.render() for b in private_breaches("shop.tags.auto", module, modules, "shop")]
    assert sorted(found) == [
        "shop.tags.auto:1: imports shop.segments.service._cache",
        "shop.tags.auto:8: reads shop.console.dashboard._views",
        "shop.tags.auto:8: reads shop.customers.service._iso",
    ]
