"""Marking definitions read into one canonical access label (DESIGN section 3).

A STIX object names its markings by id (``object_marking_refs``; STIX 2.1 section 7.2.2).
The node turns the marking definitions it knows into a `MarkingRegistry`, and `label_of`
folds the markings an object names into one `AccessLabel`: a frozen, hashable summary of
every restriction they carry, the same whatever the order or repetition of the refs, so a
store can keep one row per distinct label and evaluate each label once per request.

Recognised markings:

- TLP 2.0: the OASIS marking definitions (built in; a definition carrying the TLP 2.0
  extension ``tlp_2_0`` under another id is honoured too). The TLP 1.0 definitions of
  STIX 2.1 section 7.2.1.4 are built in as their TLP 2.0 equivalents. A definition sent
  for a built-in id never replaces it.
- ACS 3.0 (extension ``extension-definition--3a65884d-005a-4290-8335-cb2d778a83ce``,
  specified in oasis-open/cti-stix-common-objects under
  ``extension-definition-specifications/acs-marking-definition-3a6``):
  ``control_set.classification``; ``formal_determination`` ``NF`` (NOFORN);
  ``caveat`` values that make data proprietary (``PROPIN`` or any value ending in
  ``PROPRIETARY``, such as ``CISAPROPRIETARY``); ``permitted_nationalities`` and
  ``permitted_organizations`` (``ALL`` = unrestricted); ``access_privilege`` rules with
  ``rule_effect: deny`` (kept per ACS action with their nationality/organization scope;
  ``entity`` and ``shareability`` qualifiers are not evaluated, which can only widen a deny);
  ``further_sharing`` rules with effect ``deny`` (their ``sharing_scope``). Permit rules and
  the ``policy_reference`` defaults never widen access: every other restriction still holds.
  ``entity``, ``sensitivity`` and ``shareability`` of the control set are type-checked
  but not enforced: allyshare has no vocabulary mapping its members onto them.
- allyshare (`ALLYSHARE_EXTENSION_ID`, shipped as ``allyshare-extension.json``): ``orcon``,
  ``recipients``, ``match_only``. Unknown properties make the marking unreadable, so a newer
  restriction is never silently ignored by an older node.
- Statement markings (``definition_type: statement`` or ``definition.statement``): kept in
  the label for display, never enforced.

Set apart (`WRITER_ONLY`): not a marking anyone writes, but a ref the node puts in a
version's access key when the writer reused the id of another originator's object that it
may not see (`allyshare.storage`): that version is for its writer's organization only.
Anonymous (`ANONYMOUS`): likewise a ref only the node puts in a key, for a version contributed
anonymously (`allyshare.sources`); it restricts no reader, and tells the node to name the
contributor to no one.

Fail-closed: a ref with no definition, a definition that does not parse, a definition that
carries nothing this node understands (another extension, a custom ``definition_type``) and
an id seen with two different definitions all end up in ``AccessLabel.unknown``.

Several markings combine most-restrictively: highest classification and TLP, intersection
of permitted nationalities, organizations and recipients, union of everything else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from allyshare.errors import InvalidInput
from allyshare.policy.levels import TLP_MARKING_IDS, Classification, Tlp

__all__ = [
    "ACS_EXTENSION_ID",
    "ALLYSHARE_EXTENSION_ID",
    "ANONYMOUS",
    "TLP2_EXTENSION_ID",
    "WRITER_ONLY",
    "AccessLabel",
    "DenyRule",
    "MarkingRegistry",
    "check_marking_definition",
    "label_of",
    "object_label",
]

ACS_EXTENSION_ID = "extension-definition--3a65884d-005a-4290-8335-cb2d778a83ce"
TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
ALLYSHARE_EXTENSION_ID = "extension-definition--894568f2-b9da-4cbf-a449-c356685e423c"
WRITER_ONLY = "x-allyshare-writer-only"
ANONYMOUS = "x-allyshare-anonymous"
"""No STIX object can name this ref (marking refs are marking-definition ids), so only the
node puts it in an access key."""

_ALL = "ALL"
_NOFORN = "NF"
_TLP2_VALUES = {
    "clear": Tlp.CLEAR,
    "green": Tlp.GREEN,
    "amber": Tlp.AMBER,
    "amber+strict": Tlp.AMBER_STRICT,
    "red": Tlp.RED,
}
_EFFECTS = ("permit", "deny")
_ACS_INFORMATIONAL_LISTS = (
    "sensitivity",
    "shareability",
    "entity",
    "sci_controls",
    "logical_authority_category",
)
_ALLYSHARE_PROPERTIES = frozenset({"extension_type", "orcon", "recipients", "match_only"})


@dataclass(frozen=True)
class DenyRule:
    """An ACS ``access_privilege`` rule with ``rule_effect: deny``.

    ``action`` is the ACS privilege action (``DSPLY``, ``IDSRC``, ``ALL``, ...); a ``None``
    scope means every nationality or organization.
    """

    action: str
    nationalities: frozenset[str] | None = None
    organizations: frozenset[str] | None = None


def _meet_sets(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """Intersection where both restrict; ``None`` means unrestricted."""
    if a is None:
        return b
    if b is None:
        return a
    return a & b


@dataclass(frozen=True)
class AccessLabel:
    """Every restriction an object's markings carry, in one canonical value.

    ``None`` for ``nationalities``, ``organizations`` and ``recipients`` means "not
    restricted" (or, for recipients, "none named"); ``tlp`` is ``None`` for an object with no
    TLP marking, which the decision treats as CLEAR. ``caveats`` are the ACS caveat values
    that make the data proprietary; ``share_denied`` the ``further_sharing`` deny scopes;
    ``unknown`` the sorted refs this node cannot enforce.
    """

    classification: Classification = Classification.U
    tlp: Tlp | None = None
    nationalities: frozenset[str] | None = None
    organizations: frozenset[str] | None = None
    noforn: bool = False
    caveats: frozenset[str] = frozenset()
    recipients: frozenset[str] | None = None
    orcon: bool = False
    match_only: bool = False
    deny_rules: frozenset[DenyRule] = frozenset()
    share_denied: frozenset[str] = frozenset()
    statements: frozenset[str] = frozenset()
    unknown: tuple[str, ...] = ()
    writer_only: bool = False

    def __post_init__(self) -> None:
        # Canonical whatever the caller passed: sorted, each ref once.
        object.__setattr__(self, "unknown", tuple(sorted(set(self.unknown))))

    @property
    def proprietary(self) -> bool:
        """Whether a caveat limits the data to its originator and the organizations named."""
        return bool(self.caveats)

    @property
    def named_organizations(self) -> frozenset[str]:
        """The organizations a proprietary caveat lets read: permitted ones and recipients."""
        return (self.organizations or frozenset()) | (self.recipients or frozenset())

    def meet(self, other: AccessLabel) -> AccessLabel:
        """The label that is at least as restrictive as both."""
        tlp = self.tlp
        if other.tlp is not None and (tlp is None or other.tlp > tlp):
            tlp = other.tlp
        return AccessLabel(
            classification=max(self.classification, other.classification),
            tlp=tlp,
            nationalities=_meet_sets(self.nationalities, other.nationalities),
            organizations=_meet_sets(self.organizations, other.organizations),
            noforn=self.noforn or other.noforn,
            caveats=self.caveats | other.caveats,
            recipients=_meet_sets(self.recipients, other.recipients),
            orcon=self.orcon or other.orcon,
            match_only=self.match_only or other.match_only,
            deny_rules=self.deny_rules | other.deny_rules,
            share_denied=self.share_denied | other.share_denied,
            statements=self.statements | other.statements,
            unknown=self.unknown + other.unknown,
            writer_only=self.writer_only or other.writer_only,
        )

    def to_json(self) -> str:
        """The canonical serialization: equal labels give equal text, on every process."""

        def names(values: frozenset[str] | None) -> list[str] | None:
            return None if values is None else sorted(values)

        rules = sorted(
            (
                [rule.action, names(rule.nationalities), names(rule.organizations)]
                for rule in self.deny_rules
            ),
            key=lambda rule: json.dumps(rule),
        )
        data = {
            "classification": self.classification.name,
            "tlp": None if self.tlp is None else self.tlp.name,
            "nationalities": names(self.nationalities),
            "organizations": names(self.organizations),
            "noforn": self.noforn,
            "caveats": sorted(self.caveats),
            "recipients": names(self.recipients),
            "orcon": self.orcon,
            "match_only": self.match_only,
            "deny_rules": rules,
            "share_denied": sorted(self.share_denied),
            "statements": sorted(self.statements),
            "unknown": list(self.unknown),
            "writer_only": self.writer_only,
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def id(self) -> str:
        """A stable id for the label (SHA-256 of `to_json`), for a store's label table."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> AccessLabel:
        """Read what `to_json` wrote; raise InvalidInput for anything else."""
        try:
            data = json.loads(text)

            def names(values: list[str] | None) -> frozenset[str] | None:
                return None if values is None else frozenset(values)

            return cls(
                classification=Classification[data["classification"]],
                tlp=None if data["tlp"] is None else Tlp[data["tlp"]],
                nationalities=names(data["nationalities"]),
                organizations=names(data["organizations"]),
                noforn=bool(data["noforn"]),
                caveats=frozenset(data["caveats"]),
                recipients=names(data["recipients"]),
                orcon=bool(data["orcon"]),
                match_only=bool(data["match_only"]),
                deny_rules=frozenset(
                    DenyRule(action, names(nationalities), names(organizations))
                    for action, nationalities, organizations in data["deny_rules"]
                ),
                share_denied=frozenset(data["share_denied"]),
                statements=frozenset(data["statements"]),
                unknown=tuple(data["unknown"]),
                writer_only=bool(data.get("writer_only", False)),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidInput(f"not an access label: {error}") from None


# --- reading one marking definition -------------------------------------------------------------


class _Reader:
    """Reads one marking definition, noting what does not parse and what is not understood."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.unsupported: list[str] = []

    def strings(self, value: object, where: str) -> list[str]:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        self.problems.append(f"{where} must be a list of strings")
        return []

    def scope(self, container: Mapping[str, Any], key: str, where: str) -> frozenset[str] | None:
        """An ACS list of names where the literal ALL (or leaving it out) means everyone."""
        if key not in container:
            return None
        values = self.strings(container[key], f"{where}.{key}")
        return None if _ALL in values else frozenset(values)

    def effect(self, value: object, where: str) -> str:
        if value in _EFFECTS:
            return str(value)
        self.problems.append(f"{where} must be permit or deny, not {value!r}")
        return "deny"

    def tlp2(self, extension: object) -> AccessLabel:
        value = extension.get("tlp_2_0") if isinstance(extension, Mapping) else None
        if not isinstance(value, str) or value not in _TLP2_VALUES:
            self.problems.append(
                f"TLP 2.0 extension: tlp_2_0 must be one of {', '.join(_TLP2_VALUES)}, "
                f"not {value!r}"
            )
            return AccessLabel()
        return AccessLabel(tlp=_TLP2_VALUES[value])

    def acs(self, extension: object) -> AccessLabel:
        if not isinstance(extension, Mapping):
            self.problems.append("ACS extension must be an object")
            return AccessLabel()
        control_set = extension.get("control_set")
        if not isinstance(control_set, Mapping):
            self.problems.append("ACS control_set is required and must be an object")
            return AccessLabel()
        level = control_set.get("classification")
        classification = Classification.U
        if isinstance(level, str) and level in Classification.__members__:
            classification = Classification[level]
        else:
            self.problems.append(
                f"ACS control_set.classification must be one of U, C, S, TS, not {level!r}"
            )
        determinations = self.strings(
            control_set.get("formal_determination", []), "ACS control_set.formal_determination"
        )
        caveats = self.strings(control_set.get("caveat", []), "ACS control_set.caveat")
        for key in _ACS_INFORMATIONAL_LISTS:
            if key in control_set:
                self.strings(control_set[key], f"ACS control_set.{key}")
        return AccessLabel(
            classification=classification,
            nationalities=self.scope(control_set, "permitted_nationalities", "ACS control_set"),
            organizations=self.scope(control_set, "permitted_organizations", "ACS control_set"),
            noforn=_NOFORN in determinations,
            caveats=frozenset(
                caveat for caveat in caveats if caveat == "PROPIN" or caveat.endswith("PROPRIETARY")
            ),
            deny_rules=self.access_privileges(extension.get("access_privilege", [])),
            share_denied=self.further_sharing(extension.get("further_sharing", [])),
        )

    def access_privileges(self, value: object) -> frozenset[DenyRule]:
        if not isinstance(value, list):
            self.problems.append("ACS access_privilege must be a list")
            return frozenset()
        rules: set[DenyRule] = set()
        for index, rule in enumerate(value):
            where = f"ACS access_privilege[{index}]"
            if not isinstance(rule, Mapping):
                self.problems.append(f"{where} must be an object")
                continue
            action = rule.get("privilege_action")
            if not isinstance(action, str) or not action:
                self.problems.append(f"{where}.privilege_action must be a non-empty string")
                continue
            effect = self.effect(rule.get("rule_effect"), f"{where}.rule_effect")
            scope = rule.get("privilege_scope", {})
            if not isinstance(scope, Mapping):
                self.problems.append(f"{where}.privilege_scope must be an object")
                continue
            nationalities = self.scope(scope, "permitted_nationalities", f"{where}.privilege_scope")
            organizations = self.scope(scope, "permitted_organizations", f"{where}.privilege_scope")
            for key in ("entity", "shareability"):
                if key in scope:
                    self.strings(scope[key], f"{where}.privilege_scope.{key}")
            if effect == "deny":
                rules.add(DenyRule(action, nationalities, organizations))
        return frozenset(rules)

    def further_sharing(self, value: object) -> frozenset[str]:
        if not isinstance(value, list):
            self.problems.append("ACS further_sharing must be a list")
            return frozenset()
        denied: set[str] = set()
        for index, rule in enumerate(value):
            where = f"ACS further_sharing[{index}]"
            if not isinstance(rule, Mapping):
                self.problems.append(f"{where} must be an object")
                continue
            scope = self.strings(rule.get("sharing_scope"), f"{where}.sharing_scope")
            # The OASIS specification names the effect sharing_effect; earlier drafts and
            # some producers write rule_effect.
            key = "sharing_effect" if "sharing_effect" in rule else "rule_effect"
            if self.effect(rule.get(key), f"{where}.{key}") == "deny":
                denied.update(scope)
        return frozenset(denied)

    def allyshare(self, extension: object) -> AccessLabel:
        if not isinstance(extension, Mapping):
            self.problems.append("allyshare extension must be an object")
            return AccessLabel()
        for key in sorted(set(extension) - _ALLYSHARE_PROPERTIES):
            self.problems.append(f"allyshare extension has no property {key!r}")
        flags: dict[str, bool] = {}
        for key in ("orcon", "match_only"):
            value = extension.get(key, False)
            if not isinstance(value, bool):
                self.problems.append(f"allyshare extension: {key} must be true or false")
            flags[key] = value is True
        recipients = None
        if "recipients" in extension:
            recipients = frozenset(
                self.strings(extension["recipients"], "allyshare extension: recipients")
            )
        return AccessLabel(
            recipients=recipients, orcon=flags["orcon"], match_only=flags["match_only"]
        )

    def definition(self, obj: Mapping[str, Any]) -> AccessLabel:
        label = AccessLabel()
        understood = False
        extensions = obj.get("extensions", {})
        if not isinstance(extensions, Mapping):
            self.problems.append("extensions must be an object")
            extensions = {}
        for name, extension in extensions.items():
            if name == TLP2_EXTENSION_ID:
                label = label.meet(self.tlp2(extension))
            elif name == ACS_EXTENSION_ID:
                label = label.meet(self.acs(extension))
            elif name == ALLYSHARE_EXTENSION_ID:
                label = label.meet(self.allyshare(extension))
            else:
                self.unsupported.append(f"extension {name} is not one this node enforces")
                continue
            understood = True
        definition_type = obj.get("definition_type")
        definition = obj.get("definition")
        statement = definition.get("statement") if isinstance(definition, Mapping) else None
        if definition_type == "statement" or statement is not None:
            if not isinstance(statement, str):
                self.problems.append("a statement marking needs definition.statement, a string")
            else:
                label = label.meet(AccessLabel(statements=frozenset({statement})))
            understood = True
        elif definition_type == "tlp":
            self.problems.append(
                "definition_type tlp is reserved for the four TLP 1.0 marking definitions "
                "of STIX 2.1"
            )
            understood = True
        elif definition_type is not None:
            self.unsupported.append(
                f"definition_type {definition_type!r} is not one this node enforces"
            )
        if not understood and not self.unsupported:
            self.unsupported.append("it carries no marking this node understands")
        return label


def check_marking_definition(obj: Mapping[str, Any]) -> list[str]:
    """Why a TLP 2.0, ACS or allyshare marking definition does not parse; empty if it does.

    A definition that parses but that this node does not understand (another extension) is
    not a problem here: it is stored, and fail-closed where it is used.
    """
    if obj.get("type") != "marking-definition":
        return ["not a marking-definition"]
    if obj.get("id") in TLP_MARKING_IDS:
        return []
    reader = _Reader()
    reader.definition(obj)
    return reader.problems


# --- the registry ---------------------------------------------------------------------------------


class MarkingRegistry:
    """The marking definitions a node knows, each read once into an `AccessLabel`.

    The TLP markings are built in. A definition that does not parse, that carries nothing
    this node enforces, or whose id was seen with a different definition is kept as
    unreadable: refs to it are fail-closed, and `reasons` says why.
    """

    def __init__(self, definitions: Iterable[Mapping[str, Any]] = ()) -> None:
        self._labels: dict[str, AccessLabel] = {
            marking_id: AccessLabel(tlp=level) for marking_id, level in TLP_MARKING_IDS.items()
        }
        self._labels[WRITER_ONLY] = AccessLabel(writer_only=True)
        self._labels[ANONYMOUS] = AccessLabel()
        self._definitions: dict[str, Mapping[str, Any]] = {}
        self._received: list[Mapping[str, Any]] = []
        self._problems: dict[str, tuple[str, ...]] = {}
        self._unreadable: dict[str, tuple[str, ...]] = {}
        for definition in definitions:
            self._add(definition)
            self._received.append(definition)

    def definitions(self) -> list[Mapping[str, Any]]:
        """Every definition given, so a registry can be extended into a new one."""
        return list(self._received)

    def _add(self, obj: Mapping[str, Any]) -> None:
        marking_id = obj.get("id") if isinstance(obj, Mapping) else None
        if not isinstance(marking_id, str) or obj.get("type") != "marking-definition":
            raise InvalidInput("a marking registry takes marking-definition objects with an id")
        if marking_id in TLP_MARKING_IDS:
            return
        known = self._definitions.get(marking_id)
        if known is not None:
            if known != obj:
                self._labels.pop(marking_id, None)
                self._unreadable[marking_id] = (
                    "two different definitions were received for this id",
                )
            return
        self._definitions[marking_id] = obj
        reader = _Reader()
        label = reader.definition(obj)
        if reader.problems or reader.unsupported:
            self._problems[marking_id] = tuple(reader.problems)
            self._unreadable[marking_id] = tuple(reader.problems + reader.unsupported)
        else:
            self._labels[marking_id] = label

    def label(self, ref: str) -> AccessLabel | None:
        """The label one marking stands for, or None when it cannot be enforced here."""
        return self._labels.get(ref)

    def reasons(self, ref: str) -> tuple[str, ...]:
        """Why a ref cannot be enforced (empty when it can)."""
        if ref in self._labels:
            return ()
        return self._unreadable.get(ref, ("no definition of it is known to this node",))

    def parse_problems(self, ref: str) -> tuple[str, ...]:
        """What does not parse in the definition of a ref (write checks reject these)."""
        return self._problems.get(ref, ())

    def __contains__(self, ref: object) -> bool:
        return ref in self._labels


def label_of(marking_refs: Iterable[str], registry: MarkingRegistry) -> AccessLabel:
    """The combined label of some markings; refs the registry cannot enforce go to unknown."""
    label: AccessLabel | None = None
    unknown: set[str] = set()
    for ref in marking_refs:
        known = registry.label(ref)
        if known is None:
            unknown.add(ref)
        else:
            label = known if label is None else label.meet(known)
    if unknown:
        return AccessLabel(unknown=tuple(sorted(unknown))).meet(label or AccessLabel())
    return label or AccessLabel()


_UNREADABLE_REFS = "<object_marking_refs that cannot be read>"


def shown_label(obj: Mapping[str, Any], registry: MarkingRegistry) -> AccessLabel:
    """The label of all an object carries: its object markings and the granular markings of
    the parts it still holds (a reader's redacted copy keeps only those). A page showing the
    copy is marked with this, since a NOFORN description shown makes the page NOFORN even
    when the object as a whole is releasable further."""
    refs = obj.get("object_marking_refs", [])
    granular = obj.get("granular_markings", [])
    if (
        not isinstance(refs, list)
        or not all(isinstance(ref, str) for ref in refs)
        or not isinstance(granular, list)
    ):
        return AccessLabel(unknown=(_UNREADABLE_REFS,))
    carried = [
        entry["marking_ref"]
        for entry in granular
        if isinstance(entry, Mapping) and isinstance(entry.get("marking_ref"), str)
    ]
    return label_of([*refs, *carried], registry)


def object_label(obj: Mapping[str, Any], registry: MarkingRegistry) -> AccessLabel:
    """The label of an object's ``object_marking_refs`` (a malformed list is fail-closed)."""
    refs = obj.get("object_marking_refs", [])
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        return AccessLabel(unknown=(_UNREADABLE_REFS,))
    return label_of(refs, registry)
