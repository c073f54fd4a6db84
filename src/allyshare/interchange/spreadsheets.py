"""Importing a spreadsheet of economic-coercion incidents or supply-chain exposures (CSV, one
row each) into a collection: the pipeline the CLI and the management API share.

Rows are read and checked first (`allyshare.economic.spreadsheets`); then what they make is
written through the node like any write, so the gate judges every object. By default the
import is all or nothing, both for rows that do not read and for objects the node refuses:
a spreadsheet half imported leaves its owner to find which rows are in. With ``skip_bad``,
the good rows are stored and the bad ones reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from allyshare.clock import format_us, now_us, parse_us
from allyshare.economic import COERCION_EXTENSION_ID
from allyshare.economic.spreadsheets import Kind, RowError, identities_of, read_rows
from allyshare.errors import InvalidInput
from allyshare.observables import normalize_name
from allyshare.policy import TLP_MARKING_IDS
from allyshare.service import WITHDRAWN, Node
from allyshare.storage import User, VersionFilter

__all__ = ["SpreadsheetImport", "import_csv"]

_CHUNK: Final = 500
"""Object ids per read: a query's parameters stay within every database's limit."""


@dataclass
class SpreadsheetImport:
    """What became of a spreadsheet: whether it was refused (all or nothing, and something
    was wrong), the counts of objects stored and already held, problems and warnings by row."""

    refused: bool = False
    stored: int = 0
    duplicate: int = 0
    rows: int = 0
    """Rows read as objects (stored or not)."""
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    sent: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Each good row's object as sent to the node, by row number: what a page naming it
    must be marked for, without reading it back (a read is recorded)."""

    @property
    def objects(self) -> dict[int, str]:
        """Each good row's object id, by row number: none when the import was refused, since
        nothing was stored."""
        if self.refused:
            return {}
        return {number: obj["id"] for number, obj in self.sent.items()}


def import_csv(
    node: Node,
    actor: User,
    collection_id: str,
    kind: Kind,
    text: str,
    *,
    markings: Sequence[str] = (),
    skip_bad: bool = False,
) -> SpreadsheetImport:
    """Read ``text`` as ``kind`` rows and store them in ``collection_id`` as ``actor``;
    ``markings`` (marking-definition ids) mark rows whose ``markings`` cell is empty.

    A named company or vendor is the identity of that name the actor already sees in the
    collection, whoever shared it (the oldest created, then the smallest id, when several
    bear the name), so views keyed by it count one vendor once; only a name nobody shared
    yet is sent as a new identity. A row whose object the actor already sees with the same
    content is a duplicate, not a new version; a changed row is a new version keeping the
    object's ``created``, as STIX requires. The reads this needs are recorded as part of
    the import, naming only what they returned.
    """
    node.collection_for(actor, collection_id, "write")
    contributor = actor.organization_id or actor.name
    now = now_us()
    read = read_rows(kind, text, contributor=contributor, now=format_us(now), markings=markings)
    if not read.rows and not read.errors:
        raise InvalidInput("the file has a header but no rows")
    outcome = SpreadsheetImport(rows=len(read.rows), errors=list(read.errors))
    if read.errors and not skip_bad:
        outcome.refused = True
        return outcome
    detail = {"import": "csv", "kind": kind}
    identities = identities_of(read.rows)
    shared = _shared(node, actor, collection_id, identities, detail)
    objects = [identity for identity in identities if identity["id"] not in shared]
    pointed = [(row, _pointed(row.obj, shared)) for row in read.rows]
    held = _held(node, actor, collection_id, [obj["id"] for _, obj in pointed], detail)
    rows_of: dict[str, int] = {}
    for row in read.rows:
        for identity in row.identities:
            rows_of.setdefault(identity["id"], row.number)
    for row, obj in pointed:
        existing = held.get(obj["id"])
        if existing is not None and _content(existing) == _content(obj):
            outcome.sent[row.number] = existing
            outcome.duplicate += 1
            continue
        if existing is not None:
            later = max(now, parse_us(existing["modified"]) + 1)
            obj = obj | {"created": existing["created"], "modified": format_us(later)}
            dropped = _dropped_markings(existing, obj)
            if dropped:
                outcome.warnings.append(
                    RowError(
                        row.number,
                        "markings",
                        f"the new version no longer carries {', '.join(dropped)}, which the "
                        "version held does: readers will judge it by its own markings",
                    )
                )
        outcome.sent[row.number] = obj
        objects.append(obj)
        rows_of[obj["id"]] = row.number
    if not objects:
        return outcome
    status = node.add_objects(actor, collection_id, objects, atomic=not skip_bad)
    for failure in status.failures:
        if failure["message"] != WITHDRAWN:
            outcome.errors.append(RowError(rows_of[failure["id"]], None, failure["message"]))
    outcome.errors.sort(key=lambda error: error.row)
    for success in status.successes:
        message, _, warning = success["message"].partition("; warning: ")
        if message.partition(";")[0] == "stored":
            outcome.stored += 1
        else:
            outcome.duplicate += 1
        if warning:
            outcome.warnings.append(RowError(rows_of[success["id"]], None, warning))
    outcome.warnings.sort(key=lambda warning: warning.row)
    outcome.refused = not skip_bad and status.failure_count > 0
    return outcome


