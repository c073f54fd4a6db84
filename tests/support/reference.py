"""An independent reference of the access decision (DESIGN section 3), and its generators.

Written from DESIGN section 3 (and the choices documented in allyshare.policy.decision) in the
plainest style, sharing nothing with the implementation but the input dataclasses. It never
reads the marking JSON: it reads `Spec`, what the generator meant, while the implementation
parses the marking definitions built from it. Redaction is done differently too: flatten the
object to its leaves, drop the removed ones, rebuild.

`reference_write_problems` says, the same way, which writes a node must refuse (the write
rules of DESIGN section 3 as the issue states them: ceilings of the agreement, TLP:RED without
named recipients, definitions that do not parse, writing in another member's name).

Shared by the decision's own property test (tests/policy/test_policy_property.py) and the
every-path test of the node (tests/test_enforcement_property.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from allyshare.errors import InvalidObject
from allyshare.policy import Agreement, Organization, Subject
from allyshare.stix.validation import check_object

COUNTRIES = ["USA", "KOR", "GBR", "JPN"]
ORGANIZATIONS = [
    Organization("USA.CISA", "CISA", "USA", "cert"),
    Organization("USA.DHS", "DHS", "USA", "government"),
    Organization("USA.ACME", "Acme", "USA", "company", frozenset({"semiconductors"})),
    Organization("KOR.KISA", "KISA", "KOR", "cert"),
    Organization("KOR.NIS", "NIS", "KOR", "government"),
    Organization("KOR.HANBIT", "Hanbit Battery", "KOR", "company", frozenset({"batteries"})),
    Organization("GBR.NCSC", "NCSC", "GBR", "cert"),
    Organization("JPN.JPCERT", "JPCERT/CC", "JPN", "cert"),
]
ORG_IDS = [org.id for org in ORGANIZATIONS]

# The TLP marking definitions, written out again here from the STIX 2.1 spec and TLP 2.0.
TLP_BY_ID = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": 0,  # CLEAR
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": 0,  # WHITE
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": 1,  # GREEN
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": 1,  # GREEN 1.0
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": 2,  # AMBER
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": 2,  # AMBER 1.0
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": 3,  # AMBER+STRICT
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": 4,  # RED
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": 4,  # RED 1.0
}
LEVELS = {"U": 0, "C": 1, "S": 2, "TS": 3}
ACS = "extension-definition--3a65884d-005a-4290-8335-cb2d778a83ce"
TLP2 = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
ALLYSHARE = "extension-definition--894568f2-b9da-4cbf-a449-c356685e423c"
REDACTED = "x_allyshare_redacted"
REQUIRED = {
    "type",
    "spec_version",
    "id",
    "created",
    "modified",
    "pattern",
    "pattern_type",
    "valid_from",
}


@dataclass
class Spec:
    """What one generated marking means."""

    ref: str
    kind: str  # acs, allyshare, red-to, statement, broken, missing
    classification: str = "U"
    rel_to: list[str] | None = None
    noforn: bool = False
    caveat: str | None = None
    orgs: list[str] | None = None
    denies: list[tuple[str, list[str] | None, list[str] | None]] = field(default_factory=list)
    share_denies: list[str] = field(default_factory=list)
    recipients: list[str] | None = None
    orcon: bool = False
    match_only: bool = False


# --- the reference ------------------------------------------------------------------------------


def reference_may_see(
    subject: Subject,
    refs: list[str],
    specs: dict[str, Spec],
    originator: Organization,
    agreement: Agreement,
    action: str,
    approvals: frozenset[str],
) -> bool:
    if subject.kind == "system":
        return True
    org = subject.organization.id if subject.organization else None
    nat = subject.nationality
    own = org == originator.id

    classification = 0
    tlp = 0
    unknown = False
    rel_to_lists = []
    org_lists = []
    recipient_lists = []
    noforn = proprietary = orcon = match_only = False
    denies = []
    share_denies: set[str] = set()
    for ref in refs:
        if ref in TLP_BY_ID:
            tlp = max(tlp, TLP_BY_ID[ref])
            continue
        spec = specs.get(ref)
        if spec is None or spec.kind in ("broken", "missing"):
            unknown = True
        elif spec.kind == "red-to":
            tlp = 4
            recipient_lists.append(set(spec.recipients or []))
        elif spec.kind == "allyshare":
            if spec.recipients is not None:
                recipient_lists.append(set(spec.recipients))
            orcon = orcon or spec.orcon
            match_only = match_only or spec.match_only
        elif spec.kind == "acs":
            classification = max(classification, LEVELS[spec.classification])
            if spec.rel_to is not None and "ALL" not in spec.rel_to:
                rel_to_lists.append(set(spec.rel_to))
            if spec.orgs is not None and "ALL" not in spec.orgs:
                org_lists.append(set(spec.orgs))
            noforn = noforn or spec.noforn
            proprietary = proprietary or spec.caveat in ("CISAPROPRIETARY", "PROPIN")
            denies.extend(spec.denies)
            share_denies.update(spec.share_denies)

    if unknown and not own and not subject.is_admin:
        return False
    if subject.clearance < classification:
        return False
    for privilege, nats, orgs in denies:
        if privilege not in ("DSPLY", "ALL"):
            continue
        nat_hit = nats is None or "ALL" in nats or nat in nats
        org_hit = orgs is None or "ALL" in orgs or org in orgs
        if nat_hit and org_hit:
            return False
    if own:
        return True
    for allowed in rel_to_lists:
        if nat not in allowed:
            return False
    if noforn and nat != originator.country:
        return False
    for allowed in org_lists:
        if org not in allowed:
            return False
    recipients = set.intersection(*recipient_lists) if recipient_lists else set()
    party = False
    if subject.kind == "node" and nat in agreement.party_countries:
        party = True
    if subject.organization is not None and (
        org in agreement.party_organizations
        or subject.organization.country in agreement.party_countries
    ):
        party = True
    if tlp == 4 or (tlp == 3 and action == "share"):
        if org not in recipients:
            return False
    elif tlp >= 1 and not party:
        return False
    if proprietary:
        named = set.intersection(*org_lists) if org_lists else set()
        if org not in named | recipients:
            return False
    if orcon and org not in recipients | approvals:
        return False
    if match_only and org not in recipients:
        return False
    if action == "share":
        if share_denies & {nat, org, "ALL"}:
            return False
        if classification > agreement.max_classification:
            return False
        if tlp > agreement.tlp_ceiling:
            return False
    return True


def to_path(selector: str) -> tuple[Any, ...]:
    return tuple(int(part[1:-1]) if part.startswith("[") else part for part in selector.split("."))


def to_selector(path: tuple[Any, ...]) -> str:
    return ".".join(f"[{step}]" if isinstance(step, int) else step for step in path)


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found += leaves(item, (*path, key))
        return found
    if isinstance(value, list):
        found = []
        for index, item in enumerate(value):
            found += leaves(item, (*path, index))
        return found
    return [(path, value)]


def build(items: list[tuple[tuple[Any, ...], Any]]) -> Any:
    if len(items) == 1 and items[0][0] == ():
        return items[0][1]
    firsts: list[Any] = []
    for path, _ in items:
        if path[0] not in firsts:
            firsts.append(path[0])
    if isinstance(firsts[0], int):
        return [build([(p[1:], v) for p, v in items if p[0] == f]) for f in sorted(firsts)]
    return {f: build([(p[1:], v) for p, v in items if p[0] == f]) for f in firsts}


def moved(
    path: tuple[Any, ...], survivors: list[tuple[tuple[Any, ...], Any]]
) -> tuple[Any, ...] | None:
    if not any(p[: len(path)] == path for p, _ in survivors):
        return None
    new: list[Any] = []
    for i, step in enumerate(path):
        if isinstance(step, int):
            present = sorted({p[i] for p, _ in survivors if len(p) > i and p[:i] == path[:i]})
            new.append(present.index(step))
        else:
            new.append(step)
    return tuple(new)


def reference_redact(obj: dict[str, Any], failing: list[str]) -> dict[str, Any]:
    body = {key: value for key, value in obj.items() if key != "granular_markings"}
    removed = [to_path(selector) for selector in failing]
    survivors = [
        (path, value)
        for path, value in leaves(body)
        if not any(path[: len(gone)] == gone for gone in removed)
    ]
    copy: dict[str, Any] = build(survivors) if survivors else {}
    entries = []
    for entry in obj.get("granular_markings", []):
        selectors = []
        for selector in entry["selectors"]:
            new_path = moved(to_path(selector), survivors)
            if new_path is not None:
                selectors.append(to_selector(new_path))
        if selectors:
            entries.append({**entry, "selectors": selectors})
    if entries:
        copy["granular_markings"] = entries
    copy[REDACTED] = sorted(set(failing))
    return copy


def reference_visible(
    subject: Subject,
    obj: dict[str, Any],
    specs: dict[str, Spec],
    originator: Organization,
    agreement: Agreement,
    action: str,
    approvals: frozenset[str],
) -> dict[str, Any] | None:
    context = (specs, originator, agreement, action, approvals)
    if not reference_may_see(subject, obj.get("object_marking_refs", []), *context):
        return None
    if subject.kind == "system":
        return obj
    failing = []
    for entry in obj.get("granular_markings", []):
        if "marking_ref" in entry and not reference_may_see(
            subject, [entry["marking_ref"]], *context
        ):
            failing += entry["selectors"]
    if not failing:
        return obj
    if any(
        to_path(selector)[0] in ("object_marking_refs", "granular_markings") for selector in failing
    ):
        return None
    copy = reference_redact(obj, failing)
    try:
        check_object(copy)
    except InvalidObject:
        return None
    return copy


# --- generators ---------------------------------------------------------------------------------


def marking_id(number: int) -> str:
    return f"marking-definition--{number:08x}-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Near:
    """The names that would let this subject through: markings often name them, so that
    every rule gets scenarios where it alone decides."""

    country: str
    organization: str | None

    def names(self, draw: st.DrawFn, pool: list[str], favourite: str | None) -> list[str]:
        names = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        if favourite is not None and favourite not in names and draw(st.booleans()):
            names.append(favourite)
        return names

    def scope(self, draw: st.DrawFn, pool: list[str], favourite: str | None) -> list[str] | None:
        """Mostly unrestricted; otherwise some names, sometimes the literal ALL."""
        choice = draw(st.integers(0, 4))
        if choice < 3:
            return None
        names = self.names(draw, pool, favourite)
        return [*names, "ALL"] if choice == 4 and draw(st.booleans()) else names


@st.composite
def specs(draw: st.DrawFn, number: int, near: Near) -> Spec:
    ref = marking_id(number)
    kinds = ["acs"] * 4 + ["allyshare"] * 3 + ["red-to", "statement", "broken", "missing"]
    kind = draw(st.sampled_from(kinds))
    if kind == "acs":
        denies = []
        if draw(st.integers(0, 2)) == 0:
            denies.append(
                (
                    draw(st.sampled_from(["DSPLY", "ALL", "INTEL", "IDSRC"])),
                    near.scope(draw, COUNTRIES, near.country),
                    near.scope(draw, ORG_IDS, near.organization),
                )
            )
        share_denies = []
        if draw(st.integers(0, 2)) == 0:
            share_denies = near.names(draw, [*ORG_IDS, "ALL", "FOREIGNGOV"], near.country)
        return Spec(
            ref,
            kind,
            classification=draw(st.sampled_from(["U", "U", "C", "S", "TS"])),
            rel_to=near.scope(draw, COUNTRIES, near.country),
            noforn=draw(st.integers(0, 2)) == 0,
            caveat=draw(st.sampled_from([None, None, "CISAPROPRIETARY", "PROPIN", "FISA"])),
            orgs=near.scope(draw, ORG_IDS, near.organization),
            denies=denies,
            share_denies=share_denies,
        )
    if kind == "allyshare":
        recipients = None
        if draw(st.integers(0, 2)) > 0:
            recipients = near.names(draw, ORG_IDS, near.organization)
        return Spec(
            ref,
            kind,
            recipients=recipients,
            orcon=draw(st.booleans()),
            match_only=draw(st.integers(0, 2)) == 0,
        )
    if kind == "red-to":
        return Spec(ref, kind, recipients=near.names(draw, ORG_IDS, near.organization))
    return Spec(ref, kind)


def definition(spec: Spec) -> dict[str, Any] | None:
    """The marking definition the implementation gets for a spec (None: it gets none)."""
    base = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": spec.ref,
        "created": "2024-01-01T00:00:00.000Z",
    }
    if spec.kind == "missing":
        return None
    if spec.kind == "statement":
        return {
            **base,
            "definition_type": "statement",
            "definition": {"statement": f"terms {spec.ref}"},
        }
    if spec.kind == "broken":
        return {
            **base,
            "extensions": {
                ACS: {
                    "extension_type": "property-extension",
                    "control_set": {"classification": "SECRET"},
                }
            },
        }
    if spec.kind == "red-to":
        return {
            **base,
            "extensions": {
                TLP2: {"extension_type": "property-extension", "tlp_2_0": "red"},
                ALLYSHARE: {"extension_type": "property-extension", "recipients": spec.recipients},
            },
        }
    if spec.kind == "allyshare":
        extension: dict[str, Any] = {
            "extension_type": "property-extension",
            "orcon": spec.orcon,
            "match_only": spec.match_only,
        }
        if spec.recipients is not None:
            extension["recipients"] = spec.recipients
        return {**base, "extensions": {ALLYSHARE: extension}}
    control_set: dict[str, Any] = {"classification": spec.classification}
    if spec.rel_to is not None:
        control_set["permitted_nationalities"] = spec.rel_to
    if spec.orgs is not None:
        control_set["permitted_organizations"] = spec.orgs
    if spec.noforn:
        control_set["formal_determination"] = ["FOUO", "NF"]
    if spec.caveat:
        control_set["caveat"] = [spec.caveat]
    acs: dict[str, Any] = {"extension_type": "property-extension", "control_set": control_set}
    if spec.denies:
        rules = []
        for privilege, nats, orgs in spec.denies:
            scope = {}
            if nats is not None:
                scope["permitted_nationalities"] = nats
            if orgs is not None:
                scope["permitted_organizations"] = orgs
            rules.append(
                {"privilege_action": privilege, "privilege_scope": scope, "rule_effect": "deny"}
            )
        acs["access_privilege"] = rules
    if spec.share_denies:
        acs["further_sharing"] = [{"sharing_scope": spec.share_denies, "sharing_effect": "deny"}]
    return {**base, "extensions": {ACS: acs}}


def paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*path, index))
    return found


@st.composite
def indicators(draw: st.DrawFn, refs: list[str]) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8",
        "created": "2024-03-01T10:00:00.000Z",
        "modified": "2024-03-01T10:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2024-03-01T10:00:00Z",
    }
    if draw(st.booleans()):
        obj["name"] = "Kimsuky C2"
    if draw(st.booleans()):
        obj["description"] = "from a protected source"
    if draw(st.booleans()):
        obj["labels"] = [f"label{i}" for i in range(draw(st.integers(1, 3)))]
    obj["kill_chain_phases"] = [
        {"kill_chain_name": "mitre-attack", "phase_name": f"phase{i}"}
        for i in range(draw(st.integers(1, 3)))
    ]
    references = []
    for i in range(draw(st.integers(0, 3))):
        reference = {"source_name": f"source{i}", "url": f"https://example.com/{i}"}
        if draw(st.booleans()):
            reference["description"] = f"reference {i}"
        references.append(reference)
    if references:
        obj["external_references"] = references
    if draw(st.booleans()):
        obj["x_detail"] = {"nested": {"value": "v", "other": "o"}, "tags": ["t0", "t1", "t2"]}
    object_refs = draw(st.lists(st.sampled_from(refs), max_size=2, unique=True))
    if draw(st.booleans()):
        level = draw(st.integers(0, 4))  # every level as likely, whatever its number of ids
        object_refs.append(draw(st.sampled_from([r for r, n in TLP_BY_ID.items() if n == level])))
    if object_refs:
        obj["object_marking_refs"] = object_refs
    selectable = [to_selector(path) for path in paths(obj) if len(str(path[0])) >= 3]
    # Mostly content that may go; sometimes what makes the object invalid or unmarked.
    vital = [
        s for s in selectable if to_path(s)[0] in REQUIRED or to_path(s)[0] == "object_marking_refs"
    ]
    optional = [s for s in selectable if s not in vital]
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        pool = vital if draw(st.integers(0, 9)) == 0 else optional
        selectors = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        if draw(st.integers(0, 5)) == 0:
            entries.append({"lang": "ko", "selectors": selectors})
        else:
            ref = draw(st.sampled_from(refs if draw(st.integers(0, 3)) else list(TLP_BY_ID)))
            entries.append({"marking_ref": ref, "selectors": selectors})
    if entries:
        obj["granular_markings"] = entries
    return obj


# --- writes -------------------------------------------------------------------------------------

TLP_LEVELS = {"CLEAR": 0, "GREEN": 1, "AMBER": 2, "AMBER+STRICT": 3, "RED": 4}


def _write_label(refs: list[str], specs: dict[str, Spec]) -> tuple[int | None, list[set[str]]]:
    """(TLP level or None, recipient lists) of the refs the node holds a readable definition of."""
    tlp: int | None = None
    recipient_lists = []
    for ref in refs:
        spec = specs.get(ref)
        if ref in TLP_BY_ID:
            level: int | None = TLP_BY_ID[ref]
        elif spec is not None and spec.kind == "red-to":
            level = 4
        else:
            level = None
        if level is not None:
            tlp = level if tlp is None else max(tlp, level)
        named = spec is not None and spec.kind in ("red-to", "allyshare")
        if named and spec is not None and spec.recipients is not None:
            recipient_lists.append(set(spec.recipients))
    return tlp, recipient_lists


def reference_write_problems(
    obj: dict[str, Any],
    specs: dict[str, Spec],
    *,
    max_classification: str,
    tlp_ceiling: str,
    writer: str,
    members: dict[str, str],
    definitions_in_request: bool,
) -> list[str]:
    """Why a contributor may not store ``obj`` under an agreement with these ceilings.

    ``writer`` is the writer's organization, ``members`` maps every member organization's
    identity to its id: an author who is not a member may be named (third-party
    intelligence), another member may not. The definitions of
    ``specs`` (those that exist) were stored before, or, with ``definitions_in_request``, are
    sent in the same request, which makes a broken one a known definition that does not parse
    (stored before, it was refused itself, so its ref is merely unknown: accepted, fail-closed
    on read).
    """
    problems = []
    if obj.get("type") == "marking-definition":
        spec = specs.get(obj["id"])
        if spec is not None and spec.kind == "broken":
            problems.append(f"definition {obj['id']} does not parse")
    object_refs = list(obj.get("object_marking_refs", []))
    granular_refs = [
        entry["marking_ref"] for entry in obj.get("granular_markings", []) if "marking_ref" in entry
    ]
    for ref in dict.fromkeys([*object_refs, *granular_refs]):
        spec = specs.get(ref)
        classification = 0
        tlp: int | None = None
        if ref in TLP_BY_ID:
            tlp = TLP_BY_ID[ref]
        elif spec is None or spec.kind == "missing":
            continue
        elif spec.kind == "broken":
            if definitions_in_request:
                problems.append(f"marking {ref} does not parse")
            continue
        elif spec.kind == "red-to":
            tlp = 4
        elif spec.kind == "acs":
            classification = LEVELS[spec.classification]
        if classification > LEVELS[max_classification]:
            problems.append(f"marking {ref} is classified above {max_classification}")
        if tlp is not None and tlp > TLP_LEVELS[tlp_ceiling]:
            problems.append(f"marking {ref} is above TLP:{tlp_ceiling}")

    def red_without_recipients(refs: list[str]) -> bool:
        tlp, recipient_lists = _write_label(refs, specs)
        return tlp == 4 and (not recipient_lists or not set.intersection(*recipient_lists))

    if red_without_recipients(object_refs):
        problems.append("TLP:RED without named recipients")
    for ref in dict.fromkeys(granular_refs):
        if red_without_recipients([ref]):
            problems.append(f"granular marking {ref} is TLP:RED without named recipients")
    named = members.get(obj.get("created_by_ref", ""))
    if named is not None and named != writer:
        problems.append(f"created_by_ref {obj['created_by_ref']} is member {named}'s")
    return problems
