"""Importing a spreadsheet of economic-coercion incidents or supply-chain exposures (CSV, one
row each) into a collection: the pipeline the CLI and the management API share.

Rows are read and checked first (`allyshare.economic.spreadsheets`); then what they make is
written through the node like any write, so the gate judges every object. By default the
import is all or nothing, both for rows that do not read and for objects the node refuses:
a spreadsheet half imported leaves its owner to find which rows are in. With ``skip_bad``,
the good rows are stored and the bad ones reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from allyshare.clock import format_us, now_us
from allyshare.economic.spreadsheets import Kind, RowError, identities_of, read_rows
from allyshare.service import WITHDRAWN, Node
from allyshare.storage import User, VersionFilter

__all__ = ["SpreadsheetImport", "import_csv"]


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
        """Each good row's object id, by row number."""
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

    A named company or vendor's identity is sent only if the actor does not see it in the
    collection already, so the first writer's stays the one everybody refers to.
    """
    node.collection_for(actor, collection_id, "write")
    contributor = actor.organization_id or actor.name
    read = read_rows(
        kind, text, contributor=contributor, now=format_us(now_us()), markings=markings
    )
    outcome = SpreadsheetImport(rows=len(read.rows), errors=list(read.errors))
    if read.errors and not skip_bad:
        outcome.refused = True
        return outcome
    for row in read.rows:
        outcome.sent[row.number] = row.obj
    identities = identities_of(read.rows)
    held = _seen(node, actor, collection_id, [identity["id"] for identity in identities])
    objects = [identity for identity in identities if identity["id"] not in held]
    objects.extend(row.obj for row in read.rows)
    if not objects:
        return outcome
    status = node.add_objects(actor, collection_id, objects, atomic=not skip_bad)
    rows_of: dict[str, int] = {}
    for row in read.rows:
        rows_of[row.obj["id"]] = row.number
        for identity in row.identities:
            rows_of.setdefault(identity["id"], row.number)
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


def _seen(node: Node, actor: User, collection_id: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    selection = VersionFilter(object_ids=tuple(ids), types=("identity",))
    page = node.read_objects(actor, collection_id, selection, limit=len(ids), with_body=False)
    return {item.object_id for item in page.items}
