"""The audit log against a model of it (issue 11): random sequences of writes, reads,
refusals, admin changes, explains, ORCON approvals and audit reads by random actors (members
of several organizations with various roles, admins with and without an organization, the
console, a user of no organization and no role) must leave exactly the entries the model
predicts, numbered from 0 without a gap; and each organization's view of the log must hold
every entry about its objects and nothing about anyone else's.

The model is written from the rules, not from the node: who may read and write a collection
(`allyshare.policy.rights`), who sees what under the markings used here (DESIGN section 3:
the originator's organization always; party organizations up to AMBER+STRICT; RED only its
named recipients; ORCON those the originator approved), how an id another originator uses
is answered (refused when the writer sees that object, else kept apart for the writer), and
what the log promises: every decision is one entry naming exactly the object versions it
decided on, with their originators, and a refusal that names its reason is recorded like
any other, whatever the refused request named. A refusal that answers as "not found" (a
collection the actor holds no right on, an object it may not explain) leaves no entry: the
actor cannot tell it from a missing one, and the node records the decisions it tells.

After every operation the whole log is read straight from the store (`AuditLog.list`), so
that checking adds nothing to it; `Node.audit_entries` is one of the operations, its own
``audit:read`` entry part of the model. At the end a member of every organization lists
the log, then the console does, and `Node.audit_verify` recomputes the tree.

Every example gets a fresh node: a copy of a populated SQLite template, or a PostgreSQL
schema reset and populated again (fewer examples there: populating costs more).
The disagreements found so far follow as plain cases.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from allyshare.config import Settings
from allyshare.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from allyshare.service import CONSOLE, Node
from allyshare.storage import EntryFilter, PeerRecord, Store, User, VersionFilter

from support.audit import named
from support.reference import ALLYSHARE, TLP2

EXAMPLES = {"sqlite": 80, "postgresql": 8}
OPERATIONS = 30
PARTIES = frozenset({"USA", "KOR"})
NODE_COUNTRY = "USA"
NODE_ORGANIZATION = "node:allyshare"  # what an admin of no organization acts as
GHOST = "ghost"  # a user name nobody holds
UNKNOWN_ORGANIZATION = "USA.NOBODY"
UNKNOWN_OBJECT = "indicator--00000000-0000-4000-8000-00000000dead"
READ_ROLES = frozenset({"reader", "contributor", "curator"})
WRITE_ROLES = frozenset({"contributor", "curator"})
RED_TO_KISA = "marking-definition--5ec7e700-0000-4000-8000-00000000c15a"
ORCON = "marking-definition--5ec7e700-0000-4000-8000-0000000000cc"
MARKINGS = {
    "none": (),
    "clear": ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",),
    "green": ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",),
    "amber": ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",),
    "amber+strict": ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",),
    "red": ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",),
    "red to KOR.KISA": (RED_TO_KISA,),
    "orcon": (ORCON,),
}
AGREEMENT = {
    "name": "us-rok",
    "version": 1,
    "parties": {"countries": sorted(PARTIES), "organizations": []},
    "categories": ["cyber-threat"],
    "max_classification": "S",
    "tlp_ceiling": "RED",
    "propin_match_only": False,
    "aggregate_k": 3,
}
ORGANIZATIONS = {"USA.CISA": "USA", "KOR.KISA": "KOR", "KOR.NIS": "KOR", "JPN.JPCERT": "JPN"}
NEW_ORGANIZATIONS = ["CISA", "CERT-X", "CERT-Y"]
COUNTRIES = ["USA", "KOR", "JPN"]
NEW_USERS = ["u1", "u2", "u3"]
ROLES = ["reader", "contributor", "curator", "admin"]


@dataclass(frozen=True)
class Person:
    """A user as the model knows it; the console is the node's operator."""

    name: str
    organization: str | None = None
    roles: frozenset[str] = frozenset()
    is_admin: bool = False
    console: bool = False


USERS = [
    Person("cisa-w", "USA.CISA", frozenset({"contributor"})),
    Person("cisa-r", "USA.CISA", frozenset({"reader"})),
    Person("kisa-w", "KOR.KISA", frozenset({"curator"})),
    Person("nis-r", "KOR.NIS", frozenset({"reader"})),
    Person("jp-w", "JPN.JPCERT", frozenset({"contributor"})),
    Person("roleless", "KOR.NIS"),
    Person("nobody"),
    Person("root", is_admin=True),
    Person("cisa-admin", "USA.CISA", frozenset({"admin"}), is_admin=True),
]
THE_CONSOLE = Person(CONSOLE.name, is_admin=True, console=True)


# --- what an example does -----------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectSpec:
    """One submitted object: a new one, a new version or an exact copy of a stored version
    (of anyone's object: ``pick`` chooses among them), or one that is not valid STIX."""

    kind: str  # fresh, next, resend, invalid
    marking: str
    pick: int


@dataclass(frozen=True)
class Op:
    """One operation; the integers pick among what the model holds when it runs."""

    kind: str
    actor: int
    collection: int = 0
    objects: tuple[ObjectSpec, ...] = ()
    limit: int = 1000
    target: int = 0
    organization: int | None = None
    roles: tuple[str, ...] | None = None
    name: int = 0


