"""Media types and content negotiation (TAXII 2.1 section 1.6.8)."""

from __future__ import annotations

TAXII_21 = "application/taxii+json;version=2.1"
STIX_21 = "application/stix+json;version=2.1"


def _parse(media_range: str) -> tuple[str, dict[str, str]]:
    kind, *params = (part.strip() for part in media_range.split(";"))
    parameters: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"')
    return kind.lower(), parameters


def accepts_taxii(accept: str | None) -> bool:
    """True if the Accept header admits TAXII 2.1 JSON.

    A missing header, ``*/*`` and ``application/*`` admit it; ``application/taxii+json`` admits
    it without a version or with version 2.1; a ``q=0`` range refuses it.
    """
    if accept is None or not accept.strip():
        return True
    for media_range in accept.split(","):
        kind, params = _parse(media_range)
        if params.get("q") in {"0", "0.0", "0.00", "0.000"}:
            continue
        if kind in {"*/*", "application/*"}:
            return True
        if kind == "application/taxii+json" and params.get("version", "2.1") == "2.1":
            return True
    return False


def is_taxii_content(content_type: str | None) -> bool:
    """True for ``application/taxii+json`` with version 2.1 (or no version)."""
    if not content_type:
        return False
    kind, params = _parse(content_type)
    return kind == "application/taxii+json" and params.get("version", "2.1") == "2.1"
