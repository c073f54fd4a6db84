"""Reading what an audit entry says of objects, as tests compare it."""

from __future__ import annotations

from typing import Any


def named(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The versions an entry names, each as ``{"id", "version", "originator"}`` and
    ``"withheld"`` where redaction withheld properties, originators in sorted order."""
    found = []
    for originator, refs in entry.get("objects", {}).items():
        for ref in refs:
            version: dict[str, Any] = {"id": ref[0], "version": ref[1], "originator": originator}
            if len(ref) > 2:
                version["withheld"] = ref[2]
            found.append(version)
    return found
