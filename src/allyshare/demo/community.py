"""The demo community of a first US-ROK arrangement, and the function that builds it on a node.

``allyshare demo`` shows a newcomer one node through several members' eyes: twelve member
organizations (a national CERT, government agencies and companies on each side; see
`allyshare.demo.marked`), fourteen users with different organizations, nationalities,
clearances and roles, the ``us-rok-tech`` agreement with one collection per subject category,
and a ``usa-national`` agreement with one US-only collection for what may not leave US
members (AMBER+STRICT, RED, NOFORN at S). The economic-coercion and supply-chain collections
also hold the incidents and exposures the cross-member views draw on
(`allyshare.demo.economic`), and the coercion pattern alert they make, written at set-up.

`build_demo_community` goes through `Node` methods only, so the demo passes the same write
checks as any member: every object is written by a contributor of the organization that
originates it (the node records that organization as originator and the policy trusts only
that), marking definitions are written before the objects that use them, and every write
must be accepted whole.

The cyber-threat collection holds the curated data set of `allyshare.demo.content`, adapted
to the community in three ways, each forced by a rule the node enforces:

- Its CERTs and member companies are this community's members, so their identities become
  the members' own (`allyshare.community.identity_of`): nobody may write in another's name.
- What a company outside the community reported reaches the community through that
  company's national CERT, which writes it under its own identity; the sighting's
  ``where_sighted_refs`` still name the company.
- TLP:AMBER+STRICT and TLP:RED are above the ``us-rok-tech`` ceiling (AMBER), so the write
  check would refuse them. Their originators share that content as TLP:AMBER with the two
  national CERTs as the only other readers: match-only for the member companies' own
  incident data (as the agreement's ``propin_match_only`` offers), ORCON for the rest. That
  keeps it to fewer readers than AMBER alone would, as the stricter marking asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from allyshare.demo.content import (
    TLP_AMBER,
    TLP_AMBER_STRICT,
    TLP_RED,
    demo_objects,
    tlp_marking_definitions,
)
from allyshare.demo.economic import (
    ALERT_WRITER,
    coercion_incidents,
    partner_coercion_incidents,
    partner_exposures,
    supply_chain_exposures,
)
from allyshare.demo.marked import (
    CASCADE,
    CISA,
    COMMERCE,
    HANBIT,
    HANGANG,
    KISA,
    KOTRA,
    KTO,
    MARKINGS,
    MATCH_ONLY_CERTS,
    MEMBERS,
    MOTIE,
    ORCON_CERTS,
    PACIFIC_CREST,
    PRAIRIE_LINK,
    USTR,
    Member,
    StixObject,
    Written,
    economic_coercion,
    fab_intrusion,
    sensitive_technology,
    showcase_report,
    supply_chain,
    usa_national,
)
from allyshare.errors import InvalidInput
from allyshare.service import Node
from allyshare.storage import User

__all__ = [
    "AGREEMENTS",
    "COLLECTIONS",
    "FAB_WRITER",
    "PARTNER_COUNTRY",
    "PARTNER_USERS",
    "SHARED_COLLECTIONS",
    "USA_NATIONAL",
    "USERS",
    "US_ROK_TECH",
    "DemoCollection",
    "DemoCommunity",
    "DemoUser",
    "build_demo_community",
    "build_partner_community",
    "collection_writes",
    "cyber_threats",
]

# --- agreements -----------------------------------------------------------------------------------

US_ROK_TECH: Final[Mapping[str, Any]] = {
    "name": "us-rok-tech",
    "version": 1,
    "parties": {"countries": ["USA", "KOR"], "organizations": []},
    "categories": ["cyber-threat", "sensitive-technology", "supply-chain", "economic-coercion"],
    "max_classification": "S",
    "tlp_ceiling": "AMBER",
    "propin_match_only": True,
    "aggregate_k": 3,
    "retention_days": 730,
}
USA_NATIONAL: Final[Mapping[str, Any]] = {
    "name": "usa-national",
    "version": 1,
    "parties": {"countries": ["USA"], "organizations": []},
    "categories": ["cyber-threat"],
    "max_classification": "TS",
    "tlp_ceiling": "RED",
    "propin_match_only": False,
    "aggregate_k": 3,
}
AGREEMENTS: Final[tuple[Mapping[str, Any], ...]] = (US_ROK_TECH, USA_NATIONAL)


# --- users ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    """A demo user; ``about`` says what a newcomer learns by logging in as it."""

    name: str
    member: Member
    clearance: str
    roles: tuple[str, ...]
    about: str


_READ_WRITE = ("reader", "contributor")
USERS: Final[tuple[DemoUser, ...]] = (
    DemoUser(
        "analyst",
        COMMERCE,
        "S",
        _READ_WRITE,
        "the demo's first user, now a Commerce analyst: all five collections, not ORCON data",
    ),
    DemoUser(
        "morgan@cisa", CISA, "S", _READ_WRITE, "US CERT analyst: sees the showcase report whole"
    ),
    DemoUser(
        "jiwoo@kisa",
        KISA,
        "S",
        _READ_WRITE,
        "Korean CERT analyst: the showcase without its NOFORN description; no US-only data",
    ),
    DemoUser(
        "seoyeon@hanbit",
        HANBIT,
        "U",
        _READ_WRITE,
        "chip maker's analyst, uncleared: the showcase without its classified parts",
    ),
    DemoUser(
        "riley@commerce",
        COMMERCE,
        "U",
        ("reader",),
        "uncleared US official: no classified data, and the ORCON showcase not at all",
    ),
    DemoUser(
        "minho@motie", MOTIE, "C", _READ_WRITE, "Korean trade official: up to C, no US-only data"
    ),
    DemoUser(
        "dana@pacificcrest",
        PACIFIC_CREST,
        "U",
        _READ_WRITE,
        "carrier's analyst, uncleared: what is unclassified and not reserved to others",
    ),
    DemoUser("casey@cisa", CISA, "S", ("curator",), "US CERT curator: may also delete"),
    DemoUser(
        "jordan@ustr", USTR, "U", _READ_WRITE, "US trade official: coercion incidents on record"
    ),
    DemoUser(
        "yuna@kotra", KOTRA, "U", _READ_WRITE, "Korean trade agency: coercion against exporters"
    ),
    DemoUser("sora@kto", KTO, "U", _READ_WRITE, "Korean tourism agency: tourism and culture bans"),
    DemoUser(
        "alex@cascade", CASCADE, "U", _READ_WRITE, "US chip maker's analyst: its supply chain"
    ),
    DemoUser("hyun@hangang", HANGANG, "U", _READ_WRITE, "Korean carrier's analyst: its 5G vendors"),
    DemoUser(
        "sam@prairielink",
        PRAIRIE_LINK,
        "U",
        _READ_WRITE,
        "US rural carrier's analyst: its 5G vendors",
    ),
)


# --- collections ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoCollection:
    """A demo collection: its agreement and the objects its members write into it."""

    key: str
    title: str
    description: str
    agreement: Mapping[str, Any]
    objects: Callable[[], list[Written]]
    category: str

    @property
    def members(self) -> tuple[Member, ...]:
        """The members party to the collection's agreement (by country)."""
        countries = self.agreement["parties"]["countries"]
        return tuple(member for member in MEMBERS if member.country in countries)


