"""Rows of a spreadsheet read as economic-coercion incidents or supply-chain exposures (issue 15
part 3), for members who keep them in spreadsheets: one row per object, under the header the
README documents (`INCIDENT_COLUMNS`, `EXPOSURE_COLUMNS`).

Each row is checked here against the same rules the node applies on write (the STIX rules and
the extensions'), so every problem comes back as row, column and message at once, instead of
one object id per failure from the node. Companies and vendors are named, not referenced: a
name becomes an ``identity`` whose id is derived from the name (`identity_for`), so the same
vendor in two rows, two files or two imports is one object.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from allyshare.economic.extensions import (
    COERCION_EXTENSION_ID,
    EXPOSURE_EXTENSION_ID,
    EXPOSURE_TYPE,
)
from allyshare.economic.validation import check_economic
from allyshare.errors import InvalidInput, InvalidObject
from allyshare.policy import Tlp
from allyshare.stix.timestamps import timestamp_error
from allyshare.stix.validation import check_object

__all__ = [
    "EXPOSURE_COLUMNS",
    "INCIDENT_COLUMNS",
    "KINDS",
    "LIST_SEPARATOR",
    "Kind",
    "ReadRows",
    "Row",
    "RowError",
    "identities_of",
    "identity_for",
    "parse_markings",
    "read_rows",
]

Kind = Literal["incidents", "exposures"]
KINDS: Final = ("incidents", "exposures")

INCIDENT_COLUMNS: Final = {
    "name": True,
    "description": False,
    "coercing_state": True,
    "targeted_country": True,
    "targeted_sectors": True,
    "targeted_companies": False,
    "measures": True,
    "stated_pretext": False,
    "believed_trigger": False,
    "trigger_url": False,
    "start": True,
    "end": False,
    "impact_currency": False,
    "impact_min": False,
    "impact_max": False,
    "impact_basis": False,
    "evidence_urls": False,
    "markings": False,
}
"""The incident header, each column with whether it is required (the README's table)."""
EXPOSURE_COLUMNS: Final = {
    "component_category": True,
    "vendor": True,
    "vendor_country": True,
    "share": True,
    "criticality": True,
    "substitutes": False,
    "time_to_substitute_months": False,
    "as_of": False,
    "markings": False,
}
"""The exposure header, each column with whether it is required."""

_COLUMNS: Final[Mapping[str, Mapping[str, bool]]] = {
    "incidents": INCIDENT_COLUMNS,
    "exposures": EXPOSURE_COLUMNS,
}
# Where a property of the object came from, to name the column of a rule it breaks.
_PROPERTY_COLUMNS: Final = {
    "object_marking_refs": "markings",
    "external_references": "evidence_urls",
    "targeted_company_refs": "targeted_companies",
    "believed_trigger.description": "believed_trigger",
    "believed_trigger.external_reference": "trigger_url",
    "estimated_impact.currency": "impact_currency",
    "estimated_impact.min": "impact_min",
    "estimated_impact.max": "impact_max",
    "estimated_impact.basis": "impact_basis",
    "vendor_ref": "vendor",
    "vendor_name": "vendor",
    "substitute_refs": "substitutes",
}
_KEYS: Final[Mapping[Kind, tuple[str, ...]]] = {
    "incidents": ("name", "coercing_state", "targeted_country", "start"),
    "exposures": ("component_category", "vendor"),
}
"""The columns that tell one contributor's objects apart (spaces collapsed, case ignored):
a member has one exposure per vendor in a category, whose share changes over time."""
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MARKING_RE = re.compile(r"marking-definition--[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}")
_NAMESPACE: Final = uuid.UUID("0d8b1c8e-3a52-4c1e-9a7b-6f2e5d4c3b21")
_IDENTITY_CREATED: Final = "1970-01-01T00:00:00.000Z"
"""Every named identity's only version: the same name gives the same object, byte for byte,
so importing it again is a duplicate, never a new version."""
LIST_SEPARATOR: Final = ";"


@dataclass(frozen=True)
class RowError:
    """One problem with one cell (or with a whole row, or the header: ``column`` None)."""

    row: int
    """The row as a spreadsheet numbers it: the header is row 1."""
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Row:
    """A row that passed: its object, and the identities it names (with its markings)."""

    number: int
    obj: dict[str, Any]
    identities: list[dict[str, Any]]


@dataclass
class ReadRows:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def identity_for(name: str, markings: Sequence[str] = ()) -> dict[str, Any]:
    """The organization ``identity`` for a company or vendor named in a spreadsheet; its id is
    a UUIDv5 of the name (spaces collapsed, case folded), so re-imports do not duplicate it."""
    cleaned = " ".join(name.split())
    obj: dict[str, Any] = {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid.uuid5(_NAMESPACE, 'company:' + cleaned.casefold())}",
        "created": _IDENTITY_CREATED,
        "modified": _IDENTITY_CREATED,
        "name": cleaned,
        "identity_class": "organization",
    }
    if markings:
        obj["object_marking_refs"] = list(markings)
    return obj