def _shared(
    node: Node,
    actor: User,
    collection_id: str,
    identities: list[dict[str, Any]],
    detail: Mapping[str, object],
) -> dict[str, str]:
    """For each named identity the actor already sees one of by name in the collection (its
    own derived id, or a member's identity of any id), that one's id, by the derived id.

    Several of one name: the oldest created, then the smallest id, so every import of the
    name picks the same one as long as it stays visible."""
    if not identities:
        return {}
    names = [identity["name"] for identity in identities]
    best: dict[str, tuple[int, str]] = {}
    for item in node.read_named(actor, collection_id, "identity", names, detail=detail):
        obj = orjson.loads(item.body)
        name = normalize_name(obj.get("name"))
        created = obj.get("created")
        if name is None or not isinstance(created, str):
            continue
        rank = (parse_us(created), item.object_id)
        if name not in best or rank < best[name]:
            best[name] = rank
    shared: dict[str, str] = {}
    for identity in identities:
        found = best.get(normalize_name(identity["name"]) or "")
        if found is not None:
            shared[identity["id"]] = found[1]
    return shared


def _pointed(obj: dict[str, Any], shared: Mapping[str, str]) -> dict[str, Any]:
    """The row's object referring to the shared identities instead of the derived ones."""
    if not shared:
        return obj
    pointed = dict(obj)
    if "vendor_ref" in pointed:
        pointed["vendor_ref"] = shared.get(pointed["vendor_ref"], pointed["vendor_ref"])
    if "substitute_refs" in pointed:
        pointed["substitute_refs"] = _unique(shared.get(r, r) for r in pointed["substitute_refs"])
    extensions = pointed.get("extensions", {})
    coercion = extensions.get(COERCION_EXTENSION_ID)
    if coercion is not None and "targeted_company_refs" in coercion:
        refs = _unique(shared.get(r, r) for r in coercion["targeted_company_refs"])
        pointed["extensions"] = extensions | {
            COERCION_EXTENSION_ID: coercion | {"targeted_company_refs": refs}
        }
    return pointed


def _unique(refs: Iterable[str]) -> list[str]:
    """Two names may fold onto one shared identity; a list of refs names it once."""
    return list(dict.fromkeys(refs))


def _held(
    node: Node,
    actor: User,
    collection_id: str,
    ids: list[str],
    detail: Mapping[str, object],
) -> dict[str, dict[str, Any]]:
    """The latest version of each of these objects the actor sees, by id."""
    held: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        selection = VersionFilter(object_ids=tuple(ids[start : start + _CHUNK]))
        after: int | None = None
        while True:
            page = node.read_objects(
                actor, collection_id, selection, limit=_CHUNK, after=after, detail=detail
            )
            for item in page.items:
                held[item.object_id] = orjson.loads(item.body)
            if not page.more or not page.items:
                break
            after = page.items[-1].date_added
    return held


def _dropped_markings(held: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The object markings of the held version a new one lacks, TLP by name: a re-import
    with an empty markings cell and no default loosens what the object was shared under,
    which its importer should hear about."""
    kept = set(new.get("object_marking_refs") or ())
    return sorted(
        TLP_MARKING_IDS[ref].label if ref in TLP_MARKING_IDS else ref
        for ref in held.get("object_marking_refs") or ()
        if ref not in kept
    )


def _content(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What a row says of its object: all but when it was written."""
    return {key: value for key, value in obj.items() if key not in ("created", "modified")}