picks = st.integers(0, 1000)
object_specs = st.builds(
    ObjectSpec,
    st.sampled_from(["fresh", "fresh", "fresh", "next", "next", "resend", "invalid"]),
    st.sampled_from(sorted(MARKINGS)),
    picks,
)
role_sets = st.lists(st.sampled_from(ROLES), max_size=2, unique=True).map(tuple)
writes = st.builds(
    Op,
    st.just("write"),
    picks,
    collection=st.integers(0, 1),
    objects=st.integers(0, 3)
    .flatmap(lambda n: st.lists(object_specs, min_size=n, max_size=n))
    .map(tuple),
)
reads = st.builds(
    Op, st.just("read"), picks, collection=st.integers(0, 1), limit=st.sampled_from([1, 2, 1000])
)
changes = st.one_of(
    st.builds(
        Op, st.just("add user"), picks, name=picks, organization=st.none() | picks, roles=role_sets
    ),
    st.builds(Op, st.just("add organization"), picks, name=picks, target=picks),
    st.builds(
        Op,
        st.just("change user"),
        picks,
        target=picks,
        organization=st.none() | picks,
        roles=st.none() | role_sets,
    ),
    st.builds(Op, st.just("rotate token"), picks, target=picks),
)
looks = st.one_of(
    st.builds(Op, st.just("explain"), picks, target=picks, name=picks),
    st.builds(
        Op,
        st.just("audit"),
        picks,
        organization=st.none() | picks,
        target=picks,
        name=picks,
        limit=st.sampled_from([1, 2, 1000]),
    ),
    st.builds(Op, st.just("verify"), picks),
    st.builds(Op, st.just("approve"), picks, target=picks, name=picks),
)
# Writes and reads are most of what a node does, and give the rest something to be about.
operations = st.sampled_from([writes] * 3 + [reads] * 2 + [changes] * 2 + [looks] * 2).flatmap(
    lambda kind: kind
)
# Hypothesis draws short lists by default; the log gets interesting with some length.
runs = st.integers(1, OPERATIONS).flatmap(lambda n: st.lists(operations, min_size=n, max_size=n))


# --- the model ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    collection: str
    object_id: str
    version: str
    originator: str  # an organization id, or "" for the node itself
    marking: str
    apart: bool
    body: Mapping[str, Any]
    approves: str | None = None
    """For an ORCON approval, the object it releases (it goes where that object goes)."""

    @property
    def released(self) -> str:
        return self.approves or self.object_id

    def ref(self) -> dict[str, str]:
        return {"id": self.object_id, "version": self.version, "originator": self.originator}


@dataclass
class Lineage:
    """The versions of one object id one originator wrote in one collection."""

    originator: str
    apart: bool
    versions: set[str] = field(default_factory=set)


