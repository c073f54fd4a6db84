"""The package's layers, read from its imports: lower layers never import higher ones, and the
store is reached only through the service.

The rules (STYLE: "Policy never imports storage, and storage never decides access"):

- ``stix`` imports nothing of the node but the error tree and the clock;
- ``policy`` is pure: the standard library, ``stix`` and the error tree;
- ``storage`` imports nothing above it (no policy, service, HTTP, federation or CLI);
- ``community`` and ``orcon`` sit below the service, on ``policy`` and ``stix``;
- ``audit`` (Merkle trees, signed notes, entries) is pure: it imports nothing of the node;
- ``sources`` (anonymity, sealing, scrubbing) is pure too: only the error tree;
- ``observables`` (normalization, extraction) reads patterns through ``stix`` and nothing else;
- ``matching`` (the PSI protocol, budgets) is pure;
- ``economic`` (the coercion and supply-chain extensions, their rules, spreadsheet rows) is
  pure too, on ``stix``, ``policy`` (TLP names) and ``community`` (country codes);
- ``storage`` keeps the index rows ``observables`` defines;
- the service imports no HTTP layer, federation or CLI module;
- nothing outside ``service`` and ``storage`` reaches the store;
- only the gate (``service/gate.py`` and the views it builds, ``service/views.py``) calls
  the access decision and the rights rules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "allyshare"

HTTP_AND_ABOVE = ("taxii", "manage", "server", "federation", "cli", "demo", "interchange", "ui")
ALLOWED: dict[str, tuple[str, ...]] = {
    "stix": ("errors", "clock", "stix"),
    "policy": ("errors", "stix", "policy"),
    "storage": ("errors", "clock", "stix", "storage", "audit", "observables"),
    "audit": ("audit",),
    "community": ("errors", "policy", "community"),
    "orcon": ("errors", "clock", "keys", "policy", "stix", "orcon"),
    "sources": ("errors", "sources"),
    "observables": ("stix", "observables"),
    "matching": ("matching",),
    "economic": ("errors", "stix", "policy", "community", "economic"),
}
THE_GATE = {"service/gate.py", "service/views.py"}
DECISIONS = {"decide", "decide_label", "collection_rights", "administers"}


def modules() -> list[Path]:
    return sorted(
        path for path in SOURCE.rglob("*.py") if "migrations" not in path.relative_to(SOURCE).parts
    )


def imported(path: Path) -> set[str]:
    """The allyshare modules a file imports, as ``layer`` names (``policy``, ``service``...)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "allyshare" and len(parts) > 1:
                found.add(parts[1])
    return found


def layer_of(path: Path) -> str:
    relative = path.relative_to(SOURCE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_lower_layers_import_nothing_above_them(layer: str) -> None:
    wrong = {
        str(path.relative_to(SOURCE)): sorted(imported(path) - set(ALLOWED[layer]))
        for path in modules()
        if layer_of(path) == layer
    }
    assert {name: found for name, found in wrong.items() if found} == {}


def test_the_service_imports_no_http_federation_or_cli() -> None:
    service = [path for path in modules() if layer_of(path) == "service"]
    assert service
    for path in service:
        assert not imported(path) & set(HTTP_AND_ABOVE), path


def test_only_the_service_and_storage_reach_the_store() -> None:
    reaching = set()
    for path in modules():
        if layer_of(path) in ("service", "storage"):
            continue
        tree = ast.parse(path.read_text())
        touches = any(
            isinstance(n, ast.Attribute) and n.attr in ("store", "_store") for n in ast.walk(tree)
        )
        if touches or "Store" in imported_names(tree, "allyshare.storage"):
            reaching.add(str(path.relative_to(SOURCE)))
    assert reaching == set()


def test_only_the_gate_decides() -> None:
    deciding = set()
    for path in modules():
        if layer_of(path) == "policy":
            continue
        tree = ast.parse(path.read_text())
        # Asking the gate (``gate.decide(...)``) is not deciding; naming the rule is.
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        if (names | imported_names(tree, "allyshare.policy")) & DECISIONS:
            deciding.add(str(path.relative_to(SOURCE)))
    assert deciding <= THE_GATE


def imported_names(tree: ast.Module, module: str) -> set[str]:
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(module)
        for alias in node.names
    }