def parse_markings(text: str) -> list[str]:
    """Marking-definition ids from ``TLP:GREEN; marking-definition--...``: TLP levels by name
    (``amber+strict``, TLP 1.0 ``white`` as CLEAR) and any marking by its id."""
    refs: list[str] = []
    for item in _split(text):
        ref = item.lower() if _MARKING_RE.fullmatch(item.lower()) else Tlp.parse(item).marking_id
        if ref not in refs:
            refs.append(ref)
    return refs


def read_rows(
    kind: Kind,
    text: str,
    *,
    contributor: str,
    now: str,
    markings: Sequence[str] = (),
) -> ReadRows:
    """Every row of ``text`` (CSV with a header) as its object, or its errors.

    ``markings`` mark rows whose ``markings`` cell is empty. An object's id is a UUIDv5 of
    ``contributor`` and what identifies the object (`_KEYS`), so a corrected row imported
    again is a new version of the same object, never a second one the views would count
    twice; two members importing the same public incident make two (each member's report
    counts for itself). ``now`` is the objects' created and modified.
    """
    columns = _COLUMNS[kind]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or ()]
    read = ReadRows()
    if not header:
        read.errors.append(RowError(1, None, "the file is empty: it needs a header row"))
        return read
    reader.fieldnames = header
    for name in header:
        if name not in columns:
            read.errors.append(
                RowError(1, name, f"unknown column; the {kind} header has {', '.join(columns)}")
            )
    for name, required in columns.items():
        if required and name not in header:
            read.errors.append(RowError(1, name, "required column missing"))
    if read.errors:
        return read
    build = _incident if kind == "incidents" else _exposure
    first_of: dict[str, int] = {}
    for number, record in enumerate(reader, start=2):
        if None in record:
            read.errors.append(
                RowError(number, None, f"more cells than the header's {len(header)} columns")
            )
            continue
        cells = {name: (value or "").strip() for name, value in record.items()}
        if not any(cells.values()):
            continue
        row = _read_row(kind, number, cells, build, contributor, now, markings)
        if isinstance(row, list):
            read.errors.extend(row)
            continue
        first = first_of.setdefault(row.obj["id"], number)
        if first != number:
            same = " and ".join(_KEYS[kind])
            read.errors.append(RowError(number, None, f"the same {same} as row {first}"))
            continue
        read.rows.append(row)
    return read


_Build = Callable[["_Cells", Sequence[str]], tuple[dict[str, Any], list[dict[str, Any]]]]


def _read_row(
    kind: Kind,
    number: int,
    cells: dict[str, str],
    build: _Build,
    contributor: str,
    now: str,
    defaults: Sequence[str],
) -> Row | list[RowError]:
    columns = _COLUMNS[kind]
    errors = [
        RowError(number, name, "is required")
        for name, required in columns.items()
        if required and not cells.get(name)
    ]
    if errors:
        return errors
    row = _Cells(number, cells)
    markings = defaults
    if cells.get("markings"):
        try:
            markings = parse_markings(cells["markings"])
        except InvalidInput as exc:
            return [RowError(number, "markings", str(exc))]
    obj, identities = build(row, markings)
    if row.errors:
        return row.errors
    key = [contributor, *(" ".join(cells[name].split()).casefold() for name in _KEYS[kind])]
    content = json.dumps(key, separators=(",", ":"))
    stix_type = str(obj["type"])
    obj = {
        "type": stix_type,
        "spec_version": "2.1",
        "id": f"{stix_type}--{uuid.uuid5(_NAMESPACE, content)}",
        "created": now,
        "modified": now,
        **{key: value for key, value in obj.items() if key != "type"},
    }
    if markings:
        obj["object_marking_refs"] = list(markings)
    try:
        check_object(obj)
        check_economic(obj)  # its warnings come with the node's answer, with any others
    except InvalidObject as exc:
        prop = exc.prop or ""
        column = _PROPERTY_COLUMNS.get(prop, prop if prop in columns else None)
        return [RowError(number, column, f"'{prop}' {exc.reason}" if prop else exc.reason)]
    return Row(number, obj, identities)