@dataclass
class Model:
    """What the node should hold, and the entries it should have recorded, in order."""

    collections: list[str]
    entries: list[dict[str, Any]]
    organizations: dict[str, str] = field(default_factory=lambda: dict(ORGANIZATIONS))
    users: dict[str, Person] = field(default_factory=lambda: {p.name: p for p in USERS})
    stored: list[Version] = field(default_factory=list)  # in date_added order
    lineages: dict[tuple[str, str], list[Lineage]] = field(default_factory=dict)
    approvals: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """Per ORCON object and its originator, the organizations it was released to."""
    objects_made: int = 0
    versions_made: int = 0

    # who is who

    def actors(self) -> list[Person]:
        return [THE_CONSOLE, *(self.users[name] for name in sorted(self.users))]

    def pick_user(self, pick: int) -> str:
        """An existing user's name, or now and then one nobody holds."""
        names = [*sorted(self.users), GHOST]
        return names[pick % len(names)]

    def pick_organization(self, pick: int) -> str:
        known = [*sorted(self.organizations), UNKNOWN_ORGANIZATION]
        return known[pick % len(known)]

    @staticmethod
    def actor(person: Person) -> dict[str, Any]:
        """How an entry names who acted: the console and admins of no organization are the
        node's operator; everyone else a user (or admin) of its organization."""
        if person.console or (person.is_admin and person.organization is None):
            return {"name": person.name, "kind": "operator"}
        found: dict[str, Any] = {
            "name": person.name,
            "kind": "admin" if person.is_admin else "user",
        }
        if person.organization is not None:
            found["organization"] = person.organization
        return found

    def rights(self, person: Person) -> tuple[bool, bool]:
        """(read, write) on the collections, all bound to the same agreement."""
        if person.is_admin:
            return True, True
        if person.organization is None or self.organizations[person.organization] not in PARTIES:
            return False, False
        return bool(person.roles & READ_ROLES), bool(person.roles & WRITE_ROLES)

    @staticmethod
    def originator_of(person: Person) -> str:
        """What a write by this person records as originator: its organization, or the node
        for the operator."""
        if person.console or person.organization is None:
            return ""
        return person.organization

    def sees(self, person: Person, version: Version) -> bool:
        """DESIGN section 3 for the markings used here: the originator's organization sees
        its own versions; a version kept apart only it; CLEAR everyone; GREEN to AMBER+STRICT
        the parties; RED only the named recipients; ORCON (and an approval of an ORCON
        object) those the originator approved."""
        if person.console:
            return True
        me = person.organization or (NODE_ORGANIZATION if person.is_admin else None)
        if me is not None and me == (version.originator or NODE_ORGANIZATION):
            return True
        if version.apart:
            return False
        if version.marking in ("none", "clear"):
            return True
        if version.marking in ("green", "amber", "amber+strict"):
            country = NODE_COUNTRY if me == NODE_ORGANIZATION else self.organizations.get(me or "")
            return country in PARTIES
        if version.marking == "orcon":
            return me in self.approvals.get((version.released, version.originator), set())
        return version.marking == "red to KOR.KISA" and me == "KOR.KISA"

    @staticmethod
    def approver(person: Person) -> str | None:
        """The originator whose ORCON objects this person releases: the node for the
        operator, else its organization if it contributes to it; None for nobody's."""
        if person.console or (person.is_admin and person.organization is None):
            return ""
        if person.organization is not None and person.roles & WRITE_ROLES:
            return person.organization
        return None

    @staticmethod
    def active_admins(users: Mapping[str, Person]) -> int:
        return sum(1 for person in users.values() if person.is_admin)

    # recording

    def expect(self, person: Person, action: str, outcome: str, **rest: Any) -> None:
        entry: dict[str, Any] = {
            "format": 1,
            "seq": len(self.entries),
            "action": action,
            "actor": self.actor(person),
            "outcome": outcome,
        }
        entry.update({key: value for key, value in rest.items() if value})
        if "objects" in entry:
            # An entry names versions grouped by originator (``named`` reads them so).
            entry["objects"] = sorted(entry["objects"], key=lambda o: o["originator"])
        self.entries.append(entry)

    def refuse(self, person: Person, action: str, collection: str | None = None) -> None:
        self.expect(person, action, "denied", collection=collection, reason=True)

    # objects

    def new_object(self, marking: str) -> dict[str, Any]:
        self.objects_made += 1
        return self.body(f"indicator--{self.objects_made:08d}-0000-4000-8000-000000000000", marking)

    def body(self, object_id: str, marking: str) -> dict[str, Any]:
        self.versions_made += 1
        stamp = f"2026-01-01T{self.versions_made // 3600:02d}:{self.versions_made // 60 % 60:02d}:"
        stamp += f"{self.versions_made % 60:02d}.000Z"
        obj: dict[str, Any] = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": object_id,
            "created": "2026-01-01T00:00:00.000Z",
            "modified": stamp,
            "pattern": f"[ipv4-addr:value = '10.0.0.{self.versions_made % 250}']",
            "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
        }
        if MARKINGS[marking]:
            obj["object_marking_refs"] = list(MARKINGS[marking])
        return obj

    def objects(self) -> list[Version]:
        """The stored versions of the objects written (not of the approvals of them)."""
        return [version for version in self.stored if version.approves is None]

    def submitted(self, spec: ObjectSpec) -> tuple[dict[str, Any], str]:
        """The object a spec stands for, and the marking it carries."""
        written = self.objects()
        if spec.kind in ("next", "resend") and written:
            earlier = written[spec.pick % len(written)]
            if spec.kind == "resend":
                return dict(earlier.body), earlier.marking
            return self.body(earlier.object_id, spec.marking), spec.marking
        obj = self.new_object(spec.marking)
        if spec.kind == "invalid":
            del obj["pattern"]
        return obj, spec.marking

    def ingest(
        self, writer: Person, collection: str, objs: list[tuple[dict[str, Any], str]]
    ) -> tuple[list[Version], int]:
        """What a write stores, and how many of its objects it refuses: invalid ones, RED
        without recipients from a member (the operator imports as it finds), a version of
        an object another originator holds and the writer sees (the originator alone adds
        versions); an id whose other holders the writer does not see starts a lineage kept
        apart for the writer; a version its lineage holds is a duplicate, neither."""
        originator = self.originator_of(writer)
        stored: list[Version] = []
        refused = 0
        for obj, marking in objs:
            if "pattern" not in obj or (marking == "red" and originator != ""):
                event("object refused: invalid, or RED without recipients")
                refused += 1
                continue
            held = self.lineages.setdefault((collection, obj["id"]), [])
            lineage = next((line for line in held if line.originator == originator), None)
            if lineage is None:
                others = [
                    v
                    for v in self.stored
                    if v.collection == collection and v.object_id == obj["id"]
                ]
                if any(self.sees(writer, v) for v in others):
                    event("object refused: a version of another originator's object")
                    refused += 1
                    continue
                if held:
                    event("object kept apart: the id of an object its writer does not see")
                lineage = Lineage(originator, apart=bool(held))
                held.append(lineage)
            if obj["modified"] in lineage.versions:
                event("object already stored")
                continue
            lineage.versions.add(obj["modified"])
            version = Version(
                collection, obj["id"], obj["modified"], originator, marking, lineage.apart, obj
            )
            self.stored.append(version)
            stored.append(version)
        return stored, refused


