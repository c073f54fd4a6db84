"""Finding STIX objects in the shared third-party data, whatever shape a file has."""

from __future__ import annotations

from typing import Any


def stix_objects_in(value: Any) -> list[dict[str, Any]]:
    """Objects anywhere in a parsed file: bundles, bare arrays, TAXII server dumps."""
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            kind, ident = item.get("type"), item.get("id")
            if (
                isinstance(kind, str)
                and kind != "bundle"
                and isinstance(ident, str)
                and ident.startswith(kind + "--")
            ):
                found.append(item)
                continue
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