# Content identities that are this community's members (replaced by the members' own).
_CONTENT_MEMBERS: Final[Mapping[str, Member]] = {
    "US National Cyber Response Center": CISA,
    "Korea National Cyber Incident Response Center": KISA,
    "Hanbit Semiconductor Co., Ltd.": HANBIT,
    "Pacific Crest Communications": PACIFIC_CREST,
}
# Content identities outside the community, and the CERT that relays what they reported.
_RELAYED_BY: Final[Mapping[str, Member]] = {
    "Haneul Mobile Networks": KISA,
    "Sejong Energy Materials": KISA,
    "Daehan Nuclear Engineering": KISA,
    "Mirae University Hospital": KISA,
    "Arirang Digital Asset Exchange": KISA,
    "Crescent Aerospace Systems": CISA,
    "US-ROK sharing community member (pseudonymous)": CISA,
}
_ABOVE_CEILING: Final = frozenset({TLP_AMBER_STRICT, TLP_RED})
_COMPANIES: Final = frozenset({HANBIT.id, PACIFIC_CREST.id})
_TLP_DEFINITIONS: Final[Mapping[str, StixObject]] = {
    definition["id"]: definition for definition in tlp_marking_definitions()
}


def _renamed(value: Any, ids: Mapping[str, str]) -> Any:
    """A deep copy of ``value`` with every string equal to a key of ``ids`` replaced."""
    if isinstance(value, dict):
        return {key: _renamed(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item, ids) for item in value]
    if isinstance(value, str):
        return ids.get(value, value)
    return value