# --- the node under test ------------------------------------------------------------------------


@dataclass
class Site:
    node: Node
    collections: list[str]


def populate(node: Node) -> list[str]:
    """The organizations, the agreement, two collections and the users of every example, and
    the definitions of a RED marking naming KISA and of ORCON (in a third collection, never
    read)."""
    for organization, country in ORGANIZATIONS.items():
        node.add_organization(organization.split(".")[1], country=country, kind="cert")
    node.apply_agreement(AGREEMENT)
    collections = [node.add_collection(title, agreement="us-rok").id for title in ("A", "B")]
    definitions = node.add_collection("Definitions", agreement="us-rok").id
    red_to_kisa = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": RED_TO_KISA,
        "created": "2024-01-01T00:00:00.000Z",
        "extensions": {
            TLP2: {"extension_type": "property-extension", "tlp_2_0": "red"},
            ALLYSHARE: {"extension_type": "property-extension", "recipients": ["KOR.KISA"]},
        },
    }
    orcon = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": ORCON,
        "created": "2024-01-01T00:00:00.000Z",
        "extensions": {
            ALLYSHARE: {"extension_type": "property-extension", "orcon": True, "match_only": False}
        },
    }
    status = node.add_objects(CONSOLE, definitions, [red_to_kisa, orcon])
    assert status.success_count == 2, status
    for person in USERS:
        node.add_user(
            person.name,
            organization=person.organization,
            roles=sorted(person.roles),
            is_admin=person.is_admin,
        )
    return collections


