"""Speed on realistic data: a community's mix of authors and markings, read through TAXII by a
restricted member and posted through TAXII, beside this machine's orjson limit.

    python bench/realistic.py [--size 20000] [--repeats 5] [--seed 0] [--name NAME] [--keep]
    python bench/realistic.py --report-only

The content is the synthetic stream of `allyshare.demo.content.synthetic_objects` (indicators,
relationships, sightings, reports with ``object_refs``, SDOs, SCOs, about 5 % new versions),
reshaped into what a sharing community holds:

- many authors: 24 member organizations of a US-ROK community; each object (every version
  alike) is written by one of them, with its identity as ``created_by_ref``, and posted by
  that organization's contributor;
- TLP CLEAR / GREEN / AMBER / RED at 25 / 40 / 28 / 7 % of objects; RED always with one of
  eight allyshare markings naming recipients (2 to 4 organizations), as the policy requires;
- 10 % of indicators and reports with a granular marking on ``description`` (or, for half of
  the indicators, ``pattern``): an ACS 3.0 U//NOFORN marking, or TLP:RED with its own named
  recipients;
- property sizes as shared intelligence has them: descriptions of a few sentences (reports and
  SDOs longer), kill chain phases, external references, labels.

The restricted member is a reader of a Korean company (``KOR.HANBIT``): it sees CLEAR, GREEN
and AMBER, RED only where it is named, and what granular markings it fails is redacted (an
indicator whose pattern it may not see is withheld).

Measured in one run, each figure the median of ``--repeats``:

- **read**: the restricted member's full read, ``GET .../objects/?limit=10000`` following
  ``next`` (seconds are the HTTP exchanges, after one untimed ``limit=1``), objects returned
  per second; beside it **orjson** ``loads`` + ``dumps`` of the same objects as posted, per
  object, measured between the reads. Target: read ≥ 0.2 x orjson.
- **ingest**: ``POST .../objects/``, 1,000 objects per request, each request by one author's
  contributor, into a fresh collection per repeat; objects per second. Target ≥ 25,000.

Every read is checked against what the generator decided for each object: exactly the objects
the member may see, their newest versions, equal to what was posted except the redacted fields.

Writes its section into bench/RESULTS.md and every figure to bench/results-realistic.json;
``--report-only`` re-inserts the section from that JSON. With ``--keep`` the runs already in
the JSON stay beside the new one, each a column headed by its ``--name``: run it once with
``PYTHONPATH`` naming another checkout's ``src`` (the node and its server then run that code)
and once without, to put two versions side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shlex
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

import report
import servers
from allyshare import Node, load_settings
from allyshare.community import identity_of
from allyshare.demo.content import TLP_AMBER, TLP_CLEAR, TLP_GREEN, TLP_RED, synthetic_objects
from servers import Server
from taxii_http import BenchError, Client

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work" / "realistic"
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = BENCH / "results-realistic.json"
START, END = report.markers("realistic.py")
PAGE = 10_000
BATCH = 1_000
READ_TARGET = 0.2  # restricted read ÷ orjson loads+dumps, per object, at least
INGEST_TARGET = 25_000  # objects/s, at least

ACS_EXTENSION = "extension-definition--3a65884d-005a-4290-8335-cb2d778a83ce"
ALLYSHARE_EXTENSION = "extension-definition--894568f2-b9da-4cbf-a449-c356685e423c"
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
AGREEMENT: dict[str, Any] = {
    "name": "us-rok-bench",
    "version": 1,
    "parties": {"countries": ["USA", "KOR"], "organizations": []},
    "categories": ["cyber-threat", "sensitive-technology", "supply-chain"],
    "max_classification": "S",
    "tlp_ceiling": "RED",
    "propin_match_only": True,
    "aggregate_k": 3,
}
# (name, country, kind, weight): CERTs and agencies write most of what is shared.
MEMBERS: tuple[tuple[str, str, str, int], ...] = (
    ("CISA", "USA", "cert", 10),
    ("FBI", "USA", "government", 5),
    ("DC3", "USA", "government", 3),
    ("Commerce", "USA", "government", 2),
    ("MS-ISAC", "USA", "cert", 6),
    ("Pacific-Crest", "USA", "company", 3),
    ("Ironbridge-Telecom", "USA", "company", 2),
    ("Lakeside-Power", "USA", "company", 1),
    ("Redwood-Battery", "USA", "company", 1),
    ("Cobalt-Financial", "USA", "company", 2),
    ("Summit-Aerospace", "USA", "company", 2),
    ("Mesa-University", "USA", "academic", 1),
    ("KISA", "KOR", "cert", 10),
    ("NIS", "KOR", "government", 5),
    ("MOTIE", "KOR", "government", 2),
    ("FSI", "KOR", "cert", 4),
    ("Hanbit", "KOR", "company", 3),
    ("Hangang-Telecom", "KOR", "company", 2),
    ("Namsan-Nuclear", "KOR", "company", 1),
    ("Baekdu-Battery", "KOR", "company", 1),
    ("Jeju-Bank", "KOR", "company", 2),
    ("Incheon-Logistics", "KOR", "company", 1),
    ("Gyeongju-Shipbuilding", "KOR", "company", 1),
    ("Daejeon-Institute", "KOR", "academic", 1),
)
READER_ORG = "KOR.HANBIT"
DEFINED = "2026-01-01T00:00:00.000Z"

_PROSE = (
    "The actor registered look-alike domains a week before the first lure was sent.",
    "Initial access came through an unpatched VPN appliance exposed to the internet.",
    "Several victims reported the same scheduled task name and persistence mechanism.",
    "Command and control traffic was tunnelled over HTTPS to short-lived cloud hosts.",
    "The loader checks the system locale and exits on machines outside the target region.",
    "Credential dumping followed within hours, using a renamed copy of a public tool.",
    "Exfiltrated archives were split into small parts and uploaded to a file-sharing site.",
    "The campaign targeted design engineers through recruiter messages on social media.",
    "Samples share code with a backdoor publicly attributed to the same cluster in 2024.",
    "Operators worked in shifts that match office hours in the suspected home country.",
    "A supplier's update server was used to deliver a trojanised installer to customers.",
    "The infrastructure overlaps with servers seen in an earlier intrusion at a shipyard.",
    "Detection is possible from the unusual parent process of the spawned command shell.",
    "Partners observed the same indicators in telemetry from two national carriers.",
    "The payload is encrypted with a per-victim key derived from the host name.",
    "Analysts assess with moderate confidence that the activity is state-sponsored.",
)
_KILL_CHAIN = (
    "reconnaissance",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "lateral-movement",
    "command-and-control",
    "exfiltration",
)
_LABELS = ("apt", "espionage", "ransomware", "supply-chain", "phishing", "ics", "financial")


# --- content --------------------------------------------------------------------------------------


def member_id(name: str, country: str) -> str:
    return f"{country}.{name.upper()}"


ORGS = [member_id(name, country) for name, country, _, _ in MEMBERS]
_WEIGHTS = [weight for *_, weight in MEMBERS]


def _definition(key: str, name: str, extensions: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256(f"realistic-bench:{key}".encode()).hexdigest()
    uid = f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{uid}",
        "created": DEFINED,
        "name": name,
        "extensions": extensions,
    }


def _recipients(extension_only: list[str]) -> dict[str, Any]:
    return {"extension_type": "property-extension", "recipients": extension_only}


def recipient_sets(rng: random.Random) -> list[list[str]]:
    """Eight sets of two to four named organizations; the reader is in three of them."""
    sets = []
    for index in range(8):
        others = [org for org in ORGS if org != READER_ORG]
        chosen = rng.sample(others, 2 + index % 3)
        if index % 3 == 0:
            chosen[0] = READER_ORG
        sets.append(sorted(set(chosen)))
    return sets


@dataclass
class Markings:
    """The marking definitions the content uses, posted before it."""

    red_recipients: list[dict[str, Any]]  # allyshare recipients, beside TLP:RED
    granular_red: list[dict[str, Any]]  # TLP:RED and its recipients in one definition
    noforn: dict[str, Any]

    def all(self) -> list[dict[str, Any]]:
        return [*self.red_recipients, *self.granular_red, self.noforn]


def markings(seed: int) -> Markings:
    rng = random.Random(seed)
    sets = recipient_sets(rng)
    red = [
        _definition(
            f"recipients-{i}",
            f"Recipients: {', '.join(names)}",
            {ALLYSHARE_EXTENSION: _recipients(names)},
        )
        for i, names in enumerate(sets)
    ]
    granular = [
        _definition(
            f"granular-red-{i}",
            f"TLP:RED for {', '.join(names)}",
            {
                TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": "red"},
                ALLYSHARE_EXTENSION: _recipients(names),
            },
        )
        for i, names in enumerate(sets[:4])
    ]
    noforn = _definition(
        "noforn",
        "U//NOFORN",
        {
            ACS_EXTENSION: {
                "extension_type": "property-extension",
                "identifier": "isa:guide.19001.ACS-3.0#realistic-noforn",
                "create_date_time": "2026-01-01T00:00:00Z",
                "policy_reference": "urn:isa:policy:acs:ns:v3.0?privdefault=deny&sharedefault=deny",
                "control_set": {"classification": "U", "formal_determination": ["NF"]},
            }
        },
    )
    return Markings(red, granular, noforn)


@dataclass(frozen=True)
class Plan:
    """What the generator decided for one object (every version alike)."""

    author: str
    tlp: str
    recipients: frozenset[str] = frozenset()  # with RED
    granular: str = ""  # the selector a granular marking covers
    granular_recipients: frozenset[str] | None = None  # None: the NOFORN marking


def _unit(seed: int, object_id: str, what: str) -> float:
    digest = hashlib.blake2b(f"{seed}:{what}:{object_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def plan_for(object_id: str, kind: str, seed: int, marks: Markings) -> Plan:
    author = random.Random(f"{seed}:author:{object_id}").choices(ORGS, _WEIGHTS)[0]
    share = _unit(seed, object_id, "tlp") * 100
    tlp = TLP_CLEAR if share < 25 else TLP_GREEN if share < 65 else TLP_AMBER
    recipients: frozenset[str] = frozenset()
    if share >= 93:
        tlp = TLP_RED
        definition = marks.red_recipients[int(_unit(seed, object_id, "red") * 8)]
        recipients = frozenset(definition["extensions"][ALLYSHARE_EXTENSION]["recipients"])
    if kind not in ("indicator", "report") or _unit(seed, object_id, "granular") >= 0.1:
        return Plan(author, tlp, recipients)
    which = _unit(seed, object_id, "granular-which")
    selector = "pattern" if kind == "indicator" and which < 0.25 else "description"
    if which < 0.5:
        return Plan(author, tlp, recipients, selector)
    definition = marks.granular_red[int(which * 8) % 4]
    names = frozenset(definition["extensions"][ALLYSHARE_EXTENSION]["recipients"])
    return Plan(author, tlp, recipients, selector, names)


def _marking_refs(plan: Plan, marks: Markings) -> list[str]:
    if plan.tlp != TLP_RED:
        return [plan.tlp]
    definition = next(
        d
        for d in marks.red_recipients
        if frozenset(d["extensions"][ALLYSHARE_EXTENSION]["recipients"]) == plan.recipients
    )
    return [TLP_RED, definition["id"]]


def _granular_ref(plan: Plan, marks: Markings) -> str:
    if plan.granular_recipients is None:
        return str(marks.noforn["id"])
    return str(
        next(
            d["id"]
            for d in marks.granular_red
            if frozenset(d["extensions"][ALLYSHARE_EXTENSION]["recipients"])
            == plan.granular_recipients
        )
    )


class Sizer:
    """Gives objects the properties and sizes shared intelligence has."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: list[str] = []

    def prose(self, low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        return " ".join(self.rng.choice(_PROSE) for _ in range(count))

    def references(self, obj: dict[str, Any], count: int) -> list[dict[str, str]]:
        found = []
        for number in range(count):
            tag = hashlib.sha256(f"{obj['id']}:{number}".encode()).hexdigest()[:10]
            found.append(
                {
                    "source_name": self.rng.choice(("vendor-report", "cert-advisory", "blog")),
                    "url": f"https://reports.example.org/{obj['type']}/{tag}",
                    "external_id": f"ADV-2026-{tag[:6].upper()}",
                }
            )
        return found

    def reshape(self, obj: dict[str, Any]) -> None:
        kind = obj["type"]
        if kind == "indicator":
            obj["description"] = self.prose(1, 2)
            if self.rng.random() < 0.5:
                obj["kill_chain_phases"] = [
                    {"kill_chain_name": "mitre-attack", "phase_name": self.rng.choice(_KILL_CHAIN)}
                ]
            if self.rng.random() < 0.2:
                obj["external_references"] = self.references(obj, 1)
        elif kind == "report":
            obj["description"] = self.prose(4, 12)
            extra = self.rng.sample(self.seen, min(len(self.seen), self.rng.randint(4, 40)))
            obj["object_refs"] = sorted({*obj["object_refs"], *extra})
            obj["labels"] = self.rng.sample(_LABELS, self.rng.randint(1, 3))
            obj["external_references"] = self.references(obj, self.rng.randint(1, 3))
        elif kind in ("malware", "intrusion-set", "threat-actor", "campaign", "attack-pattern"):
            obj["description"] = self.prose(2, 8)
            obj["external_references"] = self.references(obj, self.rng.randint(1, 3))
        elif kind == "note":
            obj["content"] = self.prose(2, 6)
        elif kind == "relationship" and self.rng.random() < 0.3:
            obj["description"] = self.prose(1, 2)
        elif kind == "sighting":
            obj["where_sighted_refs"] = [
                identity_of(org) for org in self.rng.sample(ORGS, self.rng.randint(1, 3))
            ]
        self.seen.append(obj["id"])


@dataclass
class Content:
    marks: Markings
    identities: dict[str, dict[str, Any]]  # each member's identity object, by organization
    objects: list[dict[str, Any]]  # in stream order
    plans: dict[str, Plan]  # by object id

    def lines(self) -> list[bytes]:
        return [orjson.dumps(obj) for obj in self.objects]


def generate(size: int, seed: int) -> Content:
    marks = markings(seed)
    sizer = Sizer(seed)
    plans: dict[str, Plan] = {}
    reshaped: dict[str, dict[str, Any]] = {}  # the newest reshaped version of each object
    objects: list[dict[str, Any]] = []
    for generated in synthetic_objects(size, seed=seed):
        obj = dict(generated)
        plan = plans.get(obj["id"])
        if plan is None:
            plan = plans[obj["id"]] = plan_for(obj["id"], obj["type"], seed, marks)
            sizer.reshape(obj)
        else:
            # A new version keeps what the earlier one was given, with what the stream changed.
            earlier = reshaped[obj["id"]]
            obj = {**earlier, **{k: v for k, v in obj.items() if k in _VERSIONED}}
        if "created_by_ref" in obj:
            obj["created_by_ref"] = identity_of(plan.author)
        obj["object_marking_refs"] = _marking_refs(plan, marks)
        obj.pop("granular_markings", None)
        if plan.granular and plan.granular in obj:
            obj["granular_markings"] = [
                {"marking_ref": _granular_ref(plan, marks), "selectors": [plan.granular]}
            ]
        reshaped[obj["id"]] = obj
        objects.append(obj)
    identities = {
        member_id(name, country): {
            "type": "identity",
            "spec_version": "2.1",
            "id": identity_of(member_id(name, country)),
            "created_by_ref": identity_of(member_id(name, country)),
            "created": DEFINED,
            "modified": DEFINED,
            "name": name,
            "identity_class": "organization",
            "object_marking_refs": [TLP_GREEN],
        }
        for name, country, _, _ in MEMBERS
    }
    return Content(marks, identities, objects, plans)


_VERSIONED = frozenset({"modified", "description", "confidence", "revoked", "count", "last_seen"})


# --- what the reader may see --------------------------------------------------------------------


def expected_view(content: Content) -> dict[str, dict[str, Any] | None]:
    """For each object id, the newest version as the reader may see it (None: withheld), as
    the rules of DESIGN section 3 give it for this content."""
    korean = {org for org in ORGS if org.startswith("KOR.")}
    newest: dict[str, dict[str, Any]] = {}
    for obj in content.objects:
        held = newest.get(obj["id"])
        if held is None or _version(obj) >= _version(held):
            newest[obj["id"]] = obj
    view: dict[str, dict[str, Any] | None] = {}
    for object_id, obj in newest.items():
        plan = content.plans[object_id]
        own = plan.author == READER_ORG
        if plan.tlp == TLP_RED and not own and READER_ORG not in plan.recipients:
            view[object_id] = None
            continue
        fails_granular = (
            plan.granular
            and plan.granular in obj
            and not own
            and (
                plan.author not in korean
                if plan.granular_recipients is None
                else READER_ORG not in plan.granular_recipients
            )
        )
        if not fails_granular:
            view[object_id] = obj
        elif plan.granular == "pattern":
            view[object_id] = None
        else:
            shown = {k: v for k, v in obj.items() if k not in (plan.granular, "granular_markings")}
            shown["x_allyshare_redacted"] = [plan.granular]
            view[object_id] = shown
    return view


def _version(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or "")


# --- the node -------------------------------------------------------------------------------------


@dataclass
class BenchNode:
    server: Server
    data: Path
    admin: str
    writers: dict[str, str]  # contributor token by organization
    reader: str

    def client(self, token: str) -> Client:
        return Client(self.server.port, {"Authorization": f"Bearer {token}"})

    def objects_path(self, collection: str) -> str:
        return f"/taxii2/api/collections/{collection}/objects/"

    def add_collection(self, title: str) -> str:
        node = Node.open(load_settings(self.data))
        try:
            return node.add_collection(title, agreement=str(AGREEMENT["name"])).id
        finally:
            node.close()


def make_node(workdir: Path) -> BenchNode:
    data = workdir / "node"
    servers._allyshare_cli("init", "--data-dir", str(data), "--country", "USA", "--name", "bench")
    node = Node.open(load_settings(data))
    try:
        node.apply_agreement(AGREEMENT)
        writers: dict[str, str] = {}
        for name, country, kind, _ in MEMBERS:
            org = node.add_organization(name, country=country, kind=kind)
            writers[org] = node.add_user(
                f"writer@{name.lower()}", organization=org, roles=["contributor"]
            )
        reader = node.add_user("reader@hanbit", organization=READER_ORG, roles=["reader"])
        admin = node.add_user("bench-admin", is_admin=True)
    finally:
        node.close()
    port = servers.free_port()
    server = Server(
        name="allyshare",
        command=[
            *servers._ALLYSHARE,
            *("serve", "--plain-http", "--data-dir", str(data)),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        workdir=workdir,
        port=port,
        objects_path="",
        headers={"Authorization": f"Bearer {admin}"},
        durable=True,
    )
    return BenchNode(server, data, admin, writers, reader)


def post(client: Client, path: str, objects: list[bytes]) -> tuple[float, int]:
    """One POST; (seconds, failures). A refusal is the content's fault: it stops the run."""
    body = b'{"objects":[' + b",".join(objects) + b"]}"
    reply = client.expect("POST", path, body, 600)
    status = orjson.loads(reply.body)
    if status["failure_count"]:
        raise BenchError(f"{status['failure_count']} refused, e.g. {status['failures'][:2]}")
    return reply.seconds, int(status["failure_count"])


def setup_collection(node: BenchNode, content: Content, collection: str) -> None:
    """The marking definitions (by the node's admin) and each member's identity (by its
    contributor), untimed."""
    path = node.objects_path(collection)
    admin = node.client(node.admin)
    try:
        _, failures = post(admin, path, [orjson.dumps(d) for d in content.marks.all()])
    finally:
        admin.close()
    for org, identity in content.identities.items():
        writer = node.client(node.writers[org])
        try:
            _, failed = post(writer, path, [orjson.dumps(identity)])
            failures += failed
        finally:
            writer.close()
    if failures:
        raise BenchError(f"setting up collection {collection}: {failures} refused")


def batches(content: Content, lines: list[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    """Requests of up to ``BATCH`` objects, each of one author, in stream order per author;
    authors take turns."""
    by_author: dict[str, list[bytes]] = {}
    for obj, line in zip(content.objects, lines, strict=True):
        by_author.setdefault(content.plans[obj["id"]].author, []).append(line)
    queues = {
        org: [mine[i : i + BATCH] for i in range(0, len(mine), BATCH)]
        for org, mine in by_author.items()
    }
    while any(queues.values()):
        for org in ORGS:
            if queues.get(org):
                yield org, queues[org].pop(0)


def ingest(node: BenchNode, content: Content, lines: list[bytes], collection: str) -> float:
    """Objects per second over the POST exchanges."""
    path = node.objects_path(collection)
    clients = {org: node.client(token) for org, token in node.writers.items()}
    seconds = 0.0
    failures = posted = 0
    try:
        for org, chunk in batches(content, lines):
            spent, failed = post(clients[org], path, chunk)
            seconds += spent
            failures += failed
            posted += len(chunk)
    finally:
        for client in clients.values():
            client.close()
    if failures:
        raise BenchError(f"ingest: {failures} of {posted} objects refused")
    return posted / seconds


@dataclass
class Read:
    objects: int
    seconds: float
    pages: int

    @property
    def rate(self) -> float:
        return self.objects / self.seconds


def read_all(client: Client, path: str) -> tuple[Read, list[bytes]]:
    client.expect("GET", f"{path}?limit=1", None, 600)
    bodies: list[bytes] = []
    seconds = 0.0
    target = f"{path}?{urlencode({'limit': PAGE})}"
    while True:
        reply = client.expect("GET", target, None, 600)
        seconds += reply.seconds
        bodies.append(reply.body)
        page = orjson.loads(reply.body)
        if not page.get("more"):
            break
        target = f"{path}?{urlencode({'limit': PAGE, 'next': page['next']})}"
    objects = sum(len(orjson.loads(body).get("objects", [])) for body in bodies)
    return Read(objects, seconds, len(bodies)), bodies


def orjson_rate(lines: list[bytes]) -> float:
    """``loads`` then ``dumps`` of each object, per second."""
    started = time.perf_counter()
    for line in lines:
        orjson.dumps(orjson.loads(line))
    return len(lines) / (time.perf_counter() - started)


@dataclass
class Check:
    expected: int
    returned: int
    missing: int
    unexpected: int
    duplicates: int
    differing: int
    redacted: int

    @property
    def ok(self) -> bool:
        return self.expected == self.returned and not (
            self.missing or self.unexpected or self.duplicates or self.differing
        )


def check(bodies: list[bytes], content: Content) -> Check:
    wanted = {k: v for k, v in expected_view(content).items() if v is not None}
    # What the setup posted is visible to every member as well.
    for definition in content.marks.all():
        wanted[definition["id"]] = definition
    for identity in content.identities.values():
        wanted[identity["id"]] = identity
    seen: set[str] = set()
    duplicates = differing = redacted = 0
    for body in bodies:
        for obj in orjson.loads(body).get("objects", []):
            if obj["id"] in seen:
                duplicates += 1
            seen.add(obj["id"])
            redacted += "x_allyshare_redacted" in obj
            if obj["id"] in wanted and obj != wanted[obj["id"]]:
                differing += 1
    return Check(
        expected=len(wanted),
        returned=len(seen) + duplicates,
        missing=len(wanted.keys() - seen),
        unexpected=len(seen - wanted.keys()),
        duplicates=duplicates,
        differing=differing,
        redacted=redacted,
    )


# --- the run --------------------------------------------------------------------------------------


@dataclass
class Run:
    size: int
    versions: int
    mean_bytes: float
    marking_mix: dict[str, float]
    reads: list[Read] = field(default_factory=list)
    orjson: list[float] = field(default_factory=list)
    ingest: list[float] = field(default_factory=list)
    check: Check | None = None
    load: dict[str, float] = field(default_factory=dict)

    @property
    def read_rate(self) -> float:
        return statistics.median(r.rate for r in self.reads)

    @property
    def orjson_rate(self) -> float:
        return statistics.median(self.orjson)

    @property
    def ingest_rate(self) -> float:
        return statistics.median(self.ingest)


def measure(args: argparse.Namespace) -> Run:
    _say(f"generating {args.size:,} objects")
    content = generate(args.size, args.seed)
    lines = content.lines()
    mix: dict[str, int] = {}
    for plan in content.plans.values():
        mix[plan.tlp] = mix.get(plan.tlp, 0) + 1
    names = {TLP_CLEAR: "CLEAR", TLP_GREEN: "GREEN", TLP_AMBER: "AMBER", TLP_RED: "RED"}
    run = Run(
        size=len(content.plans),
        versions=len(lines),
        mean_bytes=sum(map(len, lines)) / len(lines),
        marking_mix={names[k]: 100 * v / len(content.plans) for k, v in mix.items()},
        load={"start": os.getloadavg()[0]},
    )
    node = make_node(servers.fresh_dir(WORK))
    try:
        node.server.start()
        collections = []
        for repeat in range(args.repeats):
            collection = node.add_collection(f"realistic {repeat}")
            setup_collection(node, content, collection)
            run.ingest.append(ingest(node, content, lines, collection))
            collections.append(collection)
            _say(f"ingest {repeat + 1}: {run.ingest[-1]:,.0f} objects/s")
        run.load["after ingest"] = os.getloadavg()[0]
        reader = node.client(node.reader)
        try:
            for repeat in range(args.repeats):
                read, bodies = read_all(reader, node.objects_path(collections[0]))
                run.reads.append(read)
                run.orjson.append(orjson_rate(lines))
                if repeat == 0:
                    run.check = check(bodies, content)
                _say(
                    f"read {repeat + 1}: {read.objects:,} in {read.seconds:.3f} s "
                    f"({read.rate:,.0f}/s); orjson {run.orjson[-1]:,.0f}/s"
                )
        finally:
            reader.close()
        run.load["after reads"] = os.getloadavg()[0]
    finally:
        node.server.stop()
    shutil.rmtree(WORK, ignore_errors=True)
    return run


def markdown(document: dict[str, Any]) -> str:
    m = document["machine"]
    entries = document["runs"]
    runs = [_run_from(entry["run"]) for entry in entries]
    last = runs[-1]
    mix = ", ".join(f"{name} {share:.0f} %" for name, share in last.marking_mix.items())
    lines = [
        START,
        "## Realistic data: a restricted member's read and ingest (issue 10)",
        "",
        "Written by `bench/realistic.py` (its docstring says what the content is); each "
        "column is one run of it, on the code named.",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, SQLite {m['sqlite']}",
        f"- Content: {last.size:,} objects ({last.versions:,} versions, "
        f"{last.mean_bytes:,.0f} bytes on average) by {len(MEMBERS)} member organizations; "
        f"objects by TLP: {mix}; 10 % of indicators and reports with a granular NOFORN or RED "
        "marking.",
        "- Each figure is the median of the run's repeats (all of them in brackets); orjson is "
        "measured in the same run, between the reads, on the posted objects. Timings on a "
        "shared 2-core machine vary by up to 2x between runs: compare figures within a run "
        "(read ÷ orjson) and runs made close together.",
    ]
    for entry, run in zip(entries, runs, strict=True):
        load = ", ".join(f"{when} {value:.2f}" for when, value in run.load.items())
        lines.append(
            f"- {entry['name']}: {entry['date']}, `{entry['command']}`; load average (1 min) {load}"
        )
    lines += [
        "",
        "| measure | " + " | ".join(entry["name"] for entry in entries) + " | target |",
        "| --- | " + " | ".join("---:" for _ in entries) + " | --- |",
    ]

    def row(name: str, cells: list[str], target: str = "") -> None:
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {target} |")

    row(
        f"full read by a `{READER_ORG}` reader, limit {PAGE:,} (objects/s)",
        [f"{r.read_rate:,.0f} ({_list(x.rate for x in r.reads)})" for r in runs],
    )
    row(
        "orjson loads+dumps of the same objects (objects/s)",
        [f"{r.orjson_rate:,.0f} ({_list(r.orjson)})" for r in runs],
    )
    row(
        "read ÷ orjson",
        [_judged(r.read_rate / r.orjson_rate, READ_TARGET, "{:.2f}") for r in runs],
        f"≥ {READ_TARGET}",
    )
    row(
        f"TAXII POST ingest, up to {BATCH:,} per request (objects/s)",
        [_judged(r.ingest_rate, INGEST_TARGET, "{:,.0f}") + f" ({_list(r.ingest)})" for r in runs],
        f"≥ {INGEST_TARGET:,}",
    )
    lines.append("")
    for entry, run in zip(entries, runs, strict=True):
        c = run.check
        if c is not None:
            lines.append(
                f"Read check, {entry['name']}: {c.returned:,} objects returned of "
                f"{c.expected:,} expected ({c.redacted:,} redacted); missing {c.missing}, "
                f"unexpected {c.unexpected}, duplicate {c.duplicates}, differing from the "
                f"expected copy {c.differing}: {'ok' if c.ok else '**FAILED**'}."
            )
    lines.append(END)
    return "\n".join(lines) + "\n"


def _judged(value: float, target: float, form: str) -> str:
    text = form.format(value)
    return text if value >= target else f"**{text}**"


def _list(values: Any) -> str:
    return ", ".join(f"{value:,.0f}" for value in values)


def _run_from(raw: dict[str, Any]) -> Run:
    run = Run(raw["size"], raw["versions"], raw["mean_bytes"], raw["marking_mix"])
    run.reads = [Read(**r) for r in raw["reads"]]
    run.orjson = raw["orjson"]
    run.ingest = raw["ingest"]
    run.check = Check(**raw["check"]) if raw.get("check") else None
    run.load = raw["load"]
    return run


def write(document: dict[str, Any]) -> str:
    options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    RESULTS_JSON.write_bytes(orjson.dumps(document, option=options) + b"\n")
    text = markdown(document)
    report.insert_section(RESULTS_MD, "realistic.py", text)
    return text


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.report_only:
        print(write(orjson.loads(RESULTS_JSON.read_bytes())))
        return 0
    machine = report.machine()
    run = measure(args)
    entry = {
        "name": args.name or f"allyshare at {machine['allyshare commit']}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "bench/realistic.py", *sys.argv[1:]]),
        "run": asdict(run),
    }
    earlier = orjson.loads(RESULTS_JSON.read_bytes())["runs"] if args.keep else []
    document: dict[str, Any] = {
        "machine": machine,
        "runs": [*(e for e in earlier if e["name"] != entry["name"]), entry],
    }
    print(write(document))
    return 0 if run.check is not None and run.check.ok else 1


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20_000, help="objects (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="content seed (default: 0)")
    parser.add_argument("--repeats", type=int, default=5, help="reads and ingests (default: 5)")
    parser.add_argument(
        "--name", help="what the run measured, as its column is headed (default: the commit)"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the runs already in bench/results-realistic.json beside this one",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="re-insert the section into RESULTS.md from bench/results-realistic.json",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
