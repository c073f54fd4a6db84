"""The audit log as the node keeps and shows it: the sink every decision is handed to, the
signed checkpoints of its Merkle tree, proofs for auditors, the cosignatures partners gave,
and ``verify``, which recomputes everything from the stored entries.

Entries are appended in the transaction of what they record (a unit of work), and a
checkpoint is signed in that same transaction once enough entries have gathered, so a
checkpoint never names a tree the database does not hold. Admins see every entry; an
organization sees the entries about its own objects, cut down to those objects.

An entry that names its versions as in an earlier one (`ObjectRefs.as_in`) is shown with
``objects`` filled in, resolved through the entries it refers to, beside its reference keys
as stored: its leaf is what is shown without ``objects``.
"""

from __future__ import annotations

import base64
import hmac
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any, NoReturn

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from allyshare.audit.entries import Actor, AuditEntry, AuditOutcome, ObjectRefs
from allyshare.audit.merkle import (
    Frontier,
    Subtrees,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
)
from allyshare.audit.notes import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    NoteError,
    Verifier,
    open_note,
    sign_note,
    verify_cosignature,
)
from allyshare.config import Settings
from allyshare.errors import InvalidInput, NotFound, PermissionDenied
from allyshare.keys import derived_key, load_signing_key, public_key_from_text
from allyshare.policy import ANONYMOUS
from allyshare.policy.rights import Operation
from allyshare.storage import AccessKey, Store, User
from allyshare.storage.audit import (
    AuditLog,
    EntryFilter,
    entry_mac,
)
from allyshare.storage.store import Unit

log = logging.getLogger("allyshare.audit")
MAC_INFO = b"allyshare audit entry mac"
PSEUDONYM_INFO = b"allyshare audit contributor pseudonym"
PAGE_LIMIT = 10_000
REFERS_TO, ADDED, DROPPED = "objects_as_in", "objects_added", "objects_dropped"
Groups = dict[str, list[Any]]
"""Versions in the shape of an entry's ``objects``: each originator to its ``[id, version,
...]``, as the entry's JSON reads."""