class Nodes:
    """A fresh populated node per example, on one database for one test function."""

    def __init__(self, database_url: str | None, tmp_path: Path) -> None:
        self.database_url = database_url
        self.tmp_path = tmp_path
        # A checkpoint every few entries: signed inside the writes' transactions, then verified.
        self.settings = Settings(data_dir=tmp_path, country=NODE_COUNTRY, checkpoint_entries=4)
        self.template: tuple[Path, list[str]] | None = None
        self.opened = 0

    @contextmanager
    def site(self) -> Iterator[Site]:
        self.opened += 1
        if self.database_url is not None:
            engine = create_engine(self.database_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            engine.dispose()
            node = Node.open(replace(self.settings, database_url=self.database_url))
            collections = populate(node)
        else:
            template, collections = self._template()
            path = self.tmp_path / f"node{self.opened}.db"
            shutil.copyfile(template, path)
            url = f"sqlite:///{path}"
            node = Node(replace(self.settings, database_url=url), Store(url))
        try:
            yield Site(node, collections)
        finally:
            node.close()

    def _template(self) -> tuple[Path, list[str]]:
        if self.template is None:
            path = self.tmp_path / "template.db"
            node = Node.open(replace(self.settings, database_url=f"sqlite:///{path}"))
            collections = populate(node)
            node.close()
            self.template = (path, collections)
        return self.template


def stored_entries(node: Node) -> list[dict[str, Any]]:
    """The log as stored, read without adding to it."""
    rows = node._store.audit.list(EntryFilter(), limit=100_000)
    return [comparable(orjson.loads(row.body)) for row in rows]


def comparable(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry without its time, and with only whether it gives a reason (the wording is
    the node's)."""
    found = {key: value for key, value in entry.items() if key != "recorded_at"}
    if "reason" in found:
        found["reason"] = True
    if "objects" in found:
        found["objects"] = named(found)
    return found


def lines(entries: list[dict[str, Any]]) -> str:
    return "\n".join(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS).decode() for entry in entries)


class Example:
    """One run of operations against one node and the model. The entries the node made
    while it was populated are taken as they are (tests/service/test_audit_log.py checks
    those paths): the model starts after them."""

    def __init__(self, site: Site) -> None:
        self.node = site.node
        baseline = stored_entries(self.node)
        self.model = Model(site.collections, baseline)

    def user(self, person: Person) -> User:
        return CONSOLE if person.console else self.node.user(person.name)

    @contextmanager
    def raises(self, expected: type[Exception] | None, what: str) -> Iterator[None]:
        """The node must refuse with exactly ``expected`` (None: not refuse)."""
        note(what)
        try:
            yield
        except (PermissionDenied, NotFound, Conflict, InvalidInput) as error:
            assert type(error) is expected, f"{what}: raised {error!r}, expected {expected}"
        else:
            assert expected is None, f"{what}: went through, expected {expected.__name__}"

    def run(self, op: Op) -> None:
        actors = self.model.actors()
        handler: Callable[[Op, Person], None] = getattr(self, "do_" + op.kind.replace(" ", "_"))
        before = len(self.model.entries)
        handler(op, actors[op.actor % len(actors)])
        self.check_added()
        event(f"{op.kind}: {'recorded' if len(self.model.entries) > before else 'nothing'}")

    def check_added(self) -> None:
        """The log is exactly what the model expects, numbered from 0 without a gap."""
        found = stored_entries(self.node)
        assert [entry["seq"] for entry in found] == list(range(len(found))), "seq has gaps"
        expected = self.model.entries
        same = next(
            (i for i, pair in enumerate(zip(found, expected, strict=False)) if pair[0] != pair[1]),
            min(len(found), len(expected)),
        )
        assert found == expected, (
            f"from entry {same} on, the log holds\n{lines(found[same:])}\n"
            f"the model expects\n{lines(expected[same:])}"
        )

    # writes and reads

    def do_write(self, op: Op, actor: Person) -> None:
        """One entry per write, naming the versions it stored (not those refused, nor those
        already stored); a reader is refused, and that is recorded."""
        model = self.model
        collection = model.collections[op.collection]
        objs = [model.submitted(spec) for spec in op.objects]
        what = (
            f"write by {actor.name} of {[(o['id'], o['modified'], marking) for o, marking in objs]}"
        )
        can_read, can_write = model.rights(actor)
        expected: type[Exception] | None = None
        if not can_write:
            expected = PermissionDenied if can_read else NotFound
        with self.raises(expected, what):
            status = self.node.add_objects(self.user(actor), collection, [o for o, _ in objs])
        if expected is PermissionDenied:
            model.refuse(actor, "objects:write", collection)
        if expected is not None:
            return
        stored, refused = model.ingest(actor, collection, objs)
        assert status.failure_count == refused, status
        outcome = "allowed" if not refused else "failed" if refused == len(objs) else "partial"
        model.expect(
            actor,
            "objects:write",
            outcome,
            collection=collection,
            objects=[version.ref() for version in stored],
            detail={"status": status.id, "total": len(objs), "failures": refused},
        )

    def do_read(self, op: Op, actor: Person) -> None:
        """One entry per read, naming the versions the page holds; a page with nothing the
        reader may see names nothing, and is not recorded."""
        model = self.model
        collection = model.collections[op.collection]
        what = f"read by {actor.name} of collection {op.collection}, limit {op.limit}"
        expected = None if model.rights(actor)[0] else NotFound
        everything = VersionFilter(versions=frozenset({"all"}))
        with self.raises(expected, what):
            page = self.node.read_objects(self.user(actor), collection, everything, limit=op.limit)
        if expected is not None:
            return
        visible = [v for v in model.stored if v.collection == collection and model.sees(actor, v)]
        shown = visible[: op.limit]
        assert [(item.object_id, item.version) for item in page.items] == [
            (v.object_id, v.version) for v in shown
        ], f"{what}: the page differs from what the model lets the reader see"
        if not actor.console and any(
            v.marking == "orcon" and v.originator != model.originator_of(actor) for v in shown
        ):
            event("read: an ORCON version released to the reader")
        if shown:
            refs = [version.ref() for version in shown]
            model.expect(actor, "objects:read", "allowed", collection=collection, objects=refs)

    # administration: only admins and the console; everyone else is refused, and recorded

    def do_add_user(self, op: Op, actor: Person) -> None:
        model = self.model
        name = [*NEW_USERS, *sorted(model.users)][op.name % (len(NEW_USERS) + len(model.users))]
        organization = None if op.organization is None else model.pick_organization(op.organization)
        roles = frozenset(op.roles or ())
        what = f"add user {name} of {organization} with {sorted(roles)} by {actor.name}"
        expected: type[Exception] | None = None
        if not actor.is_admin:
            expected = PermissionDenied
        elif organization is not None and organization not in model.organizations:
            expected = NotFound
        elif name in model.users:
            expected = Conflict
        with self.raises(expected, what):
            self.node.add_user(
                name, organization=organization, roles=sorted(roles), actor=self.user(actor)
            )
        if expected is PermissionDenied:
            model.refuse(actor, "members:write")
        if expected is not None:
            return
        model.users[name] = Person(name, organization, roles, is_admin="admin" in roles)
        detail: dict[str, Any] = {"change": "add user", "user": name, "roles": sorted(roles)}
        if organization is not None:
            detail["organization"] = organization
        model.expect(actor, "members:write", "allowed", detail=detail)

    def do_add_organization(self, op: Op, actor: Person) -> None:
        model = self.model
        name = NEW_ORGANIZATIONS[op.name % len(NEW_ORGANIZATIONS)]
        country = COUNTRIES[op.target % len(COUNTRIES)]
        organization = f"{country}.{name}"
        what = f"add organization {organization} by {actor.name}"
        expected: type[Exception] | None = None
        if not actor.is_admin:
            expected = PermissionDenied
        elif organization in model.organizations:
            expected = Conflict
        with self.raises(expected, what):
            self.node.add_organization(name, country=country, kind="cert", actor=self.user(actor))
        if expected is PermissionDenied:
            model.refuse(actor, "members:write")
        if expected is not None:
            return
        model.organizations[organization] = country
        detail = {"change": "add organization", "organization": organization}
        model.expect(actor, "members:write", "allowed", detail=detail)

    def do_change_user(self, op: Op, actor: Person) -> None:
        model = self.model
        target = model.pick_user(op.target)
        organization = None if op.organization is None else model.pick_organization(op.organization)
        roles = None if op.roles is None else frozenset(op.roles)
        changes = f"organization {organization}, roles {None if roles is None else sorted(roles)}"
        what = f"change user {target} to {changes} by {actor.name}"
        expected: type[Exception] | None = None
        changed = dict(model.users)
        if target in changed:
            before = changed[target]
            changed[target] = replace(
                before,
                organization=organization or before.organization,
                roles=before.roles if roles is None else roles,
                is_admin=before.is_admin if roles is None else "admin" in roles,
            )
        if not actor.is_admin:
            expected = PermissionDenied
        elif target not in model.users or organization not in (None, *model.organizations):
            expected = NotFound
        elif model.active_admins(model.users) and not model.active_admins(changed):
            expected = Conflict
        with self.raises(expected, what):
            self.node.change_user(
                target,
                organization=organization,
                roles=None if roles is None else sorted(roles),
                actor=self.user(actor),
            )
        if expected is PermissionDenied:
            model.refuse(actor, "members:write")
        if expected is not None or (organization is None and roles is None):
            return
        model.users = changed
        keys = (["organization_id"] if organization else []) + (
            [] if roles is None else ["is_admin", "roles"]
        )
        detail = {"change": "change user", "user": target, "changed": sorted(keys)}
        model.expect(actor, "members:write", "allowed", detail=detail)

    def do_rotate_token(self, op: Op, actor: Person) -> None:
        model = self.model
        target = model.pick_user(op.target)
        what = f"rotate token of {target} by {actor.name}"
        expected: type[Exception] | None = None
        if not actor.is_admin:
            expected = PermissionDenied
        elif target not in model.users:
            expected = NotFound
        with self.raises(expected, what):
            self.node.rotate_token(target, actor=self.user(actor))
        if expected is PermissionDenied:
            model.refuse(actor, "members:write")
        if expected is None:
            detail = {"change": "rotate token", "user": target}
            model.expect(actor, "members:write", "allowed", detail=detail)

    # explaining and auditing

    def do_explain(self, op: Op, actor: Person) -> None:
        """Admins and the object's originator ask; to anyone else it is a missing object.
        The decision is the asker's about the object, recorded before the user asked about
        is looked up (so also when there is no such user)."""
        model = self.model
        ids = sorted({v.object_id for v in model.objects()} | {UNKNOWN_OBJECT})
        object_id = ids[op.target % len(ids)]
        as_user = model.pick_user(op.name)
        what = f"explain by {actor.name} of {object_id} as {as_user}"
        mine = sorted(
            (
                v
                for v in model.stored
                if v.object_id == object_id
                and (actor.is_admin or (actor.organization or "") == v.originator != "")
            ),
            key=lambda v: v.collection,  # then as added: the sort is stable
        )
        expected = None if mine and as_user in model.users else NotFound
        with self.raises(expected, what):
            self.node.explain(self.user(actor), object_id, as_user)
        if mine:
            refs = [v.ref() for v in mine]
            model.expect(
                actor, "policy:explain", "allowed", objects=refs, detail={"as_user": as_user}
            )

    def do_approve(self, op: Op, actor: Person) -> None:
        """Only a contributor of the originating organization (or the operator, for the
        node's own objects) releases an ORCON object; while another originator holds its id
        where it could leave, or the approver's copy is kept apart, nobody may."""
        model = self.model
        ids = sorted({v.object_id for v in model.objects()} | {UNKNOWN_OBJECT})
        orcon = sorted({v.object_id for v in model.objects() if v.marking == "orcon"})
        if orcon and op.target % 4:  # mostly what needs approving
            ids = orcon
        object_id = ids[op.target % len(ids)]
        recipient = sorted(model.organizations)[op.name % len(model.organizations)]
        originators = {v.originator for v in model.objects() if v.object_id == object_id}
        approvers = [p for p in model.actors() if model.approver(p) in originators]
        if approvers and op.actor % 3:  # mostly its originator asks
            actor = approvers[op.actor % len(approvers)]
        what = f"ORCON approval by {actor.name} of {object_id} for {recipient}"
        originator = model.approver(actor)
        if originator is None:
            with self.raises(PermissionDenied, what):
                self.node.approve_orcon(self.user(actor), object_id, organization=recipient)
            model.refuse(actor, "orcon:approve")
            return
        held = [v for v in model.stored if v.object_id == object_id]
        last = {v.collection: v for v in held if v.originator == originator}
        blocked = any(v.apart if v.originator == originator else not v.apart for v in held)
        newest = max(last.values(), key=lambda v: v.version, default=None)
        expected: type[Exception] | None = None
        if newest is None:
            expected = NotFound
        elif blocked:
            expected = PermissionDenied
        elif newest.marking != "orcon":
            expected = InvalidInput
        with self.raises(expected, what):
            approval = self.node.approve_orcon(self.user(actor), object_id, organization=recipient)
        if expected is PermissionDenied:
            model.refuse(actor, "orcon:approve")
        if expected is not None or newest is None:
            return
        model.approvals.setdefault((object_id, originator), set()).add(recipient)
        event("ORCON object released")
        for collection in sorted(last):
            # The approval goes into each collection the object is in, and the object's
            # versions after it: readers that paged past them while hidden meet them now.
            moved = [
                v for v in model.stored if (v.collection, v.object_id) == (collection, object_id)
            ]
            model.stored = [v for v in model.stored if v not in moved]
            model.stored.append(
                Version(
                    collection,
                    approval.id,
                    approval.modified,
                    originator,
                    "orcon",
                    False,
                    {},
                    approves=object_id,
                )
            )
            model.stored.extend(moved)
        model.expect(
            actor,
            "orcon:approve",
            "allowed",
            objects=[
                {"id": approval.id, "version": approval.modified, "originator": originator},
                newest.ref(),
            ],
            detail={
                "approval": approval.id,
                "object": object_id,
                "recipient": recipient,
                "revoked": False,
            },
        )

    def do_audit(self, op: Op, actor: Person) -> None:
        """Now and then narrowed to an organization's objects, one object or one actor, and
        paged (``after`` a random entry, ``limit`` small)."""
        model = self.model
        ids = sorted({v.object_id for v in model.stored})
        selection = EntryFilter(
            about=None if op.organization is None else model.pick_organization(op.organization),
            object_id=ids[op.target % len(ids)] if ids and op.name % 4 == 1 else None,
            actor=model.actors()[op.target % len(model.actors())].name
            if op.name % 4 == 2
            else None,
        )
        after = op.target % (len(model.entries) + 1) - 1 if op.name % 3 == 0 else -1
        self.audit(actor, self.user(actor), selection, after, op.limit)

    def audit(
        self,
        actor: Person,
        user: User,
        selection: EntryFilter,
        after: int = -1,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """Admins see every entry; a member the entries about its own organization's objects,
        cut down to those; anyone else is refused. Returns what the node showed."""
        model = self.model
        what = f"audit read by {actor.name} of {selection} after {after}, limit {limit}"
        expected: type[Exception] | None = None
        about = selection.about
        if not actor.is_admin:
            if actor.organization is None or about not in (None, actor.organization):
                expected = PermissionDenied
            about = actor.organization
        with self.raises(expected, what):
            found = self.node.audit_entries(user, selection, after=after, limit=limit)
        if expected is not None:
            model.refuse(actor, "audit:read")
            return []
        shown = []
        for entry in model.entries[after + 1 :]:
            objects = entry.get("objects", [])
            matching = [
                o
                for o in objects
                if about in (None, o["originator"]) and selection.object_id in (None, o["id"])
            ]
            if selection.actor not in (None, entry["actor"]["name"]):
                continue
            if (about or selection.object_id) and not matching:
                continue
            if not actor.is_admin:
                entry = {**entry, "objects": [o for o in objects if o["originator"] == about]}
            shown.append(entry)
        shown = shown[:limit]
        got = [comparable(entry) for entry in found]
        assert got == shown, f"{what}: got\n{lines(got)}\nthe model shows\n{lines(shown)}"
        detail: dict[str, Any] = {"entries": len(shown)}
        detail.update(
            (key, value)
            for key, value in [
                ("about", about),
                ("object_id", selection.object_id),
                ("actor", selection.actor),
            ]
            if value is not None
        )
        model.expect(actor, "audit:read", "allowed", detail=detail)
        return got

    def do_verify(self, op: Op, actor: Person) -> None:
        what = f"verify by {actor.name}"
        expected = None if actor.is_admin else PermissionDenied
        with self.raises(expected, what):
            assert self.node.audit_verify(self.user(actor)).ok
        if expected is not None:
            self.model.refuse(actor, "audit:verify")

    def finish(self) -> None:
        """Each organization's view of the log, through a member of it (one made up, not
        stored, for an organization without one), then the whole log as the console lists
        it, and the tree verified."""
        model = self.model
        for organization in sorted(model.organizations):
            members = [
                p for p in model.users.values() if p.organization == organization and not p.is_admin
            ]
            if members:
                member = min(members, key=lambda p: p.name)
                user = self.node.user(member.name)
            else:
                member = Person(f"auditor-{organization}", organization)
                user = User(member.name, False, False, organization_id=organization)
            about = [
                entry["seq"]
                for entry in model.entries
                if any(o["originator"] == organization for o in entry.get("objects", []))
            ]
            shown = self.audit(member, user, EntryFilter())
            assert [entry["seq"] for entry in shown] == about, f"{organization} misses entries"
            assert all(
                entry["objects"] and {o["originator"] for o in entry["objects"]} == {organization}
                for entry in shown
            ), f"{organization} is shown entries about others' objects"
            self.check_added()
        self.audit(THE_CONSOLE, CONSOLE, EntryFilter())
        self.check_added()
        verified = self.node.audit_verify()
        assert verified.ok, verified.problems
        assert verified.entries == len(model.entries)


SETTINGS = settings(
    deadline=None,
    # Shrinking a failing run takes minutes (every candidate costs a node and a run), so a
    # failure is reported as found: the operation that disagreed is the last one noted. Add
    # Phase.shrink here for the shortest sequence that still fails.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def run(nodes: Nodes, ops: list[Op]) -> None:
    with nodes.site() as site:
        example = Example(site)
        for op in ops:
            example.run(op)
        example.finish()


@pytest.fixture
def sqlite_nodes(tmp_path: Path) -> Nodes:
    return Nodes(None, tmp_path)


@pytest.fixture
def postgresql_nodes(postgres_worker_url: str, tmp_path: Path) -> Nodes:
    return Nodes(postgres_worker_url, tmp_path)


@settings(SETTINGS, max_examples=EXAMPLES["sqlite"])
@given(runs)
def test_the_log_matches_the_model_on_sqlite(sqlite_nodes: Nodes, ops: list[Op]) -> None:
    run(sqlite_nodes, ops)


@settings(SETTINGS, max_examples=EXAMPLES["postgresql"])
@given(runs)
def test_the_log_matches_the_model_on_postgresql(postgresql_nodes: Nodes, ops: list[Op]) -> None:
    run(postgresql_nodes, ops)


# --- the disagreements found, each as one plain case ---------------------------------------------


def denials(node: Node) -> list[tuple[str, str]]:
    """(action, actor) of every refusal recorded."""
    return [(e["action"], e["actor"]["name"]) for e in stored_entries(node) if e.get("reason")]


def test_a_non_admin_is_refused_before_what_it_names_is_looked_up(sqlite_nodes: Nodes) -> None:
    """A member asking for an administrative change is refused, and the refusal recorded,
    whatever the change names: answering "no user" or "no organization" first tells it which
    users and organizations exist, and leaves no trace of the attempt."""
    with sqlite_nodes.site() as site:
        node, reader = site.node, site.node.user("cisa-r")
        attempts: list[Callable[[], object]] = [
            lambda: node.change_user(GHOST, roles=["admin"], actor=reader),
            lambda: node.change_user("cisa-r", organization=UNKNOWN_ORGANIZATION, actor=reader),
            lambda: node.add_user("u1", organization=UNKNOWN_ORGANIZATION, actor=reader),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDenied):
                attempt()
        assert denials(node) == [("members:write", "cisa-r")] * len(attempts)


def test_a_non_admin_reads_no_member_through_an_empty_change(sqlite_nodes: Nodes) -> None:
    """Listing users and organizations is for admins (``members:read``); a change that
    changes nothing must not hand a member another user's or organization's record."""
    with sqlite_nodes.site() as site:
        node, reader = site.node, site.node.user("cisa-r")
        attempts: list[Callable[[], object]] = [
            lambda: node.change_user("root", actor=reader),
            lambda: node.change_organization("KOR.KISA", actor=reader),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDenied):
                attempt()
        assert denials(node) == [("members:write", "cisa-r")] * len(attempts)


def test_a_refused_audit_read_is_recorded(sqlite_nodes: Nodes) -> None:
    """Asking for another organization's entries, or for the log without an organization,
    is refused with a reason, and a refusal with a reason is recorded like every other."""
    with sqlite_nodes.site() as site:
        node = site.node
        with pytest.raises(PermissionDenied):
            node.audit_entries(node.user("cisa-r"), EntryFilter(about="KOR.KISA"))
        with pytest.raises(PermissionDenied):
            node.audit_entries(node.user("nobody"), EntryFilter())
        assert denials(node) == [("audit:read", "cisa-r"), ("audit:read", "nobody")]


def test_a_write_entry_names_the_originator_the_version_is_stored_under(
    sqlite_nodes: Nodes,
) -> None:
    """A peer's later version joins the lineage first recorded for what it sent, under that
    lineage's originator, whatever it attests this time; the entry recording the write must
    name the originator the version is stored (and later read and sent) under, or the entry
    is about someone else. (Found reading the code while writing the model, which has no
    peers.)"""
    with sqlite_nodes.site() as site:
        node, collection = site.node, site.collections[0]
        node.add_peer(
            PeerRecord(
                "seoul", "https://seoul.example/taxii2/api/", b"", "", "KOR", "us-rok", None, 0
            )
        )
        peer = node.peer_user(node.peer("seoul"))
        model = Model(site.collections, [])
        first = model.new_object("none")
        node.add_objects(peer, collection, [first], attested=["KOR"])
        node.add_objects(peer, collection, [model.body(first["id"], "none")], attested=["JPN"])
        every = VersionFilter(versions=frozenset({"all"}))
        read = node.read_objects(CONSOLE, collection, every, limit=10)
        assert len(read.items) == 2
        *_, second_write, reading = stored_entries(node)
        [written] = second_write["objects"]
        [read_back] = [o for o in reading["objects"] if o["version"] == written["version"]]
        assert written["originator"] == read_back["originator"], (
            f"written as {written}, read as {read_back}"
        )
