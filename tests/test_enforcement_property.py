"""Every path out of a node, as every user, against the independent reference of DESIGN section 3.

Each example gives a node an agreement, random marking definitions (ACS, allyshare, TLP:RED
with recipients, statements, broken and missing ones) and one to three versions of a handful
of objects with random object and granular markings, written by contributors of the
organizations meant as originators. The definitions go to the same collection, to another
one, in the same request as the first objects, or only after objects that use them. The
write rules must refuse exactly what `support.reference` says they refuse; an organization
trying to add a version of another's object is refused too, and versions of the same ids put
in a neighbouring collection must never show through.

Then every user reads through every path: an admin (mostly without an organization, which
acts as the node itself, `allyshare.service.Node.subject_of`), the writers, readers of party
organizations of other nationalities and clearances, a member of a non-party organization or
a user without roles. What comes back is compared with `support.reference`, written from
DESIGN rather than from `allyshare.policy`: nothing visible that the rules forbid, everything
visible that they allow (whole or redacted), the same versions on every path, and hidden
objects indistinguishable from missing ones. ``match[version]=last`` (``first``) is the newest
(oldest) version whose object markings the reader passes, absent if that one is withheld.

Paths: TAXII objects (paged: ``more``, ``next``, full pages, ``X-TAXII-Date-Added-*``),
objects/{id}, objects/{id}/versions, manifest, ``match[type|id|version]`` and ``added_after``,
collections and the collection resource, status, `Node.export`, and the management API's
collection list; a reader also lists the collection between write rounds, so the node's
cached views must follow new versions and late definitions. Which paths each user asks, with
which ``limit`` and ``match[version]``, is drawn: over a run every path is asked hundreds of
times and the listing thousands, without every example paying for all of them.

Each example gets a fresh node (a copy of a migrated SQLite template, or a reset PostgreSQL
schema) behind one app for the whole test. A node shared by the examples would be the
cheaper fixture, but the first read of each new user judges every access key the node holds,
each with a store lookup (`allyshare.enforcement.build_view`), so reads would slow down example
after example; ``EXAMPLES_PER_NODE`` shares nodes between examples once that is no longer so.
Examples are not shrunk (each costs a node, and shrinking takes minutes): a failure names the
member and lays out how the reference judges every stored version, beside `allyshare.policy`'s
own explanation.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from allyshare.clock import format_us
from allyshare.community import identity_of
from allyshare.config import Settings
from allyshare.errors import NotFound
from allyshare.policy import (
    Agreement,
    Classification,
    Organization,
    Subject,
    Target,
    Tlp,
    decide,
    explain,
)
from allyshare.server import create_server_app
from allyshare.service import Node
from allyshare.stix.validation import check_object
from allyshare.storage import Store, User, VersionFilter

from support.reference import (
    COUNTRIES,
    ORG_IDS,
    ORGANIZATIONS,
    REQUIRED,
    TLP_BY_ID,
    Near,
    Spec,
    definition,
    indicators,
    paths,
    reference_may_see,
    reference_visible,
    reference_write_problems,
    specs,
    to_selector,
)

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
EXAMPLES = {"sqlite": 200, "postgresql": 20}
EXAMPLES_PER_NODE = 1
CREATED = "2024-03-01T10:00:00.000Z"
NODE_NAME = "allyshare"
ORGANIZATION = {org.id: org for org in ORGANIZATIONS}
MISSING_COLLECTION = "00000000-0000-4000-8000-00000000dead"
MISSING_OBJECT = "indicator--00000000-0000-4000-8000-00000000dead"
MISSING_STATUS = "00000000-0000-4000-8000-00000000beef"
MODES = ["last", "first", "all"]
# Every reader lists the collection, mostly in one page; the manifest always pages.
LISTING_LIMITS = [2, 3, 1000, 1000, 1000, 1000]
MANIFEST_LIMITS = [1, 2, 3]


# --- what an example is made of -----------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A user as generated; ``nationality`` None means its organization's country."""

    name: str
    organization: str | None
    nationality: str | None
    clearance: str
    roles: tuple[str, ...]
    is_admin: bool = False

    def subject(self, node_country: str) -> Subject:
        """The member as DESIGN's decision sees it. An admin of no organization is the node's
        operator and acts as the node itself (allyshare.service.Node.subject_of)."""
        organization = ORGANIZATION[self.organization] if self.organization else None
        if organization is None and self.is_admin:
            organization = Organization(f"node:{NODE_NAME}", NODE_NAME, node_country)
        nationality = self.nationality or (organization.country if organization else "")
        return Subject(
            self.name,
            organization,
            nationality,
            Classification[self.clearance],
            frozenset(self.roles),
            "user",
            self.is_admin or "admin" in self.roles,
        )


@dataclass(frozen=True)
class Terms:
    """An agreement as generated."""

    name: str
    countries: tuple[str, ...]
    organizations: tuple[str, ...]
    max_classification: str = "TS"
    tlp_ceiling: str = "RED"

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": 1,
            "parties": {
                "countries": list(self.countries),
                "organizations": list(self.organizations),
            },
            "categories": ["cyber-threat"],
            "max_classification": self.max_classification,
            "tlp_ceiling": self.tlp_ceiling,
            "propin_match_only": False,
            "aggregate_k": 3,
        }

    @property
    def agreement(self) -> Agreement:
        return Agreement(
            self.name,
            1,
            frozenset(self.countries),
            frozenset(self.organizations),
            max_classification=Classification[self.max_classification],
            tlp_ceiling=Tlp.parse(self.tlp_ceiling),
        )

    def has_party(self, organization: str) -> bool:
        return (
            organization in self.organizations
            or ORGANIZATION[organization].country in self.countries
        )


@dataclass(frozen=True)
class Thing:
    """One object: the organization that writes it and its versions, oldest first."""

    originator: str
    versions: tuple[dict[str, Any], ...]


@dataclass
class Scenario:
    node_country: str
    terms: Terms
    specs: dict[str, Spec]
    definitions_go: str  # "collection", "elsewhere", "with-objects" or "late"
    things: list[Thing]
    writers: list[Member]  # one per originator, in the order they write
    others: list[Member]
    hijack: tuple[int, int] | None  # (thing, writer) tries to add a version of another's object
    neighbour: bool  # the first writer also puts versions of its objects in another collection

    @property
    def members(self) -> list[Member]:
        return [*self.writers, *self.others]


def rights(member: Member, terms: Terms) -> tuple[bool, bool]:
    """(can_read, can_write) of a member on a collection bound to ``terms``."""
    if member.is_admin or "admin" in member.roles:
        return True, True
    if member.organization is None or not terms.has_party(member.organization):
        return False, False
    roles = set(member.roles)
    return bool(roles & {"reader", "contributor", "curator"}), bool(
        roles & {"contributor", "curator"}
    )


