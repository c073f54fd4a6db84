"""Sharing agreements as operators write them: TOML or JSON documents, checked field by field.

The document shape (the last five fields optional)::

    name = "us-rok-tech"
    version = 1
    parties = { countries = ["USA", "KOR"], organizations = [] }
    categories = ["cyber-threat", "sensitive-technology", "supply-chain", "economic-coercion"]
    max_classification = "S"
    tlp_ceiling = "AMBER"
    propin_match_only = true
    aggregate_k = 3
    retention_days = 730            # kept that long after a node added it; without, until deleted
    anonymous_by_default = false    # contributors anonymous unless they ask otherwise
    reveal_approvals = 1            # 2: a second admin confirms a reveal
    scrub_pii = false               # personal data replaced before anything is stored
    match_budget = 10000            # values each organization may match a day per collection

A document that breaks a rule is refused whole, with every problem named, so an agreement is
never applied half-understood.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from allyshare.community.countries import is_country
from allyshare.errors import InvalidInput
from allyshare.policy import Agreement, Classification, Tlp

CATEGORIES = frozenset(
    {"cyber-threat", "sensitive-technology", "supply-chain", "economic-coercion"}
)
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_KNOWN_FIELDS = {
    "name",
    "version",
    "parties",
    "categories",
    "max_classification",
    "tlp_ceiling",
    "propin_match_only",
    "aggregate_k",
    "retention_days",
    "anonymous_by_default",
    "reveal_approvals",
    "scrub_pii",
    "match_budget",
}


def read_agreement_file(path: Path) -> Agreement:
    """Parse ``path`` as TOML (``.toml``) or JSON (anything else) and check it."""
    document = read_agreement_document(path)
    try:
        return agreement_from_document(document)
    except InvalidInput as exc:
        raise InvalidInput(f"{path}: {exc}") from None


def read_agreement_document(path: Path) -> Mapping[str, Any]:
    """The document in ``path``, parsed but not yet checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read: {exc}") from None
    try:
        document: Any = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            f"{path}: not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}"
        ) from None
    if not isinstance(document, Mapping):
        raise InvalidInput(f"{path}: an agreement is a table/object of fields")
    return document


def agreement_from_document(document: Mapping[str, Any]) -> Agreement:
    """The agreement a document declares, or :class:`InvalidInput` listing every problem."""
    problems: list[str] = []
    unknown = sorted(set(document) - _KNOWN_FIELDS)
    if unknown:
        problems.append(f"unknown fields {unknown}")

    def field(name: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
        value = document.get(name)
        if value is None:
            if required:
                problems.append(f"'{name}' is required")
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            problems.append(f"'{name}' has the wrong type ({type(value).__name__})")
            return None
        return value

    name = field("name", str)
    if name is not None and not _NAME.fullmatch(name):
        problems.append(f"'name' {name!r}: use lower-case letters, digits and hyphens")
    version = field("version", int)
    if version is not None and version < 1:
        problems.append("'version' must be 1 or more")
    parties = field("parties", Mapping)
    countries = _strings(parties, "countries", problems) if parties is not None else []
    organizations = _strings(parties, "organizations", problems) if parties is not None else []
    bad_countries = [c for c in countries if not is_country(c)]
    if bad_countries:
        problems.append(
            f"party countries must be ISO 3166-1 alpha-3 country codes, not {bad_countries}"
        )
    if parties is not None and not countries and not organizations:
        problems.append("an agreement needs at least one party country or organization")
    categories = field("categories", list)
    if categories is not None:
        unknown_categories = sorted({str(c) for c in categories} - CATEGORIES)
        if unknown_categories or not categories:
            problems.append(
                f"'categories' must be a non-empty list from {sorted(CATEGORIES)}"
                + (f"; unknown: {unknown_categories}" if unknown_categories else "")
            )
    classification = _level(field("max_classification", str), Classification.parse, problems)
    ceiling = _level(field("tlp_ceiling", str), Tlp.parse, problems)
    propin = field("propin_match_only", bool)
    k = field("aggregate_k", int)
    if k is not None and k < 1:
        problems.append("'aggregate_k' must be 1 or more")
    retention = field("retention_days", int, required=False)
    if retention is not None and retention < 1:
        problems.append("'retention_days' must be 1 or more")
    anonymous = field("anonymous_by_default", bool, required=False)
    approvals = field("reveal_approvals", int, required=False)
    if approvals is not None and approvals not in (1, 2):
        problems.append("'reveal_approvals' must be 1 or 2 (admins who reveal a contributor)")
    scrub = field("scrub_pii", bool, required=False)
    budget = field("match_budget", int, required=False)
    if budget is not None and budget < 1:
        problems.append("'match_budget' must be 1 or more (values a day)")
    if problems:
        raise InvalidInput("agreement refused: " + "; ".join(problems))
    return Agreement(
        name=name,
        version=version,
        party_countries=frozenset(countries),
        party_organizations=frozenset(organizations),
        categories=frozenset(categories),
        max_classification=classification,
        tlp_ceiling=ceiling,
        propin_match_only=propin,
        aggregate_k=k,
        retention_days=retention,
        anonymous_by_default=bool(anonymous),
        reveal_approvals=approvals or 1,
        scrub_pii=bool(scrub),
        match_budget=10_000 if budget is None else budget,
    )


def _strings(table: Mapping[str, Any], key: str, problems: list[str]) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"'parties.{key}' must be a list of strings")
        return []
    return value


def _level(text: str | None, parse: Any, problems: list[str]) -> Any:
    if text is None:
        return None
    try:
        return parse(text)
    except InvalidInput as exc:
        problems.append(str(exc))
        return None


def agreement_toml(agreement: Agreement) -> str:
    """The agreement as an operator writes it (the document shape above, every field given),
    so what a node holds can be read, compared and applied again as it is."""
    lines = [
        f"name = {_quoted(agreement.name)}",
        f"version = {agreement.version}",
        f"parties = {{ countries = {_list(agreement.party_countries)}, "
        f"organizations = {_list(agreement.party_organizations)} }}",
        f"categories = {_list(agreement.categories)}",
        f"max_classification = {_quoted(agreement.max_classification.name)}",
        f"tlp_ceiling = {_quoted(agreement.tlp_ceiling.label.removeprefix('TLP:'))}",
        f"propin_match_only = {_boolean(agreement.propin_match_only)}",
        f"aggregate_k = {agreement.aggregate_k}",
    ]
    if agreement.retention_days is not None:
        lines.append(f"retention_days = {agreement.retention_days}")
    lines += [
        f"anonymous_by_default = {_boolean(agreement.anonymous_by_default)}",
        f"reveal_approvals = {agreement.reveal_approvals}",
        f"scrub_pii = {_boolean(agreement.scrub_pii)}",
        f"match_budget = {agreement.match_budget}",
    ]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    # JSON's string escapes are TOML's basic-string escapes.
    return json.dumps(text, ensure_ascii=False)


def _list(values: frozenset[str]) -> str:
    return "[" + ", ".join(_quoted(value) for value in sorted(values)) + "]"


def _boolean(value: bool) -> str:
    return "true" if value else "false"