def _references(value: Any, name: str = "") -> Iterator[str]:
    """The ids held in ``*_ref``/``*_refs`` properties at any depth, markings excluded."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in ("object_marking_refs", "marking_ref"):
                yield from _references(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item, name)
    elif isinstance(value, str) and name.endswith(("_ref", "_refs")):
        yield value


def _within_ceiling(obj: StixObject, writer: str) -> StixObject:
    """The object (a fresh copy, changed in place) with AMBER+STRICT and RED restated as
    AMBER for the national CERTs only."""
    refs = obj.get("object_marking_refs", [])
    if _ABOVE_CEILING & set(refs):
        restriction = MATCH_ONLY_CERTS if writer in _COMPANIES else ORCON_CERTS
        lowered = [TLP_AMBER if ref in _ABOVE_CEILING else ref for ref in refs]
        obj["object_marking_refs"] = list(dict.fromkeys([*lowered, restriction]))
    for entry in obj.get("granular_markings", []):
        if entry.get("marking_ref") in _ABOVE_CEILING:
            entry["marking_ref"] = ORCON_CERTS
    return obj


def cyber_threats() -> list[Written]:
    """The curated data set, adapted as the module docstring says, plus the showcase report."""
    content = demo_objects()
    names = {obj["id"]: obj["name"] for obj in content if obj["type"] == "identity"}
    unplaced = sorted(set(names.values()) - set(_CONTENT_MEMBERS) - set(_RELAYED_BY))
    if unplaced:
        raise InvalidInput(f"demo content identities with no place in the community: {unplaced}")
    replaced = {
        ident: _CONTENT_MEMBERS[name].identity
        for ident, name in names.items()
        if name in _CONTENT_MEMBERS
    }
    authors = {member.identity: member for member in MEMBERS} | {
        ident: _RELAYED_BY[name] for ident, name in names.items() if name in _RELAYED_BY
    }
    objects = [_renamed(obj, replaced) for obj in content if obj["id"] not in replaced]
    writers: dict[str, str] = {}
    for obj in objects:
        author = obj.get("created_by_ref")
        if author is not None:
            obj["created_by_ref"] = authors[author].identity
            writers[obj["id"]] = authors[author].id
    # What names no author (observables, victims' identities) is written by the writer of
    # the first object that refers to it; the marking definitions by the node's own CERT.
    for obj in objects:
        writer = writers.get(obj["id"])
        if writer is not None:
            for ref in _references(obj):
                writers.setdefault(ref, writer)
    written = []
    for obj in objects:
        writer = writers.get(obj["id"], CISA.id)
        written.append(Written(writer, _within_ceiling(obj, writer)))
    by_name = {(obj["type"], obj.get("name")): obj["id"] for obj in objects}
    campaign = by_name["campaign", "Wafer-fab supplier-portal spearphishing, 2026"]
    intrusion_set = by_name["intrusion-set", "Andariel"]
    return [*written, showcase_report([campaign, intrusion_set])]


COLLECTIONS: Final[tuple[DemoCollection, ...]] = (
    DemoCollection(
        "cyber-threat",
        "Cyber threats",
        "North Korean and Chinese intrusion sets, indicators, sightings and joint advisories "
        "of the US and Korean CERTs and member companies.",
        US_ROK_TECH,
        cyber_threats,
        "cyber-threat",
    ),
    DemoCollection(
        "sensitive-technology",
        "Sensitive technology",
        "Export-control and technology-protection reporting: semiconductors, lithography "
        "and memory know-how.",
        US_ROK_TECH,
        sensitive_technology,
        "sensitive-technology",
    ),
    DemoCollection(
        "supply-chain",
        "Supply chain",
        "Vendor concentration in 5G networks, single sources in chip making and tampered updates.",
        US_ROK_TECH,
        lambda: [*supply_chain(), *supply_chain_exposures()],
        "supply-chain",
    ),
    DemoCollection(
        "economic-coercion",
        "Economic coercion",
        "Inspections, duties and licence delays against members' companies, compared "
        "across members.",
        US_ROK_TECH,
        lambda: [*economic_coercion(), *coercion_incidents()],
        "economic-coercion",
    ),
    DemoCollection(
        "usa-national",
        "US national (US only)",
        "What stays among US members: attribution work and pre-decisional notes.",
        USA_NATIONAL,
        usa_national,
        "cyber-threat",
    ),
)


def _marking_refs(obj: StixObject) -> Iterator[str]:
    yield from obj.get("object_marking_refs", [])
    for entry in obj.get("granular_markings", []):
        if "marking_ref" in entry:
            yield entry["marking_ref"]


def collection_writes(collection: DemoCollection) -> tuple[list[Written], list[Written]]:
    """What is written to a collection, in two steps: the prelude, then the objects.

    The prelude holds the definitions of the markings the objects use (each written by the
    member that defines it, the TLP 2.0 ones by CISA, unless the objects carry them) and
    the identity of every member party to the collection's agreement, so every
    ``created_by_ref`` and marking ref in the collection resolves within it.
    """
    objects = collection.objects()
    identities = [member.identity_object() for member in collection.members]
    present = {written.obj["id"] for written in objects}
    used = dict.fromkeys(
        ref for written in (*identities, *objects) for ref in _marking_refs(written.obj)
    )
    definitions = [
        MARKINGS[ref] if ref in MARKINGS else Written(CISA.id, _TLP_DEFINITIONS[ref])
        for ref in used
        if ref not in present
    ]
    return [*definitions, *identities], objects


# --- building it ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoCommunity:
    """What a newcomer needs after the build: where things are and how to log in.

    ``collections`` maps each `DemoCollection.key` (the four subject categories and
    ``usa-national``) to the collection id; ``tokens`` maps each demo user's name to its
    token, shown once (`Node.rotate_token` issues fresh ones on a rerun).
    """

    organizations: tuple[str, ...]
    collections: Mapping[str, str]
    tokens: Mapping[str, str]


def _write(
    node: Node, writers: Mapping[str, User], collection_id: str, batch: Sequence[Written]
) -> None:
    """One request per writing organization; the demo is broken if anything is refused."""
    by_writer: dict[str, list[StixObject]] = {}
    for writer, obj in batch:
        by_writer.setdefault(writer, []).append(obj)
    for writer, objects in by_writer.items():
        status = node.add_objects(writers[writer], collection_id, objects)
        if status.failure_count:
            refused = "; ".join(f"{item['id']}: {item['message']}" for item in status.failures)
            raise InvalidInput(f"the node refused demo objects written by {writer}: {refused}")


def _add_members(node: Node) -> tuple[str, ...]:
    return tuple(
        node.add_organization(
            member.name, country=member.country, kind=member.kind, sectors=member.sectors
        )
        for member in MEMBERS
    )


def _add_users(node: Node, users: tuple[DemoUser, ...]) -> dict[str, str]:
    """Each user's token (shown once)."""
    return {
        user.name: node.add_user(
            user.name,
            organization=user.member.id,
            nationality=user.member.country,
            clearance=user.clearance,
            roles=user.roles,
        )
        for user in users
    }