# --- generators ---------------------------------------------------------------------------------


def object_id(kind: str, number: int) -> str:
    return f"{kind}--{uuid.UUID(int=number, version=4)}"


def day(number: int) -> str:
    return f"2024-03-{number:02d}T10:00:00.000Z"


@st.composite
def malwares(draw: st.DrawFn, refs: list[str]) -> dict[str, Any]:
    """A malware family: its ``name`` is required, so a granular marking on it withholds it."""
    obj: dict[str, Any] = {
        "type": "malware",
        "spec_version": "2.1",
        "id": object_id("malware", 1),
        "created": CREATED,
        "modified": CREATED,
        "name": "FALLCHILL",
        "is_family": True,
    }
    if draw(st.booleans()):
        obj["description"] = "remote access tool"
    if draw(st.booleans()):
        obj["aliases"] = ["Volgmer", "Manuscrypt"]
    pool = [*refs, *TLP_BY_ID]
    object_refs = draw(st.lists(st.sampled_from(pool), max_size=2, unique=True))
    if object_refs:
        obj["object_marking_refs"] = object_refs
    selectable = ["name", "description", "aliases", "aliases.[0]", "aliases.[1]"]
    selectable = [s for s in selectable if s.split(".")[0] in obj]
    entries = [
        {
            "marking_ref": draw(st.sampled_from(pool)),
            "selectors": draw(st.lists(st.sampled_from(selectable), min_size=1, max_size=2)),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    for entry in entries:
        entry["selectors"] = list(dict.fromkeys(entry["selectors"]))
    if entries:
        obj["granular_markings"] = entries
    return obj


@st.composite
def more_granular_markings(draw: st.DrawFn, obj: dict[str, Any], refs: list[str]) -> None:
    """Mark some optional content of ``obj`` again, so that readers meet redaction often."""
    optional = [
        to_selector(path)
        for path in paths(obj)
        if path[0] not in (*REQUIRED, "id", "object_marking_refs", "granular_markings")
    ]
    if not optional or draw(st.booleans()):
        return
    tlp = [ref for ref, level in TLP_BY_ID.items() if 1 <= level <= 3]
    selectors = draw(st.lists(st.sampled_from(optional), min_size=1, max_size=2, unique=True))
    entry = {"marking_ref": draw(st.sampled_from([*refs, *tlp])), "selectors": selectors}
    obj["granular_markings"] = [*obj.get("granular_markings", []), entry]


def enforced_specs(number: int, near: Near) -> st.SearchStrategy[Spec]:
    """`support.reference.specs` without the markings the node cannot enforce."""
    return specs(number, near).filter(lambda spec: spec.kind in ("acs", "allyshare"))


@st.composite
def members(
    draw: st.DrawFn,
    name: str,
    organizations: Sequence[str | None],
    roles: Sequence[tuple[str, ...]],
    *,
    is_admin: bool = False,
) -> Member:
    organization = draw(st.sampled_from(organizations))
    nationality = None
    if organization is None or draw(st.integers(0, 2)) == 0:
        nationality = draw(st.none() | st.sampled_from(COUNTRIES))
    return Member(
        name,
        organization,
        nationality,
        draw(st.sampled_from(["U", "C", "S", "TS", "TS"])),
        draw(st.sampled_from(roles)),
        is_admin,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    node_country = draw(st.sampled_from(COUNTRIES))
    countries = draw(st.lists(st.sampled_from(COUNTRIES), max_size=3, unique=True))
    named = draw(
        st.lists(st.sampled_from(ORG_IDS), min_size=0 if countries else 1, max_size=3, unique=True)
    )
    terms = Terms(
        "example",
        tuple(countries),
        tuple(named),
        draw(st.sampled_from(["U", "C", "S", "TS", "TS", "TS"])),
        draw(st.sampled_from(["GREEN", "AMBER", "AMBER+STRICT", "RED", "RED", "RED"])),
    )
    party = [org for org in ORG_IDS if terms.has_party(org)]
    outside = [org for org in ORG_IDS if not terms.has_party(org)]
    count = draw(st.sampled_from([1, 1, 2, 2, 3]))
    originators = draw(st.lists(st.sampled_from(party), min_size=1, max_size=count, unique=True))
    writing = [("contributor",), ("curator",), ("reader", "contributor")]
    writers = [draw(members(f"writer{i}", [org], writing)) for i, org in enumerate(originators)]
    admin_roles: list[tuple[str, ...]] = [("admin",), ()]
    # Readers from other countries than the writers' meet NOFORN and REL TO more often.
    home = {ORGANIZATION[org].country for org in originators}
    abroad = [org for org in party if ORGANIZATION[org].country not in home] or party
    others = [
        draw(members("admin", [*[None] * 12, *ORG_IDS], admin_roles, is_admin=True)),
        draw(members("reader", [*party, *abroad], [("reader",), ("reader",), ("curator",)])),
    ]
    if draw(st.booleans()) and outside:
        others.append(draw(members("outsider", outside, [("reader",), ("contributor",)])))
    else:
        others.append(draw(members("roleless", ORG_IDS, [()])))
    if draw(st.integers(0, 3)) == 0:
        others.append(draw(members("another", party, [("reader",)])))

    # Markings often name a member, readers more than writers (who may read their own data
    # anyway), else someone else, so that every rule meets scenarios it alone decides; half
    # the examples use only markings the node enforces, so that fail-closed unknown ones do
    # not hide the rest.
    who = draw(st.sampled_from([*writers, *others, *others]))
    subject = who.subject(node_country)
    near = Near(subject.nationality, who.organization)
    if draw(st.booleans()):
        near = Near(draw(st.sampled_from(COUNTRIES)), draw(st.sampled_from(ORG_IDS)))
    marking = enforced_specs if draw(st.booleans()) else specs
    generated = [draw(marking(number, near)) for number in range(1, draw(st.integers(1, 5)) + 1)]
    by_ref = {spec.ref: spec for spec in generated}
    refs = list(by_ref)

    things = []
    for number in range(1, draw(st.integers(2, 6)) + 1):
        kind = draw(st.sampled_from(["indicator", "indicator", "indicator", "malware"]))
        originator = draw(st.sampled_from(originators))
        versions = []
        for version in range(draw(st.integers(1, 3))):
            obj = draw(indicators(refs) if kind == "indicator" else malwares(refs))
            obj["id"] = object_id(kind, number)
            obj["modified"] = day(1 + version)
            if kind == "indicator":
                draw(more_granular_markings(obj, refs))
            author = draw(st.integers(0, 9))
            if author == 0:
                obj["created_by_ref"] = identity_of(originator)
            elif author == 1:
                obj["created_by_ref"] = identity_of(draw(st.sampled_from(ORG_IDS)))
            check_object(obj)
            versions.append(obj)
        things.append(Thing(originator, tuple(versions)))
    hijack = None
    if len(writers) > 1 and draw(st.booleans()):
        hijack = (draw(st.integers(0, len(things) - 1)), draw(st.integers(0, 2 * len(writers))))
    return Scenario(
        node_country,
        terms,
        by_ref,
        draw(st.sampled_from(["collection", "elsewhere", "with-objects", "late"])),
        things,
        writers,
        others,
        hijack,
        draw(st.booleans()),
    )


# --- the node under test ------------------------------------------------------------------------


class Http:
    """Requests to the node's whole HTTP surface (TAXII and /api/v1), in process."""

    def __init__(self, runner: asyncio.Runner, app: Any) -> None:
        self.runner = runner
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.requests = 0

    def get(self, path: str, token: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        self.requests += 1
        headers = {"Authorization": f"Bearer {token}", "Accept": TAXII}
        return self.runner.run(self.client.get(path, headers=headers, params=params))

    def post(self, path: str, token: str, objects: list[dict[str, Any]]) -> httpx.Response:
        self.requests += 1
        headers = {"Authorization": f"Bearer {token}", "Accept": TAXII, "Content-Type": TAXII}
        body = orjson.dumps({"objects": objects})
        return self.runner.run(self.client.post(path, headers=headers, content=body))

    def close(self) -> None:
        self.runner.run(self.client.aclose())


@dataclass
class World:
    node: Node
    http: Http
    collections: dict[str, Terms]  # collection id -> the agreement it is bound to
    country: str
    tokens: dict[str, str] = field(default_factory=dict)  # member name -> token
    accounts: dict[str, str] = field(default_factory=dict)  # member name -> user name

    def user(self, name: str) -> User:
        return self.node.user(self.accounts[name])


class CurrentNode:
    """Stands in for the running example's node, so that one app serves every example
    (building the management API's FastAPI app costs more than the reads of an example)."""

    def __init__(self, settings: Settings) -> None:
        self.node: Node | None = None
        self.settings = settings  # what the apps read when built: page sizes, body limit

    def __getattr__(self, name: str) -> Any:
        assert self.node is not None, "no example is running"
        return getattr(self.node, name)


class Harness:
    """Opens nodes on one database for one test function, ``EXAMPLES_PER_NODE`` examples each,
    all served by one app."""

    def __init__(self, database_url: str, tmp_path: Path, runner: asyncio.Runner) -> None:
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.current = CurrentNode(Settings(data_dir=tmp_path, node_name=NODE_NAME))
        self.http = Http(runner, create_server_app(cast(Node, self.current)))
        self.template: Path | None = None
        self.opened = 0
        self.world: World | None = None
        self.examples = 0

    def _open(self, settings: Settings) -> Node:
        """A migrated node holding the organizations; SQLite ones are copies of a template."""
        if not self.database_url.startswith("sqlite"):
            engine = create_engine(self.database_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            engine.dispose()
            return self._populate(Node.open(replace(settings, database_url=self.database_url)))
        if self.template is None:
            template = self.tmp_path / "template.db"
            url = f"sqlite:///{template}"
            self._populate(Node.open(replace(settings, database_url=url))).close()
            self.template = template
        path = self.tmp_path / f"node{self.opened}.db"
        shutil.copyfile(self.template, path)
        url = f"sqlite:///{path}"
        return Node(replace(settings, database_url=url), Store(url))

    @staticmethod
    def _populate(node: Node) -> Node:
        for organization in ORGANIZATIONS:
            short = organization.id.split(".")[1]
            made = node.add_organization(
                short, country=organization.country, kind=organization.kind
            )
            assert made == organization.id
        return node

    def close(self) -> None:
        if self.world is not None:
            self.world.node.close()
            self.current.node = None
            self.world = None

    def example(self, country: str) -> World:
        """The node for the next example; a new one is in ``country``."""
        if self.world is None or self.examples % EXAMPLES_PER_NODE == 0:
            self.close()
            self.opened += 1
            settings = Settings(data_dir=self.tmp_path, node_name=NODE_NAME, country=country)
            node = self._open(settings)
            self.current.node = node
            self.world = World(node, self.http, {}, country)
            for name in ("definitions", "neighbour"):
                self.add_collection(Terms(f"{name}-{self.opened}", tuple(COUNTRIES), ()))
        self.examples += 1
        return self.world

    def add_collection(self, terms: Terms) -> str:
        assert self.world is not None
        self.world.node.apply_agreement(terms.document())
        collection = self.world.node.add_collection(terms.name, agreement=terms.name).id
        self.world.collections[collection] = terms
        return collection


@contextmanager
def harness_on(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    with asyncio.Runner() as runner:
        harness = Harness(database_url, tmp_path, runner)
        try:
            yield harness
        finally:
            harness.close()
            harness.http.close()


@pytest.fixture
def sqlite_harness(tmp_path: Path) -> Iterator[Harness]:
    with harness_on("sqlite", tmp_path) as harness:
        yield harness


@pytest.fixture
def postgresql_harness(postgres_worker_url: str, tmp_path: Path) -> Iterator[Harness]:
    """A real PostgreSQL (tests/conftest.py); each node resets the worker's schema."""
    with harness_on(postgres_worker_url, tmp_path) as harness:
        yield harness


# --- the reference view of the stored versions --------------------------------------------------


@dataclass(frozen=True)
class Stored:
    object_id: str
    version: str
    date_added: int
    obj: dict[str, Any]
    originator: Organization
    apart: bool = False
    """Kept apart for its writer's organization: it reused another originator's id."""


@dataclass(frozen=True)
class Row:
    """One version as a user may read it."""

    object_id: str
    version: str
    date_added: int
    body: dict[str, Any]


class Reference:
    """What DESIGN lets one member read of one collection, per version selection."""

    def __init__(
        self,
        member: Member,
        subject: Subject,
        terms: Terms,
        specs: dict[str, Spec],
        stored: list[Stored],
        implementation: Callable[[Stored], str],
    ) -> None:
        self.member = member
        self.implementation = implementation
        agreement = terms.agreement
        self.passes: dict[tuple[str, str], bool] = {}
        self.shown: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.stored = stored
        for item in stored:
            key = (item.object_id, item.version)
            context = (specs, item.originator, agreement, "read", frozenset[str]())
            refs = item.obj.get("object_marking_refs", [])
            own = subject.organization is not None and subject.organization.id == item.originator.id
            kept_apart = item.apart and not own and subject.kind != "system"
            self.passes[key] = not kept_apart and reference_may_see(subject, refs, *context)
            self.shown[key] = None if kept_apart else reference_visible(subject, item.obj, *context)

    def rows(self, mode: str) -> list[Row]:
        """``last``/``first``: the newest/oldest version whose object markings the member
        passes, unless its redacted copy is withheld; ``all``: every version shown; else the
        version so named."""
        chosen: dict[str, Stored] = {}
        picked: list[Stored] = []
        for item in self.stored:
            key = (item.object_id, item.version)
            if mode in ("last", "first"):
                if not self.passes[key]:
                    continue
                best = chosen.get(item.object_id)
                newer = best is None or item.version > best.version
                older = best is None or item.version < best.version
                if (mode == "last" and newer) or (mode == "first" and older):
                    chosen[item.object_id] = item
            elif mode == "all" or mode == item.version:
                picked.append(item)
        picked.extend(chosen.values())
        rows = []
        for item in sorted(picked, key=lambda item: item.date_added):
            body = self.shown[(item.object_id, item.version)]
            if body is not None:
                rows.append(Row(item.object_id, item.version, item.date_added, body))
        return rows

    def explain(self) -> str:
        """For a failure message: how the reference (and the implementation) judge every
        stored version."""
        lines = [f"as {self.member}:"]
        for item in self.stored:
            key = (item.object_id, item.version)
            shown = self.shown[key]
            verdict = "shown whole"
            if not self.passes[key]:
                verdict = "hidden by its object markings"
            elif shown is None:
                verdict = "withheld: redacting it would leave an invalid object"
            elif "x_allyshare_redacted" in shown:
                verdict = f"redacted {shown['x_allyshare_redacted']}"
            lines.append(
                f"  {item.object_id}@{item.version} added {item.date_added} by "
                f"{item.originator.id}: reference: {verdict}; "
                f"implementation: {self.implementation(item)}"
            )
        return "\n".join(lines)


# --- checks -------------------------------------------------------------------------------------


def same_as_missing(
    hidden: httpx.Response, missing: httpx.Response, ids: tuple[str, str] | None = None
) -> None:
    """A hidden resource answers exactly like a missing one; ``ids`` (hidden, missing) are the
    ids the two answers may name."""
    content = hidden.content
    if ids is not None:
        content = content.replace(ids[0].encode(), ids[1].encode())
    assert (hidden.status_code, content) == (missing.status_code, missing.content), (
        f"{hidden.request.url} answers {hidden.status_code} {hidden.content!r}, a missing one "
        f"{missing.status_code} {missing.content!r}"
    )
    assert hidden.status_code == 404
    assert hidden.headers == missing.headers


def check_headers(response: httpx.Response, rows: list[Row]) -> None:
    if rows:
        assert response.headers.get("X-TAXII-Date-Added-First") == format_us(rows[0].date_added)
        assert response.headers.get("X-TAXII-Date-Added-Last") == format_us(rows[-1].date_added)
    else:
        assert "X-TAXII-Date-Added-First" not in response.headers
        assert "X-TAXII-Date-Added-Last" not in response.headers


def summary(rows: list[Row]) -> list[str]:
    return [f"{row.object_id}@{row.version}" for row in rows]


def names(objs: list[dict[str, Any]]) -> list[str]:
    """Objects named like `summary` names rows (a redacted one says so)."""
    return [
        f"{obj.get('id')}@{obj.get('modified') or obj.get('created')}"
        + (" (redacted)" if "x_allyshare_redacted" in obj else "")
        for obj in objs
    ]


def check_pages(
    http: Http,
    path: str,
    token: str,
    params: dict[str, str],
    limit: int,
    expected: list[Row],
    reference: Reference,
    *,
    manifest: bool = False,
) -> None:
    """Page through with ``limit``: together the pages hold exactly the expected versions, in
    ``date_added`` order; and each page is the next ``limit`` of them, ``more`` true exactly
    when some are left, so that no page is short for a version the reader cannot see."""
    pages: list[tuple[dict[str, str], httpx.Response, list[Any]]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": str(limit)}
        if cursor is not None:
            query["next"] = cursor
        response = http.get(path, token, query)
        where = f"page {len(pages) + 1} of {path} {query}"
        assert response.status_code == 200, (
            f"{where}: {response.status_code} {response.text}\n{reference.explain()}"
        )
        assert response.headers["content-type"] == TAXII
        body = response.json()
        pages.append((query, response, body.get("objects", [])))
        assert ("next" in body) is body["more"], f"{where}: more {body['more']}, next {body}"
        if not body["more"]:
            break
        cursor = body["next"]
        assert len(pages) <= len(expected) + 1, f"{path} {params}: more never ends"

    def key(item: Any) -> tuple[str, str]:
        if manifest:
            return (item["id"], item["version"])
        return (item["id"], item.get("modified") or item["created"])

    added = {(row.object_id, row.version): row.date_added for row in reference.rows("all")}
    for item in reference.stored:
        added.setdefault((item.object_id, item.version), item.date_added)
    got = [item for _, _, items in pages for item in items]
    if manifest:
        assert [key(item) for item in got] == [(row.object_id, row.version) for row in expected], (
            f"{path} {params}: the manifest lists {[key(item) for item in got]}, the reference "
            f"{summary(expected)}\n{reference.explain()}"
        )
        for item, row in zip(got, expected, strict=True):
            assert item["date_added"] == format_us(row.date_added)
            assert item["media_type"] == STIX
    else:
        assert got == [row.body for row in expected], (
            f"{path} {params}: the pages hold {names(got)}, the reference {summary(expected)}\n"
            f"{reference.explain()}"
        )
    for _, response, items in pages:
        if items:
            first, last = added[key(items[0])], added[key(items[-1])]
            assert response.headers.get("X-TAXII-Date-Added-First") == format_us(first)
            assert response.headers.get("X-TAXII-Date-Added-Last") == format_us(last)
        else:
            assert "X-TAXII-Date-Added-First" not in response.headers
            assert "X-TAXII-Date-Added-Last" not in response.headers
    shape = [len(items) for _, _, items in pages]
    wanted = [len(expected[start : start + limit]) for start in range(0, len(expected), limit)]
    assert shape == (wanted or [0]), (
        f"{path} {params}: pages of {shape} versions, the reference {wanted or [0]} with limit "
        f"{limit}: a short page or a last page with more=true tells the reader that versions it "
        f"may not see are there\n{reference.explain()}"
    )


def check_envelope(
    response: httpx.Response, expected: list[Row], what: str, reference: Reference
) -> None:
    assert response.status_code == 200, f"{what}: {response.status_code} {response.text}"
    body = response.json()
    got = body.get("objects", [])
    assert got == [row.body for row in expected], (
        f"{what}: got {names(got)}, the reference {summary(expected)}\n" + reference.explain()
    )
    assert body["more"] is False
    check_headers(response, expected)


@dataclass
class Probe:
    """One member reading one collection over every path it was drawn to ask."""

    world: World
    collection: str
    member: Member
    reference: Reference
    data: st.DataObject
    stored_ids: list[str]
    missed: dict[tuple[str, str | None], httpx.Response] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return self.world.tokens[self.member.name]

    @property
    def objects_path(self) -> str:
        return f"/taxii2/api/collections/{self.collection}/objects/"

    def missing(self, suffix: str, mode: str | None) -> httpx.Response:
        """How the collection answers this member for an object it does not hold."""
        if (suffix, mode) not in self.missed:
            params = {} if mode is None else {"match[version]": mode}
            path = f"{self.objects_path}{MISSING_OBJECT}/{suffix}"
            self.missed[(suffix, mode)] = self.world.http.get(path, self.token, params)
        return self.missed[(suffix, mode)]

    def draw(self, strategy: st.SearchStrategy[Any], label: str) -> Any:
        return self.data.draw(strategy, label=f"{self.member.name}: {label}")

    def listing(self) -> None:
        mode = self.draw(st.sampled_from(MODES), "objects match[version]")
        limit = self.draw(st.sampled_from(LISTING_LIMITS), "objects limit")
        params = {"match[version]": mode}
        if mode == "last" and self.draw(st.booleans(), "last by default"):
            params = {}
        expected = self.reference.rows(mode)
        event(f"objects listed per member: {min(len(expected), 10)}")
        check_pages(
            self.world.http, self.objects_path, self.token, params, limit, expected, self.reference
        )

    def manifest(self) -> None:
        mode = self.draw(st.sampled_from(MODES), "manifest match[version]")
        limit = self.draw(st.sampled_from(MANIFEST_LIMITS), "manifest limit")
        path = f"/taxii2/api/collections/{self.collection}/manifest/"
        check_pages(
            self.world.http,
            path,
            self.token,
            {"match[version]": mode},
            limit,
            self.reference.rows(mode),
            self.reference,
            manifest=True,
        )

    def by_id(self) -> None:
        oid = self.draw(st.sampled_from(self.stored_ids), "objects/{id}")
        mode = self.draw(st.sampled_from(MODES), "objects/{id} match[version]")
        params = {"match[version]": mode}
        response = self.world.http.get(f"{self.objects_path}{oid}/", self.token, params)
        expected = [row for row in self.reference.rows(mode) if row.object_id == oid]
        if expected:
            event("objects/{id}: visible")
            check_envelope(response, expected, f"objects/{oid} ({mode})", self.reference)
        else:
            event("objects/{id}: hidden or never stored")
            same_as_missing(response, self.missing("", mode))

    def versions(self) -> None:
        oid = self.draw(st.sampled_from(self.stored_ids), "versions of")
        response = self.world.http.get(f"{self.objects_path}{oid}/versions/", self.token)
        expected = [row for row in self.reference.rows("all") if row.object_id == oid]
        if not expected:
            same_as_missing(response, self.missing("versions/", None))
            return
        assert response.status_code == 200, response.text
        body = response.json()
        assert body == {"more": False, "versions": [row.version for row in expected]}, (
            f"versions of {oid}: {body}, the reference {summary(expected)}"
        )
        check_headers(response, expected)

    def filtered(self) -> None:
        kind = self.draw(st.sampled_from(["type", "id", "added_after", "version"]), "filter")
        mode = self.draw(st.sampled_from(MODES), "filter match[version]")
        expected = self.reference.rows(mode)
        params = {"match[version]": mode}
        if kind == "type":
            wanted = self.draw(
                st.sampled_from(["indicator", "malware", "marking-definition"]), "type"
            )
            params["match[type]"] = wanted
            expected = [row for row in expected if row.object_id.startswith(wanted + "--")]
        elif kind == "id":
            ids = self.draw(
                st.lists(
                    st.sampled_from([*self.stored_ids, MISSING_OBJECT]), min_size=1, max_size=3
                ),
                "ids",
            )
            params["match[id]"] = ",".join(ids)
            expected = [row for row in expected if row.object_id in ids]
        elif kind == "added_after":
            moments = sorted({item.date_added for item in self.reference.stored})
            after = self.draw(st.sampled_from(moments), "added_after") if moments else 0
            params["added_after"] = format_us(after)
            expected = [row for row in expected if row.date_added > after]
        else:
            versions = sorted({item.version for item in self.reference.stored}) or [CREATED]
            version = self.draw(st.sampled_from(versions), "version")
            params["match[version]"] = version
            expected = self.reference.rows(version)
        response = self.world.http.get(self.objects_path, self.token, params)
        check_envelope(response, expected, f"objects {params}", self.reference)

    def exported(self) -> None:
        mode = self.draw(st.sampled_from(MODES), "export match[version]")
        user = self.world.user(self.member.name)
        selection = VersionFilter(versions=frozenset({mode}))
        got = [
            orjson.loads(body) for body in self.world.node.export(user, self.collection, selection)
        ]
        expected = self.reference.rows(mode)
        assert got == [row.body for row in expected], (
            f"export ({mode}): {names(got)}, the reference {summary(expected)}\n"
            + self.reference.explain()
        )

    def shut_out(self) -> None:
        """No right on the collection: every path answers as for a collection that is not."""
        http, token = self.world.http, self.token
        suffixes = ["", "objects/", "manifest/", f"objects/{self.stored_ids[0]}/versions/"]
        for suffix in [self.draw(st.sampled_from(suffixes), "path")]:
            hidden = http.get(f"/taxii2/api/collections/{self.collection}/{suffix}", token)
            missing = http.get(f"/taxii2/api/collections/{MISSING_COLLECTION}/{suffix}", token)
            same_as_missing(hidden, missing, (self.collection, MISSING_COLLECTION))
        user = self.world.user(self.member.name)
        with pytest.raises(NotFound):
            list(self.world.node.export(user, self.collection, VersionFilter()))


def check_collections(world: World, member: Member, management: bool) -> None:
    """Every collection the member holds a right on, with those rights, and no other."""
    expected = {}
    for collection, terms in world.collections.items():
        can_read, can_write = rights(member, terms)
        if can_read or can_write:
            expected[collection] = (can_read, can_write, terms.name)
    token = world.tokens[member.name]
    if management:
        response = world.http.get("/api/v1/collections", token)
        assert response.status_code == 200, response.text
        got = {
            c["id"]: (c["can_read"], c["can_write"], c["agreement"])
            for c in response.json()["collections"]
        }
    else:
        response = world.http.get("/taxii2/api/collections/", token)
        assert response.status_code == 200, response.text
        listed = response.json().get("collections", [])
        got = {
            c["id"]: (c["can_read"], c["can_write"], expected.get(c["id"], ("?",) * 3)[2])
            for c in listed
        }
    assert got == expected, f"{'/api/v1' if management else 'TAXII'} collections of {member}"


@dataclass
class Batch:
    """One add-objects request and what the reference expects of it."""

    writer: Member
    collection: str
    objects: list[dict[str, Any]]
    refused: set[tuple[str, str]]
    status: dict[str, Any] = field(default_factory=dict)


def version_of(obj: Mapping[str, Any]) -> str:
    return str(obj.get("modified") or obj["created"])


def write(world: World, batch: Batch, via_http: bool) -> None:
    """Send a batch as its writer and check which objects were refused."""
    token = world.tokens[batch.writer.name]
    if via_http:
        path = f"/taxii2/api/collections/{batch.collection}/objects/"
        response = world.http.post(path, token, batch.objects)
        assert response.status_code == 202, response.text
        status = response.json()
    else:
        record = world.node.add_objects(
            world.user(batch.writer.name), batch.collection, batch.objects
        )
        status = {
            "id": record.id,
            "total_count": record.total_count,
            "success_count": record.success_count,
            "failure_count": record.failure_count,
            "successes": record.successes,
            "failures": record.failures,
        }
    batch.status = status
    refused = {(f["id"], f["version"]) for f in status.get("failures", [])}
    stored = {(s["id"], s["version"]) for s in status.get("successes", [])}
    expected_stored = {(o["id"], version_of(o)) for o in batch.objects} - batch.refused
    assert (stored, refused) == (expected_stored, batch.refused), (
        f"{batch.writer.name} wrote {len(batch.objects)} objects: stored {sorted(stored)}, "
        f"refused {sorted(refused)}; the reference refuses {sorted(batch.refused)} "
        f"({status.get('failures')})"
    )
    assert status["total_count"] == len(batch.objects)
    for failure in status.get("failures", []):
        assert failure["message"].startswith(
            ("refused by policy: ", "only the originator of this object")
        ), failure


def check_status(world: World, batch: Batch, member: Member, reference: Reference) -> None:
    """The writer reads its request's status; to anyone else, admins included, it answers as
    a missing one: a status names versions its reader might not be allowed to see (DESIGN
    section 3)."""
    token = world.tokens[member.name]
    response = world.http.get(f"/taxii2/api/status/{batch.status['id']}/", token)
    if member != batch.writer:
        missing = world.http.get(f"/taxii2/api/status/{MISSING_STATUS}/", token)
        same_as_missing(response, missing, (batch.status["id"], MISSING_STATUS))
        return
    assert response.status_code == 200, response.text
    body = response.json()
    for key in ("id", "total_count", "success_count", "failure_count"):
        assert body[key] == batch.status[key]
    assert body.get("failures", []) == batch.status.get("failures", [])
    assert body.get("successes", []) == batch.status.get("successes", [])


# --- the test -----------------------------------------------------------------------------------


def describe(scenario: Scenario) -> None:
    terms = scenario.terms
    note(
        f"agreement: parties {terms.countries} {terms.organizations}, "
        f"max {terms.max_classification}, TLP ceiling {terms.tlp_ceiling}"
    )
    for member in scenario.members:
        note(f"member {member}")
    for spec in scenario.specs.values():
        note(f"marking {spec}")
    note(f"definitions go: {scenario.definitions_go}")
    for thing in scenario.things:
        note(f"{thing.versions[0]['id']} by {thing.originator}:")
        for obj in thing.versions:
            note(f"    {orjson.dumps(obj).decode()}")


class Example:
    """One example on its node: the members, the writes, and the reads checked."""

    def __init__(self, harness: Harness, scenario: Scenario, data: st.DataObject) -> None:
        self.scenario = scenario
        self.data = data
        self.world = world = harness.example(scenario.node_country)
        self.terms = replace(scenario.terms, name=f"example-{harness.examples}")
        self.collection = harness.add_collection(self.terms)
        self.definitions_collection, self.neighbour_collection = list(world.collections)[:2]
        for member in scenario.members:
            world.accounts[member.name] = f"{member.name}-{harness.examples}"
            world.tokens[member.name] = world.node.add_user(
                world.accounts[member.name],
                is_admin=member.is_admin,
                organization=member.organization,
                nationality=member.nationality,
                clearance=member.clearance,
                roles=member.roles,
            )
        # Marking ids are the same in every example; a node shared by examples needs them apart.
        renamed = {
            ref: ref.replace("-0000-4000-", f"-{harness.examples:04x}-4000-")
            for ref in scenario.specs
        }

        def rename(value: Any) -> Any:
            if isinstance(value, dict):
                return {key: rename(item) for key, item in value.items()}
            if isinstance(value, list):
                return [rename(item) for item in value]
            return renamed.get(value, value) if isinstance(value, str) else value

        self.specs = {
            renamed[ref]: replace(spec, ref=renamed[ref]) for ref, spec in scenario.specs.items()
        }
        self.things = [
            Thing(t.originator, tuple(rename(v) for v in t.versions)) for t in scenario.things
        ]
        self.definitions = [
            d for spec in self.specs.values() if (d := definition(spec)) is not None
        ]
        # The markings whose definitions the node has been sent (a broken one is refused, so
        # its ref stays unknown either way).
        self.known: dict[str, Spec] = {}
        self.batches: list[Batch] = []
        self.apart: set[tuple[str, str]] = set()

    # writing

    def send(
        self,
        writer: Member,
        where: str,
        objs: list[dict[str, Any]],
        together: bool = False,
        refuse: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        """Write as ``writer``; ``together``: the definitions travel in the same request;
        ``refuse``: versions refused whatever their markings."""
        assert writer.organization is not None
        ceilings = self.world.collections[where]
        refused = {
            (obj["id"], version_of(obj))
            for obj in objs
            if reference_write_problems(
                obj,
                self.specs if together or obj["type"] == "marking-definition" else self.known,
                max_classification=ceilings.max_classification,
                tlp_ceiling=ceilings.tlp_ceiling,
                writer=writer.organization,
                members={identity_of(org): org for org in ORGANIZATION},
                definitions_in_request=together,
            )
        }
        batch = Batch(writer, where, objs, refused | refuse)
        write(self.world, batch, self.data.draw(st.booleans(), label="via HTTP"))
        self.batches.append(batch)
        if any(obj["type"] == "marking-definition" for obj in objs):
            self.known = self.specs

    def write_everything(self) -> None:
        scenario, first = self.scenario, self.scenario.writers[0]
        going = scenario.definitions_go
        if going in ("collection", "elsewhere") and self.definitions:
            where = self.collection if going == "collection" else self.definitions_collection
            self.send(first, where, self.definitions)
        for round_ in range(3):
            for writer in scenario.writers:
                objs = [
                    thing.versions[round_]
                    for thing in self.things
                    if thing.originator == writer.organization and round_ < len(thing.versions)
                ]
                together = round_ == 0 and writer == first and going == "with-objects"
                if together:
                    objs = [*self.definitions, *objs]
                if objs:
                    self.send(writer, self.collection, objs, together)
            if round_ == 0:
                # A reader's view of the collection is now cached by the node; what follows
                # (new versions, definitions of markings used before) must change it.
                self.read_between("after the first versions")
                if going == "late" and self.definitions:
                    event("definitions arrive after objects that use them")
                    self.send(first, self.collection, self.definitions)
                    self.read_between("after the late definitions")
        if scenario.hijack is not None:
            self.hijack(*scenario.hijack)
        if scenario.neighbour:
            # Versions of the same ids, and one more object, in another collection: none may
            # show through this one.
            copies = [
                {**thing.versions[0], "modified": day(15)}
                for thing in self.things
                if thing.originator == first.organization
            ]
            extra = {
                **self.things[0].versions[0],
                "id": object_id(self.things[0].versions[0]["type"], 999),
                "modified": day(15),
            }
            extra.pop("created_by_ref", None)
            self.send(first, self.neighbour_collection, [*copies, extra])

    def hijack(self, thing_index: int, writer_index: int) -> None:
        """Another organization adds a version of a stored object: refused when the writer
        may see some version of it; else stored as for an unused id, kept apart for the
        writer's organization (the answer must not tell that a hidden object has the id).
        ``writer_index`` picks, in turn, among the writers who see it and those who do not."""
        thing = self.things[thing_index]
        stored = self.stored()
        held = [item for item in stored if item.object_id == thing.versions[0]["id"]]
        others = [w for w in self.scenario.writers if w.organization != thing.originator]
        if not held or not others:
            return

        def sees(writer: Member) -> bool:
            shown = self.reference(writer, stored).shown
            return any(shown[item.object_id, item.version] is not None for item in held)

        groups = [[w for w in others if sees(w)], [w for w in others if not sees(w)]]
        group = groups[writer_index % 2] or groups[1 - writer_index % 2]
        hijacker = group[writer_index // 2 % len(group)]
        # A stored version's copy, so that the write rules let it through as they did that.
        attempt = {**held[-1].obj, "modified": day(20)}
        attempt.pop("created_by_ref", None)
        key = (attempt["id"], day(20))
        if hijacker in groups[0]:
            event("an organization tries to add a version of another's object it sees")
            # Whatever the markings, the originator alone adds versions.
            self.send(hijacker, self.collection, [attempt], refuse=frozenset({key}))
        else:
            event("an organization reuses the id of another's object it does not see")
            self.apart.add(key)
            self.send(hijacker, self.collection, [attempt])

    def stored(self) -> list[Stored]:
        """What the collection holds, with the date_added the node gave each version; and
        exactly what the reference let through."""
        sent = {
            (obj["id"], version_of(obj)): (obj, batch.writer.organization)
            for batch in self.batches
            if batch.collection == self.collection
            for obj in batch.objects
        }
        selection = VersionFilter(versions=frozenset({"all"}))
        page = self.world.node._store.read_page(self.collection, selection, limit=100_000)
        stored = []
        for item in page.items:
            obj, organization = sent[(item.object_id, item.version)]
            assert organization is not None
            originator = ORGANIZATION[organization]
            apart = (item.object_id, item.version) in self.apart
            stored.append(
                Stored(item.object_id, item.version, item.date_added, obj, originator, apart)
            )
        accepted = {key for key in sent if not any(key in b.refused for b in self.batches)}
        assert {(s.object_id, s.version) for s in stored} == accepted
        return stored

    # reading

    def reference(self, member: Member, stored: list[Stored]) -> Reference:
        world, terms = self.world, self.terms
        registry = world.node.registry()
        implementation = world.node.subject_of(world.user(member.name))

        def judge(item: Stored) -> str:
            """What allyshare.policy decides, for failure messages only."""
            target = Target(item.obj, item.originator, terms.agreement)
            return " ".join(explain(decide(implementation, target, registry)))

        subject = member.subject(world.country)
        return Reference(member, subject, terms, self.known, stored, judge)

    def read_between(self, when: str) -> None:
        readers = [m for m in self.scenario.members if rights(m, self.terms)[0]]
        if not readers or not self.data.draw(st.booleans(), label=f"read {when}"):
            return
        member = self.data.draw(st.sampled_from(readers), label=f"reader {when}")
        mode = self.data.draw(st.sampled_from(MODES), label=f"match[version] {when}")
        reference = self.reference(member, self.stored())
        path = f"/taxii2/api/collections/{self.collection}/objects/"
        params = {"match[version]": mode, "limit": "1000"}
        response = self.world.http.get(path, self.world.tokens[member.name], params)
        check_envelope(response, reference.rows(mode), f"objects {params} {when}", reference)

    def read_everything(self) -> None:
        data, world = self.data, self.world
        stored = self.stored()
        event(f"versions stored: {min(len(stored), 20) // 5 * 5}+")
        sent = {
            obj["id"]
            for batch in self.batches
            if batch.collection == self.collection
            for obj in batch.objects
        }
        stored_ids = sorted(sent | {MISSING_OBJECT})
        references: dict[str, Reference] = {}
        for member in self.scenario.members:
            can_read, _ = rights(member, self.terms)
            reference = references[member.name] = self.reference(member, stored)
            shown = list(reference.shown.values())
            redacted = sum(1 for b in shown if b is not None and "x_allyshare_redacted" in b)
            kind = member.name.rstrip("0123456789")
            event(f"{kind}: reads {can_read}, redacted versions {min(redacted, 3)}")
            probe = Probe(world, self.collection, member, reference, data, stored_ids)
            if not can_read:
                probe.shut_out()
            else:
                # Every path, but not every path for every member: reads cost a node request.
                probe.listing()
                paths = {
                    "objects/{id}": probe.by_id,
                    "manifest": probe.manifest,
                    "versions": probe.versions,
                    "filter": probe.filtered,
                    "export": probe.exported,
                }
                names = ["objects/{id}", *paths]
                for name in data.draw(
                    st.lists(st.sampled_from(names), min_size=1, max_size=2).filter(
                        lambda chosen: len(chosen) == 1 or chosen[0] != chosen[1]
                    ),
                    label="paths",
                ):
                    paths[name]()
            if data.draw(st.integers(0, 5), label="collections") == 0:
                check_collections(world, member, data.draw(st.booleans(), label="management"))
        mine = [batch for batch in self.batches if batch.collection == self.collection]
        if data.draw(st.booleans(), label="status") and mine:
            batch = data.draw(st.sampled_from(mine), label="status of")
            readers = st.lists(
                st.sampled_from(self.scenario.members), min_size=1, max_size=2, unique=True
            )
            for member in data.draw(readers, label="status readers"):
                check_status(world, batch, member, references[member.name])


def run_example(harness: Harness, scenario: Scenario, data: st.DataObject) -> None:
    describe(scenario)
    example = Example(harness, scenario, data)
    example.write_everything()
    example.read_everything()
    requests = example.world.http.requests
    event(f"HTTP requests per example: {requests // 20 * 20}+")
    example.world.http.requests = 0


SETTINGS = settings(
    deadline=None,
    # An example costs a node; shrinking one takes minutes, so failures are reported as found
    # (each message lays out how the reference judges every stored version).
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@settings(SETTINGS, max_examples=EXAMPLES["sqlite"])
@given(scenarios(), st.data())
def test_every_path_matches_the_reference_on_sqlite(
    sqlite_harness: Harness, scenario: Scenario, data: st.DataObject
) -> None:
    run_example(sqlite_harness, scenario, data)


@settings(SETTINGS, max_examples=EXAMPLES["postgresql"])
@given(scenarios(), st.data())
def test_every_path_matches_the_reference_on_postgresql(
    postgresql_harness: Harness, scenario: Scenario, data: st.DataObject
) -> None:
    run_example(postgresql_harness, scenario, data)


# --- the disagreements the property found, each as one plain case -------------------------------

SECRET = "marking-definition--5ec7e700-0000-4000-8000-000000000001"


@dataclass
class Small:
    client: TestClient
    collection: str
    tokens: dict[str, str]

    def get(self, who: str, path: str, **params: str) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", "Accept": TAXII}
        return self.client.get(path, headers=headers, params=params)

    def post(self, who: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self.tokens[who]}",
            "Accept": TAXII,
            "Content-Type": TAXII,
        }
        path = f"/taxii2/api/collections/{self.collection}/objects/"
        response = self.client.post(
            path, headers=headers, content=orjson.dumps({"objects": objects})
        )
        assert response.status_code == 202, response.text
        status: dict[str, Any] = response.json()
        assert status["failure_count"] == 0, status
        return status


@pytest.fixture
def small(database_url: str, tmp_path: Path) -> Iterator[Small]:
    """CISA writes (cleared TS); DHS reads and the node's admin looks on, both cleared U."""
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url))
    cisa = node.add_organization("CISA", country="USA", kind="cert")
    dhs = node.add_organization("DHS", country="USA", kind="government")
    node.apply_agreement(Terms("usa", ("USA",), (), "S", "RED").document())
    collection = node.add_collection("Indicators", agreement="usa").id
    tokens = {
        "writer": node.add_user("writer", organization=cisa, clearance="TS", roles=["contributor"]),
        "reader": node.add_user("reader", organization=dhs, clearance="U", roles=["reader"]),
        "admin": node.add_user("admin", is_admin=True, clearance="U"),
    }
    with TestClient(create_server_app(node), raise_server_exceptions=False) as client:
        world = Small(client, collection, tokens)
        secret = definition(Spec(SECRET, "acs", classification="S"))
        assert secret is not None
        world.post("writer", [secret])
        yield world
    node.close()


def indicator(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": object_id("indicator", number),
        "created": CREATED,
        "modified": CREATED,
        "pattern": f"[ipv4-addr:value = '198.51.100.{number}']",
        "pattern_type": "stix",
        "valid_from": "2024-03-01T10:00:00Z",
        **extra,
    }


@pytest.mark.parametrize("limit", [1, 3])
def test_a_withheld_version_leaves_no_trace_in_the_pages(small: Small, limit: int) -> None:
    """A malware family whose required ``name`` is marked SECRET is withheld from a reader
    cleared U, between two indicators it may read. Paged, the reader must get full pages,
    ``more`` only while something is left, and no error: a short page, an empty page with
    ``more`` or a 500 all tell it that something it may not see is there (DESIGN section 3)."""
    withheld = {
        "type": "malware",
        "spec_version": "2.1",
        "id": object_id("malware", 2),
        "created": CREATED,
        "modified": CREATED,
        "name": "FALLCHILL",
        "is_family": True,
        "granular_markings": [{"marking_ref": SECRET, "selectors": ["name"]}],
    }
    small.post("writer", [indicator(1), withheld, indicator(3)])
    path = f"/taxii2/api/collections/{small.collection}/objects/"
    everything = [SECRET, object_id("indicator", 1), object_id("indicator", 3)]
    expected = [everything[start : start + limit] for start in range(0, len(everything), limit)]
    pages: list[list[str]] = []
    params = {"limit": str(limit)}
    while True:
        response = small.get("reader", path, **params)
        assert response.status_code == 200, (
            f"page {len(pages) + 1} after {pages}: {response.status_code} {response.text}"
        )
        body = response.json()
        pages.append([obj["id"] for obj in body.get("objects", [])])
        if not body["more"]:
            break
        params = {"limit": str(limit), "next": body["next"]}
    assert pages == expected, f"the withheld {withheld['id']} shows as a gap"


def test_a_status_names_no_version_its_reader_may_not_see(small: Small) -> None:
    """The node's admin (cleared U) may not read an indicator marked SECRET; reading the
    writer's status, it must not learn that the indicator exists either (DESIGN section 3:
    status is one of the paths by which data leaves the node)."""
    status = small.post("writer", [indicator(1, object_marking_refs=[SECRET])])
    hidden = object_id("indicator", 1)
    path = f"/taxii2/api/collections/{small.collection}/objects/{hidden}/"
    assert small.get("admin", path).status_code == 404
    response = small.get("admin", f"/taxii2/api/status/{status['id']}/")
    assert response.status_code == 404 or hidden not in response.text, (
        f"the admin may not read {hidden}, yet its writer's status names it: {response.text}"
    )
