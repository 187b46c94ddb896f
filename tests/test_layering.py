"""The import graph between top-level packages: the layering README.md describes, enforced.

    python tests/test_layering.py        # prints the graph (package -> packages it imports)

Services are joined only by the database (kiosk, vision, sync import none of each other),
station/ is the ground floor (it imports none of them), and HQ is its own product: it imports
station/ and the wire pieces of sync/ only, and nothing imports it. Lazy imports inside
functions count too.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("station", "kiosk", "vision", "sync", "hq")
HQ_MAY_USE = {"station", "sync.envelope", "sync.mqtt"}


def imports() -> dict[str, set[str]]:
    """{package: every module of another top-level package that its code imports}."""
    graph = {p: set() for p in PACKAGES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                graph[package] |= {n for n in names
                                   if n.split(".")[0] in PACKAGES and n.split(".")[0] != package}
    return graph


def package_graph() -> dict[str, set[str]]:
    return {p: {m.split(".")[0] for m in mods} for p, mods in imports().items()}


def test_no_import_cycle_between_packages():
    graph = package_graph()
    seen, stack = set(), []

    def visit(node):
        assert node not in stack, f"import cycle: {' -> '.join(stack + [node])}"
        if node in seen:
            return
        stack.append(node)
        for nxt in graph[node]:
            visit(nxt)
        stack.pop()
        seen.add(node)

    for package in PACKAGES:
        visit(package)


def test_services_import_none_of_each_other_and_station_imports_none():
    graph = package_graph()
    assert graph["station"] == set()
    for service in ("kiosk", "vision", "sync"):
        assert graph[service] <= {"station"}, (service, graph[service])


def test_hq_uses_station_and_the_wire_pieces_of_sync_only_and_nothing_uses_hq():
    modules = imports()
    assert {m for m in modules["hq"] if not m.startswith("station")} <= HQ_MAY_USE
    assert not [p for p, mods in modules.items() if any(m.split(".")[0] == "hq" for m in mods)]


if __name__ == "__main__":
    for package, modules in imports().items():
        print(f"{package:8} -> {', '.join(sorted(modules)) or '(nothing)'}")
    sys.exit(0)