class _Cells:
    """One row's cells, read into property values; what does not parse is noted per column,
    so one row reports all its unreadable cells together."""

    def __init__(self, number: int, cells: Mapping[str, str]) -> None:
        self.number = number
        self.cells = cells
        self.errors: list[RowError] = []

    def text(self, column: str) -> str | None:
        return self.cells.get(column) or None

    def items(self, column: str) -> list[str]:
        return _split(self.cells.get(column, ""))

    def timestamp(self, column: str) -> str | None:
        value = self.text(column)
        if value is None:
            return None
        stamp = f"{value}T00:00:00Z" if _DATE_RE.fullmatch(value) else value
        if timestamp_error(stamp) is not None:
            self.errors.append(
                RowError(
                    self.number,
                    column,
                    f"{value!r} is not a date (YYYY-MM-DD) or a timestamp (YYYY-MM-DDTHH:MM:SSZ)",
                )
            )
        return stamp

    def number_of(self, column: str, *, percent: bool = False) -> float | None:
        value = self.text(column)
        if value is None:
            return None
        scale = 1.0
        if percent and value.endswith("%"):
            value, scale = value[:-1].strip(), 100.0
        try:
            number = float(value.replace(" ", ""))
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            self.errors.append(RowError(self.number, column, f"{value!r} is not a number"))
            return None
        return number / scale

    def whole_number(self, column: str) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        if not value.isdecimal():
            self.errors.append(
                RowError(self.number, column, f"{value!r} is not a whole number, 0 or more")
            )
            return None
        return int(value)


def _incident(row: _Cells, markings: Sequence[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    companies = [identity_for(name, markings) for name in row.items("targeted_companies")]
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "coercing_state": row.text("coercing_state"),
        "targeted_country": row.text("targeted_country"),
        "targeted_sectors": row.items("targeted_sectors"),
        "measures": row.items("measures"),
        "start": row.timestamp("start"),
    }
    if companies:
        extension["targeted_company_refs"] = [company["id"] for company in companies]
    _put(extension, "stated_pretext", row.text("stated_pretext"))
    trigger = row.text("believed_trigger")
    trigger_url = row.text("trigger_url")
    if trigger is not None or trigger_url is not None:
        extension["believed_trigger"] = {"description": trigger} if trigger else {}
        if trigger_url is not None:
            reference = {"source_name": "believed trigger", "url": trigger_url}
            extension["believed_trigger"]["external_reference"] = reference
    _put(extension, "end", row.timestamp("end"))
    impact = {
        "currency": row.text("impact_currency"),
        "min": row.number_of("impact_min"),
        "max": row.number_of("impact_max"),
        "basis": row.text("impact_basis"),
    }
    if any(value is not None for value in impact.values()):
        extension["estimated_impact"] = {
            key: value for key, value in impact.items() if value is not None
        }
    obj: dict[str, Any] = {"type": "incident", "name": row.text("name")}
    _put(obj, "description", row.text("description"))
    urls = row.items("evidence_urls")
    if urls:
        obj["external_references"] = [{"source_name": "evidence", "url": url} for url in urls]
    obj["extensions"] = {COERCION_EXTENSION_ID: extension}
    return obj, companies


def _exposure(row: _Cells, markings: Sequence[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    vendor = identity_for(row.text("vendor") or "", markings)
    substitutes = [identity_for(name, markings) for name in row.items("substitutes")]
    obj: dict[str, Any] = {
        "type": EXPOSURE_TYPE,
        "extensions": {EXPOSURE_EXTENSION_ID: {"extension_type": "new-sdo"}},
        "component_category": row.text("component_category"),
        "vendor_ref": vendor["id"],
        "vendor_name": vendor["name"],
        "vendor_country": row.text("vendor_country"),
        "share": row.number_of("share", percent=True),
        "criticality": row.text("criticality"),
    }
    if substitutes:
        obj["substitute_refs"] = [substitute["id"] for substitute in substitutes]
    _put(obj, "time_to_substitute_months", row.whole_number("time_to_substitute_months"))
    _put(obj, "as_of", row.timestamp("as_of"))
    return obj, [vendor, *substitutes]


def _put(target: dict[str, Any], name: str, value: object) -> None:
    if value is not None:
        target[name] = value


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


def identities_of(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """The identities the rows name, each once: as the first row naming it marks it."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        for identity in row.identities:
            found.setdefault(identity["id"], identity)
    return list(found.values())