def build_demo_community(node: Node) -> DemoCommunity:
    """Create the members, agreements, users and collections, and write every object."""
    organizations = _add_members(node)
    for document in AGREEMENTS:
        node.apply_agreement(document)
    tokens = _add_users(node, USERS)
    writers: dict[str, User] = {}
    for user in USERS:
        if "contributor" in user.roles and user.member.id not in writers:
            writers[user.member.id] = node.authenticate_token(tokens[user.name])
    collections: dict[str, str] = {}
    for collection in COLLECTIONS:
        created = node.add_collection(
            collection.title,
            collection.description,
            agreement=collection.agreement["name"],
            category=collection.category,
        )
        for batch in collection_writes(collection):
            _write(node, writers, created.id, batch)
        collections[collection.key] = created.id
    _alert(node, collections["economic-coercion"], tokens[ALERT_WRITER])
    return DemoCommunity(organizations, collections, tokens)


def _alert(node: Node, collection_id: str, token: str) -> None:
    """The coercion pattern alerts, written once at set-up so the views' pages have them."""
    alerted = node.write_coercion_alerts(collection_id, actor=node.authenticate_token(token))
    if alerted.failed:
        refused = [(o.note["id"], o.message) for o in alerted.failed]
        raise InvalidInput(f"the node refused the demo's pattern alerts: {refused}")