@dataclass
class Verification:
    """What ``audit verify`` found: counts, and the problems in log order."""

    entries: int = 0
    checkpoints: int = 0
    cosignatures: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_entry: int | None = None
    signed_up_to: int = 0
    """The size of the newest checkpoint: entries after it are not yet signed for."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def entry_problem(self, seq: int, problem: str) -> None:
        if self.first_bad_entry is None or seq < self.first_bad_entry:
            self.first_bad_entry = seq
        self.problems.append(f"entry {seq}: {problem}")


class Audit:
    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
        self._checkpointed: int | None = None
        self._pseudonyms: dict[str, str] = {}

    @cached_property
    def node_key(self) -> Ed25519PrivateKey:
        return load_signing_key(self._settings.data_dir)

    @cached_property
    def _key(self) -> bytes:
        """The entries' MAC key, derived from the node key: never stored in the database."""
        return derived_key(self.node_key, MAC_INFO)

    @cached_property
    def _pseudonym_key(self) -> bytes:
        return derived_key(self.node_key, PSEUDONYM_INFO)

    def pseudonym(self, organization: str) -> str:
        """How the log names an organization as the originator of its anonymous
        contributions: the same name each time, so the organization finds its own trail,
        and one that only the node key links to the organization (admins reading the log
        learn who contributed only through an audited reveal)."""
        found = self._pseudonyms.get(organization)
        if found is None:
            digest = hmac.new(self._pseudonym_key, organization.encode(), "sha256").hexdigest()
            found = self._pseudonyms[organization] = f"anonymous:{digest[:20]}"
        return found

    def writer_pseudonym(self, user_name: str) -> str:
        """How an anonymous write's status names its writer, who alone reads it: not by a
        name stored beside what the write sealed."""
        return self.pseudonym(f"user:{user_name}")

    @property
    def origin(self) -> str:
        """The log's name in its checkpoints, and the key name its signatures carry."""
        return "allyshare/" + re.sub(r"[^A-Za-z0-9._-]", "-", self._settings.node_name)

    @property
    def verifier(self) -> Verifier:
        """The key that checks this node's checkpoints (its node key, under the log's name)."""
        return Verifier(self.origin, ED25519, self.node_key.public_key().public_bytes_raw())

    # recording

    def record(self, entries: Sequence[AuditEntry], unit: Unit | None = None) -> range:
        """Append in the caller's unit of work, or in a transaction of their own; returns
        the numbers the entries got, for later entries to name their versions as in one
        (`ObjectRefs.as_in`). A number in a unit of work is the entry's once the unit
        commits: rolled back, it goes to the next entry appended."""
        if not entries:
            return range(0)
        if unit is not None:
            return self._append(unit, entries)
        with self._store.begin() as own:
            return self._append(own, entries)

    def _append(self, unit: Unit, entries: Sequence[AuditEntry]) -> range:
        frontier = unit.append_audit(entries, self._key)
        if frontier.size - self._last_checkpoint() >= self._settings.checkpoint_entries:
            self._sign(frontier)
        # The append numbers the entries on from the tree's size, under the append lock:
        # they are the newest leaves of the frontier it returns.
        return range(frontier.size - len(entries), frontier.size)

    def _last_checkpoint(self) -> int:
        if self._checkpointed is None:
            latest = self._store.audit.latest_checkpoint()
            self._checkpointed = 0 if latest is None else latest.size
        return self._checkpointed

    def _sign(self, frontier: Frontier) -> str:
        """Sign the tree head; inside a unit of work it commits with the entries it covers."""
        checkpoint = Checkpoint(
            self.origin, frontier.size, frontier.root(), (f"time {int(time.time())}",)
        )
        note = sign_note(checkpoint.body(), self.origin, self.node_key)
        self._store.audit.add_checkpoint(frontier.size, note)
        self._checkpointed = max(self._checkpointed or 0, frontier.size)
        return note

    def checkpoint(self) -> str:
        """The newest signed checkpoint, signing one first if entries came since."""
        with self._store.begin() as unit:
            latest = self._store.audit.latest_checkpoint()
            frontier = unit.audit_frontier()
            if latest is not None and latest.size == frontier.size:
                return str(latest.note)
            return self._sign(frontier)

    # reading

    def entries(
        self, user: User, selection: EntryFilter, *, after: int = -1, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Entries as the user may see them: all for an admin, else the entries about its
        organization's objects, each cut down to those objects. Looking is recorded."""
        selection = self._scoped(user, selection)
        if selection.object_id is not None and not selection.object_originators:
            selection = replace(
                selection, object_originators=self._originators_of(selection.object_id)
            )
        limit = max(1, min(limit, PAGE_LIMIT))
        own = self._own(user)
        versions = _Versions(self._store.audit, own)
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            wanted_rows = limit - len(found)
            rows = self._store.audit.list(selection, after=after, limit=wanted_rows)
            page: list[tuple[int, dict[str, Any]]] = [
                (row.seq, orjson.loads(row.body)) for row in rows
            ]
            for (_, entry), named in zip(page, versions.named(page), strict=True):
                # An entry naming the object beside the organization's own is not about it.
                wanted = selection.object_id
                if wanted is None or (named is not None and wanted in named.ids()):
                    found.append(_shown(entry, named, own))
            if len(rows) < wanted_rows:
                break
            after = rows[-1].seq
        self.record(
            [
                AuditEntry(
                    Operation.AUDIT_READ,
                    actor_of(user),
                    AuditOutcome.ALLOWED,
                    detail=_filter_detail(selection) | {"entries": len(found)},
                )
            ]
        )
        return found

    def _originators_of(self, object_id: str) -> tuple[str, ...]:
        """Who the node records as the object's originators: its entries are about them."""
        keys = self._store.access_keys()
        found = {
            self.recorded_as(keys[item.label])
            for _, item in self._store.versions_everywhere(object_id)
        }
        return tuple(sorted(found))

    def recorded_as(self, key: AccessKey) -> str:
        """The originator entries name for versions of this key: a contribution made
        anonymously under its organization's pseudonym."""
        if ANONYMOUS in key.marking_refs:
            return self.pseudonym(key.originator)
        return key.originator

    def _scoped(self, user: User, selection: EntryFilter) -> EntryFilter:
        if user.is_admin or user.is_system:
            return selection
        if user.organization_id is None or user.peer is not None:
            self._refuse(user, "the audit log is for admins and originating organizations")
        if selection.about not in (None, user.organization_id):
            self._refuse(user, "an organization sees the entries about its own objects only")
        own = user.organization_id
        return replace(selection, about=own, about_also=(self.pseudonym(own),))

    def _refuse(self, user: User, reason: str) -> NoReturn:
        self.record(
            [AuditEntry(Operation.AUDIT_READ, actor_of(user), AuditOutcome.DENIED, reason=reason)]
        )
        raise PermissionDenied(reason)

    def _own(self, user: User) -> frozenset[str] | None:
        """The originators whose versions the user sees named: None for all."""
        if user.is_admin or user.is_system:
            return None
        organization = user.organization_id or ""
        return frozenset({organization, self.pseudonym(organization)})

    # proofs, for auditors and witnesses

    def inclusion(self, user: User, entry: int, size: int) -> dict[str, Any]:
        self._may_see_entry(user, entry)
        if not 0 <= entry < size <= self._store.audit.size():
            raise InvalidInput(f"no entry {entry} in a log of size {size}")
        proof, subtrees = self._prove(lambda found: inclusion_proof(entry, size, found), (0, entry))
        return {
            "entry": entry,
            "size": size,
            "leaf_hash": _b64(subtrees(0, entry)),
            "proof": [_b64(h) for h in proof],
        }

    def consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        if not 0 < old_size <= new_size <= self._store.audit.size():
            raise InvalidInput(
                f"a consistency proof needs 0 < from <= to <= {self._store.audit.size()}"
            )
        proof, _ = self._prove(lambda found: consistency_proof(old_size, new_size, found))
        return {"from": old_size, "to": new_size, "proof": [_b64(h) for h in proof]}

    def _may_see_entry(self, user: User, entry: int) -> None:
        if user.is_admin or user.is_system:
            return
        scoped = self._scoped(user, EntryFilter())
        found = self._store.audit.list(scoped, after=entry - 1, limit=1)
        if not found or found[0].seq != entry:
            raise NotFound(f"no audit entry {entry}")

    def _prove(
        self, proof: Callable[[Subtrees], list[bytes]], *also: tuple[int, int]
    ) -> tuple[list[bytes], Subtrees]:
        """Run ``proof`` over the stored subtrees, read in one query: which subtrees a proof
        needs depends on the sizes alone, so a first run with stand-ins names them."""
        wanted: list[tuple[int, int]] = list(also)

        def named(level: int, index: int) -> bytes:
            wanted.append((level, index))
            return bytes(32)

        proof(named)
        stored = self._store.audit.subtrees(wanted)

        def subtrees(level: int, index: int) -> bytes:
            return stored[level, index]

        return proof(subtrees), subtrees

    def cosignatures(self) -> list[dict[str, Any]]:
        return [
            {"size": size, "witness": witness, "signature": signature, "received_at": at}
            for size, witness, signature, at in self._store.audit.cosignatures()
        ]

    # verification

    def verify(self) -> Verification:
        """Recompute the tree from the stored entries: every entry must be the node's own
        (its MAC), in its place (its number), and every checkpoint must name the tree the
        entries make, signed by this node; cosignatures must be the witnesses'."""
        report = Verification()
        checkpoints = {c.size: c for c in self._store.audit.checkpoints()}
        verifier = self.verifier
        frontier = Frontier()
        leaves = _Leaves(self._store.audit.scan_nodes(0))
        gaps: list[range] = []
        for row in self._store.audit.scan():
            expected = frontier.size
            if row.seq != expected:
                report.entry_problem(expected, f"missing (the next stored entry is {row.seq})")
                gaps.append(range(expected, row.seq))
                frontier = _skip_to(frontier, row.seq)
            document = _document(row.body)
            body_seq = _int(document.get("seq"))
            if body_seq != row.seq:
                report.entry_problem(row.seq, f"holds entry {body_seq}: moved from its place")
            if REFERS_TO in document:
                referred = _int(document[REFERS_TO])
                if referred is None or not 0 <= referred < row.seq or _in(referred, gaps):
                    report.entry_problem(
                        row.seq,
                        f"names its versions as in {document[REFERS_TO]!r}, "
                        "not an earlier entry of the log",
                    )
            if entry_mac(self._key, row.body) != row.mac:
                report.entry_problem(row.seq, "changed, or not written by this node (MAC)")
            leaf = leaf_hash(row.body)
            stored = leaves.at(row.seq)
            if stored is not None and stored != leaf:
                report.entry_problem(row.seq, "its leaf hash in the tree differs")
            frontier.append(leaf)
            report.entries += 1
            checkpoint = checkpoints.get(frontier.size)
            if checkpoint is not None:
                self._check_checkpoint(report, checkpoint.note, frontier, verifier)
                report.signed_up_to = frontier.size
        for size in sorted(s for s in checkpoints if s > frontier.size):
            report.problems.append(
                f"checkpoint {size}: the log holds only {frontier.size} entries (deleted?)"
            )
            report.first_bad_entry = min(report.first_bad_entry or frontier.size, frontier.size)
        self._check_cosignatures(report, checkpoints)
        return report

    def _check_checkpoint(
        self, report: Verification, note: str, frontier: Frontier, verifier: Verifier
    ) -> None:
        report.checkpoints += 1
        try:
            checkpoint = Checkpoint.parse(open_note(note, [verifier]).text)
        except NoteError as error:
            report.problems.append(f"checkpoint {frontier.size}: not signed by this node: {error}")
            return
        if checkpoint.size != frontier.size or checkpoint.root_hash != frontier.root():
            first = self._first_unsigned(report, frontier.size)
            report.problems.append(
                f"checkpoint {frontier.size}: the entries no longer make the tree it signed "
                f"(an entry up to {first} was changed, inserted, removed or reordered)"
            )

    def _first_unsigned(self, report: Verification, size: int) -> int:
        if report.first_bad_entry is None:
            report.first_bad_entry = size - 1
        return report.first_bad_entry

    def _check_cosignatures(self, report: Verification, checkpoints: dict[int, Any]) -> None:
        witnesses = {peer.name: peer for peer in self._store.peers.all()}
        for size, witness, signature, _at in self._store.audit.cosignatures():
            report.cosignatures += 1
            peer = witnesses.get(witness)
            checkpoint = checkpoints.get(size)
            if peer is None or peer.signing_key is None or checkpoint is None:
                report.problems.append(
                    f"cosignature of checkpoint {size} by {witness}: no such peer or checkpoint"
                )
                continue
            if not cosigned(checkpoint.note, self.verifier, peer.signing_key, signature):
                report.problems.append(f"cosignature of checkpoint {size} by {witness}: invalid")


def cosigned(note: str, log: Verifier, signing_key: str, line: str) -> bool:
    """Whether ``line`` cosigns the checkpoint in ``note`` (signed by ``log``) with the key
    a peer signs with, under whatever witness name the line claims (the key id binds it)."""
    try:
        checkpoint = Checkpoint.parse(open_note(note, [log]).text)
        witness = Verifier(
            signer_of(line), COSIGNATURE_V1, public_key_from_text(signing_key).public_bytes_raw()
        )
        verify_cosignature(checkpoint, line, witness)
    except (NoteError, ValueError):
        return False
    return True


def actor_of(user: User) -> Actor:
    """Who the entry says acted: a peer node by its name, the node's operator (the console,
    or an admin of no organization), else a member's user with its organization."""
    if user.peer is not None:
        return Actor(user.peer, "peer")
    if user.is_system or (user.is_admin and user.organization_id is None):
        return Actor(user.name, "operator")
    return Actor(user.name, "admin" if user.is_admin else "user", user.organization_id)


def derived_read(user: User, refs: ObjectRefs, detail: dict[str, Any]) -> AuditEntry:
    """The entry of a read that showed an aggregate or a list computed from versions (a
    lookup, sightings) rather than the versions themselves: which versions it drew on."""
    return AuditEntry(
        Operation.OBJECTS_READ,
        actor_of(user),
        AuditOutcome.ALLOWED,
        None,
        refs,
        peer=user.peer,
        detail=detail,
    )


def signer_of(line: str) -> str:
    """The key name a signature line claims ("— NAME SIGNATURE"); the key id checks it."""
    parts = line.split(" ")
    return parts[1] if len(parts) == 3 else ""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _document(body: bytes) -> dict[str, Any]:
    """A stored entry's JSON object, or an empty one for bytes that are not one."""
    try:
        found = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _in(seq: int, gaps: Sequence[range]) -> bool:
    return any(seq in gap for gap in gaps)


def _skip_to(frontier: Frontier, seq: int) -> Frontier:
    """Carry on after a gap with placeholder leaves, so later problems are still named."""
    while frontier.size < seq:
        frontier.append(bytes(32))
    return frontier


class _Leaves:
    """The stored leaf hashes, read alongside the entries in one pass."""

    def __init__(self, stored: Iterator[tuple[int, bytes]]) -> None:
        self._stored = stored
        self._next: tuple[int, bytes] | None = next(stored, None)

    def at(self, seq: int) -> bytes | None:
        while self._next is not None and self._next[0] < seq:
            self._next = next(self._stored, None)
        if self._next is None or self._next[0] != seq:
            return None
        return self._next[1]


def _filter_detail(selection: EntryFilter) -> dict[str, Any]:
    """The filter as asked (the originators the node looked up for it are its own business)."""
    asked = asdict(selection)
    del asked["object_originators"], asked["about_also"]
    return {name: value for name, value in asked.items() if value is not None}


class _Named:
    """The versions an entry names, resolved; shared by the entries that name the same."""

    __slots__ = ("_ids", "groups")

    def __init__(self, groups: Groups) -> None:
        self.groups = groups
        self._ids: set[str] | None = None

    def ids(self) -> set[str]:
        """The objects' ids, kept: a page of entries naming the same 100,000 versions asks
        for each entry."""
        if self._ids is None:
            self._ids = {ref[0] for refs in self.groups.values() for ref in refs}
        return self._ids


@dataclass(frozen=True, slots=True)
class _Stated:
    """What an entry says of its versions, before its reference is resolved."""

    objects: Groups
    refers: bool = False
    as_in: object = None
    added: Groups = field(default_factory=dict)
    dropped: Groups = field(default_factory=dict)


class _Versions:
    """What the entries of one read of the log name, their references resolved. An entry
    referred to is read (from the page, else the store) and resolved once however many
    entries name it, and only the groups of ``only`` originators are kept when the reader
    sees no others."""

    def __init__(self, log: AuditLog, only: frozenset[str] | None) -> None:
        self._log = log
        self._only = only
        self._named: dict[int, _Named | None] = {}

    def named(self, page: Sequence[tuple[int, Mapping[str, Any]]]) -> list[_Named | None]:
        """What each entry of the page (by number) names; None for one whose reference does
        not lead back to entries of the log (`Audit.verify` reports it)."""
        stated = {seq: self._stated(entry) for seq, entry in page if seq not in self._named}
        wanted = self._referred(stated, stated)
        while wanted:
            # References only point back, so this ends: a round per step back a chain takes.
            read = {
                seq: self._stated(_document(body)) for seq, body in self._log.bodies(wanted).items()
            }
            stated.update(read)
            self._named.update((seq, None) for seq in wanted if seq not in read)
            wanted = self._referred(read, stated)
        for seq in sorted(stated):
            self._named[seq] = self._resolved(seq, stated[seq])
        return [self._named[seq] for seq, _ in page]

    def _stated(self, entry: Mapping[str, Any]) -> _Stated:
        if REFERS_TO not in entry:
            return _Stated(self._kept(entry.get("objects", {})))
        return _Stated(
            {},
            True,
            entry[REFERS_TO],
            self._kept(entry.get(ADDED, {})),
            self._kept(entry.get(DROPPED, {})),
        )

    def _kept(self, groups: Groups) -> Groups:
        if self._only is None:
            return groups
        return {name: refs for name, refs in groups.items() if name in self._only}

    def _referred(self, these: Mapping[int, _Stated], stated: Mapping[int, _Stated]) -> set[int]:
        """The entries these refer to that are neither resolved nor read yet."""
        return {
            referred
            for seq, said in these.items()
            if (referred := _int(said.as_in)) is not None
            and 0 <= referred < seq
            and referred not in self._named
            and referred not in stated
        }

    def _resolved(self, seq: int, said: _Stated) -> _Named | None:
        if not said.refers:
            return _Named(said.objects)
        referred = _int(said.as_in)
        base = self._named.get(referred) if referred is not None and referred < seq else None
        if base is None:
            return None
        if not said.added and not said.dropped:
            return base
        groups = dict(base.groups)
        for name, refs in said.dropped.items():
            gone = {(ref[0], ref[1]) for ref in refs}
            kept = [ref for ref in groups.get(name, ()) if (ref[0], ref[1]) not in gone]
            if kept:
                groups[name] = kept
            else:
                groups.pop(name, None)
        for name, refs in said.added.items():
            groups[name] = [*groups.get(name, ()), *refs]
        return _Named(dict(sorted(groups.items())))


def _shown(
    entry: dict[str, Any], named: _Named | None, own: frozenset[str] | None
) -> dict[str, Any]:
    """The entry as its reader sees it: with the versions it names as ``objects``, and for
    a member only its own organization's (its change set too)."""
    if own is not None:
        entry["objects"] = dict(named.groups) if named is not None else {}
        for key in (ADDED, DROPPED):
            if key in entry:
                entry[key] = {name: refs for name, refs in entry[key].items() if name in own}
    elif REFERS_TO in entry and named is not None:
        entry["objects"] = dict(named.groups)
    return entry