# --- the partner node ----------------------------------------------------------------------------

PARTNER_COUNTRY: Final = "KOR"
# The collections a partner node mirrors: those of the agreement both countries are party to.
SHARED_COLLECTIONS: Final[tuple[DemoCollection, ...]] = tuple(
    collection
    for collection in COLLECTIONS
    if PARTNER_COUNTRY in collection.agreement["parties"]["countries"]
)
PARTNER_USERS: Final[tuple[DemoUser, ...]] = tuple(
    user for user in USERS if user.member.country == PARTNER_COUNTRY
)
FAB_WRITER: Final = "seoyeon@hanbit"


def build_partner_community(node: Node) -> DemoCommunity:
    """The KOR node of the demo: the same members and shared agreement, its own country's
    users, and collections that fill from the USA node as they sync. Its cyber-threat
    collection also holds what Hanbit writes here alone: the match-only indicators of the
    intrusion at its fab (`allyshare.demo.marked.fab_intrusion`), which never leave it."""
    organizations = _add_members(node)
    node.apply_agreement(US_ROK_TECH)
    tokens = _add_users(node, PARTNER_USERS)
    collections = {
        collection.key: node.add_collection(
            collection.title,
            collection.description,
            agreement=US_ROK_TECH["name"],
            category=collection.category,
        ).id
        for collection in SHARED_COLLECTIONS
    }
    writers = {
        user.member.id: node.authenticate_token(tokens[user.name])
        for user in PARTNER_USERS
        if "contributor" in user.roles
    }
    writers[HANBIT.id] = node.authenticate_token(tokens[FAB_WRITER])
    for batch in fab_intrusion():
        _write(node, writers, collections["cyber-threat"], batch)
    for key, objects in (
        ("economic-coercion", partner_coercion_incidents()),
        ("supply-chain", partner_exposures()),
    ):
        writing = {written.writer for written in objects}
        identities = [m.identity_object() for m in MEMBERS if m.id in writing]
        for batch in (identities, objects):
            _write(node, writers, collections[key], batch)
    return DemoCommunity(organizations, collections, tokens)
