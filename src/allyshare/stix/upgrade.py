"""Upgrading STIX 2.0 objects to STIX 2.1.

allyshare stores STIX 2.1 only. Much shared intelligence is still STIX 2.0 (MISP exports,
vendor playbooks, older ATT&CK), so on import each STIX 2.0 object is rewritten as the
equivalent STIX 2.1 object by the rules below. Where an object cannot be expressed in STIX 2.1
without losing or guessing information, it is rejected with the id, the property and the
reason, and the rest of the import goes on. Objects that are already STIX 2.1 are returned
as they are (the very same ``dict``).

Which objects are STIX 2.0
    1. An object with ``"spec_version": "2.0"`` is 2.0; with ``"2.1"`` it is 2.1; any other
       value is rejected (only 2.0 and 2.1 can be read).
    2. An object without ``spec_version`` that came in a bundle with ``"spec_version": "2.0"``
       is 2.0 (STIX 2.0 declares the version on the bundle only).
    3. Otherwise an object without ``spec_version`` is 2.0 if it has ``created``: every STIX
       2.1 object that has ``created`` (SDOs, relationships, sightings, marking definitions,
       custom objects) must also carry ``spec_version``, so its absence means 2.0. Objects
       without ``created`` are STIX 2.1 cyber-observables, for which ``spec_version`` is
       optional; they are left alone. A bundle-level ``spec_version`` of ``"2.1"`` (not a
       STIX 2.1 property, but some producers write it) does not change this.

What the upgrade changes
    * ``spec_version`` becomes ``"2.1"``.
    * ``created`` and ``modified`` must be precise to at least the millisecond in STIX 2.1;
      shorter fractions are padded with zeros (``...:00Z`` becomes ``...:00.000Z``), which
      names the same instant. Longer fractions are kept. A value that is not a timestamp at
      all is rejected.
    * ``labels`` of an ``indicator``, ``malware``, ``report``, ``threat-actor`` or ``tool``
      moves to ``indicator_types``, ``malware_types``, ``report_types``,
      ``threat_actor_types`` or ``tool_types``: in STIX 2.0 those labels were exactly that
      classification, drawn from vocabularies that STIX 2.1 kept under the new names (no value
      was renamed, so the values are copied as they are). If the object already carries the
      STIX 2.1 property, ``labels`` stays where it is. On every other type ``labels`` is the
      generic STIX 2.1 property of the same name and is kept.
    * ``malware`` gets ``is_family: true`` unless it says otherwise. STIX 2.1 requires the
      property; STIX 2.0 malware described families (samples were observed data), and a
      2.0 malware object always has the ``name`` that 2.1 requires of a family.
    * ``indicator`` gets ``pattern_type: "stix"`` (the only pattern language of STIX 2.0)
      unless it has one, and, for STIX patterns, ``pattern_version: "2.0"`` unless it has
      one. The pattern text is kept verbatim. STIX 2.1 renamed some observable properties
      that patterns name (``file:created`` is ``file:ctime`` in 2.1) and a hash algorithm
      (``ssdeep`` is ``SSDEEP``), so a 2.0 pattern keeps its exact meaning only when read as
      STIX 2.0 patterning; ``pattern_version`` tells STIX 2.1 consumers to do that.
    * ``identity.sectors``: the value ``defence`` becomes ``defense`` (renamed in the STIX 2.1
      industry-sector vocabulary).
    * Every hashes dictionary (``hashes`` or ``*_hashes``, at any depth, including external
      references): the key ``ssdeep`` becomes ``SSDEEP`` (renamed in the STIX 2.1 hash
      algorithm vocabulary), unless ``SSDEEP`` is already there.
    * ``observed-data.objects`` — the STIX 2.0 container of embedded cyber observables,
      keyed ``"0"``, ``"1"``... — is kept: STIX 2.1 deprecates it but still allows it, and the
      STIX 2.1 validator resolves references inside it by those keys, so references stay as
      they are. Each embedded observable is brought to STIX 2.1:

      - it gets the ``id`` STIX 2.1 requires of every cyber observable: the deterministic
        UUIDv5 of its ID contributing properties, computed as for a stand-alone observable
        (references among them stand for the ids of the observables they point to; of
        several hashes, the first of MD5, SHA-1, SHA-256, SHA-512 present, else the
        alphabetically first, is used). A type with no ID contributing properties present
        (a ``process``, a custom observable) gets a UUIDv5 of the observed-data id and its
        key instead, so upgrading the same object twice always gives the same result;
      - properties STIX 2.1 renamed are renamed: ``file`` and ``directory``
        ``created``/``modified``/``accessed`` to ``ctime``/``mtime``/``atime``, ``process``
        ``created`` to ``created_time`` and ``binary_ref`` to ``image_ref``,
        ``user-account`` ``password_last_changed`` to ``credential_last_changed``,
        ``windows-registry-key`` ``modified`` to ``modified_time``;
      - properties STIX 2.1 removed without a replacement are rejected, naming the property:
        ``file`` ``is_encrypted``/``encryption_algorithm``/``decryption_key``, ``process``
        ``name``/``arguments``, ``archive-ext`` ``version``, ``raster-image-ext``
        ``image_compression_algorithm``, ``socket-ext`` ``protocol_family``.
    * The four TLP 1.0 marking definitions (``definition_type: "tlp"``) keep their ids,
      which STIX 2.1 defines to be the same as in STIX 2.0, and get the ``name`` that the
      STIX 2.1 definitions carry (``TLP:WHITE``, ``TLP:GREEN``, ``TLP:AMBER``, ``TLP:RED``)
      when their colour is the one that id stands for.
    * Everything else — custom object types such as ``x-misp-attribute``, custom ``x_``
      properties, statement markings, external references, kill chain phases,
      ``identity_class`` — is the same in both versions and is kept.

What is rejected (:class:`~allyshare.errors.InvalidObject`, naming id and property)
    * an object without a string ``type``;
    * an ``id`` that is not ``<type>--<UUID>`` with the object's own type and an RFC 4122
      UUID (version 1 to 5). STIX 2.0 required version 4 and 2.1 does not, so ids that were
      invalid STIX 2.0 only because they are UUIDv5 (as misp-stix writes for relationships)
      are valid STIX 2.1 and are accepted;
    * an unsupported ``spec_version``, a malformed ``created``/``modified``, a malformed
      ``observed-data.objects`` (not a non-empty dictionary of objects with a ``type``, or a
      reference to a key it does not hold), a renamed property whose new name is already
      taken, and the removed observable properties listed above.

No OASIS library offers this conversion as a function: the python ``stix2`` package parses
either version but does not convert between them, and the ``stix_stepper`` of the
``stix2-elevator`` package splits observed data into separate objects (one object in, several
out), which does not fit an import that upgrades object by object.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any, Final

from stix2.canonicalization.Canonicalize import canonicalize

from allyshare.errors import InvalidObject

STIX_20: Final = "2.0"
STIX_21: Final = "2.1"

_TYPES_PROPERTY: Final = {
    "indicator": "indicator_types",
    "malware": "malware_types",
    "report": "report_types",
    "threat-actor": "threat_actor_types",
    "tool": "tool_types",
}
# The TLP 1.0 marking definitions, the same ids in STIX 2.0 and 2.1: id -> colour.
_TLP_COLOURS: Final = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "white",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
# RFC 3339 in UTC, with the ranges of the STIX 2.1 JSON schema; group 2 is the fraction.
_TIMESTAMP: Final = re.compile(
    r"([0-9]{4}-(?:0[1-9]|1[012])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60))(?:\.([0-9]+))?Z"
)
_UUID: Final = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)

# The namespace STIX 2.1 defines for deterministic cyber-observable ids.
_SCO_NAMESPACE: Final = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
_ID_CONTRIBUTING: Final[dict[str, tuple[str, ...]]] = {
    "artifact": ("hashes", "payload_bin"),
    "autonomous-system": ("number",),
    "directory": ("path",),
    "domain-name": ("value",),
    "email-addr": ("value",),
    "email-message": ("from_ref", "subject", "body"),
    "file": ("hashes", "name", "extensions", "parent_directory_ref"),
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "mac-addr": ("value",),
    "mutex": ("name",),
    "network-traffic": (
        "start",
        "end",
        "src_ref",
        "dst_ref",
        "src_port",
        "dst_port",
        "protocols",
        "extensions",
    ),
    "software": ("name", "cpe", "swid", "vendor", "version"),
    "url": ("value",),
    "user-account": ("account_type", "user_id", "account_login"),
    "windows-registry-key": ("key", "values"),
    "x509-certificate": ("hashes", "serial_number"),
}
_PREFERRED_HASHES: Final = ("MD5", "SHA-1", "SHA-256", "SHA-512")

_SCO_RENAMED: Final[dict[str, dict[str, str]]] = {
    "directory": {"created": "ctime", "modified": "mtime", "accessed": "atime"},
    "file": {"created": "ctime", "modified": "mtime", "accessed": "atime"},
    "process": {"created": "created_time", "binary_ref": "image_ref"},
    "user-account": {"password_last_changed": "credential_last_changed"},
    "windows-registry-key": {"modified": "modified_time"},
}
_SCO_REMOVED: Final[dict[str, frozenset[str]]] = {
    "file": frozenset({"is_encrypted", "encryption_algorithm", "decryption_key"}),
    "process": frozenset({"name", "arguments"}),
}
_EXTENSION_REMOVED: Final[dict[str, frozenset[str]]] = {
    "archive-ext": frozenset({"version"}),
    "raster-image-ext": frozenset({"image_compression_algorithm"}),
    "socket-ext": frozenset({"protocol_family"}),
}


def upgrade_object(obj: dict[str, Any], bundle_spec_version: str | None) -> dict[str, Any]:
    """The STIX 2.1 form of ``obj``: ``obj`` itself if it is 2.1, else a new upgraded dict.

    ``bundle_spec_version`` is the ``spec_version`` of the bundle ``obj`` came in, if any.
    ``obj`` is never modified. Raises :class:`InvalidObject` for what cannot be upgraded.
    """
    if not _is_stix20(obj, bundle_spec_version):
        return obj
    return _upgrade(obj)


def _is_stix20(obj: dict[str, Any], bundle_spec_version: str | None) -> bool:
    if "spec_version" in obj:
        spec_version = obj["spec_version"]
        if spec_version == STIX_20:
            return True
        if spec_version == STIX_21:
            return False
        raise InvalidObject(
            _id_or_none(obj),
            "spec_version",
            f"unsupported STIX version {spec_version!r}; only 2.0 and 2.1 can be read",
        )
    return bundle_spec_version == STIX_20 or "created" in obj


def _upgrade(obj: dict[str, Any]) -> dict[str, Any]:
    obj_type = obj.get("type")
    if not isinstance(obj_type, str):
        raise InvalidObject(_id_or_none(obj), "type", "missing or not a string")
    obj_id = _checked_id(obj, obj_type)
    copied: dict[str, Any] = _with_21_hash_names(obj)
    out: dict[str, Any] = {"type": obj_type, "spec_version": STIX_21}
    out.update((prop, value) for prop, value in copied.items() if prop not in out)

    for prop in ("created", "modified"):
        if prop in out:
            out[prop] = _millisecond_timestamp(obj_id, prop, out[prop])
    types_property = _TYPES_PROPERTY.get(obj_type)
    if types_property and "labels" in out and types_property not in out:
        out[types_property] = out.pop("labels")
    if obj_type == "malware":
        out.setdefault("is_family", True)
    elif obj_type == "indicator":
        out.setdefault("pattern_type", "stix")
        if out["pattern_type"] == "stix":
            out.setdefault("pattern_version", STIX_20)
    elif obj_type == "identity" and isinstance(out.get("sectors"), list):
        out["sectors"] = ["defense" if sector == "defence" else sector for sector in out["sectors"]]
    elif obj_type == "marking-definition" and _is_tlp_marking(out):
        out.setdefault("name", f"TLP:{_TLP_COLOURS[obj_id].upper()}")
    elif obj_type == "observed-data" and "objects" in out:
        out["objects"] = _upgrade_observables(obj_id, out["objects"])
    return out


def _is_tlp_marking(marking: dict[str, Any]) -> bool:
    """Whether ``marking`` is one of the spec's TLP marking definitions, colour matching id."""
    definition = marking.get("definition")
    return (
        marking.get("definition_type") == "tlp"
        and isinstance(definition, dict)
        and _TLP_COLOURS.get(marking["id"]) == definition.get("tlp")
    )


def _id_or_none(obj: dict[str, Any]) -> str | None:
    value = obj.get("id")
    return value if isinstance(value, str) else None


def _checked_id(obj: dict[str, Any], obj_type: str) -> str:
    value = obj.get("id")
    if not isinstance(value, str):
        raise InvalidObject(None, "id", "missing or not a string")
    prefix, separator, suffix = value.partition("--")
    if not separator or prefix != obj_type or not _UUID.match(suffix):
        raise InvalidObject(
            value,
            "id",
            f"not a STIX identifier '{obj_type}--<UUID>' with an RFC 4122 UUID (version 1-5)",
        )
    return value


def _millisecond_timestamp(obj_id: str, prop: str, value: object) -> str:
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidObject(obj_id, prop, f"{value!r} is not a STIX timestamp")
    seconds, fraction = match.group(1), match.group(2) or ""
    return f"{seconds}.{fraction.ljust(3, '0')}Z"


def _with_21_hash_names(value: Any, key: str = "") -> Any:
    """A deep copy of ``value`` in which every hashes dictionary says ``SSDEEP``."""
    if isinstance(value, list):
        return [_with_21_hash_names(item) for item in value]
    if not isinstance(value, dict):
        return value
    copied = {name: _with_21_hash_names(item, name) for name, item in value.items()}
    is_hashes = key == "hashes" or key.endswith("_hashes")
    if is_hashes and "ssdeep" in copied and "SSDEEP" not in copied:
        copied = {("SSDEEP" if name == "ssdeep" else name): item for name, item in copied.items()}
    return copied


def _upgrade_observables(obj_id: str, objects: object) -> dict[str, dict[str, Any]]:
    """The STIX 2.1 form of an observed-data ``objects`` container (see module docs)."""
    if not isinstance(objects, dict) or not objects:
        raise InvalidObject(obj_id, "objects", "not a non-empty dictionary of observables")
    upgraded: dict[str, dict[str, Any]] = {}
    for key, observable in objects.items():
        if not isinstance(observable, dict) or not isinstance(observable.get("type"), str):
            raise InvalidObject(obj_id, f"objects.{key}", "not an observable with a 'type'")
        upgraded[key] = _upgrade_observable(obj_id, key, observable)

    def existing_key(key: str) -> str:
        if key not in upgraded:
            raise InvalidObject(
                obj_id, "objects", f"a reference to '{key}', which it does not hold"
            )
        return key

    for observable in upgraded.values():
        _map_refs(observable, existing_key)  # only to check that every reference resolves

    pending: set[str] = set()

    def observable_id(key: str) -> str:
        observable = upgraded[key]
        if "id" not in observable:
            if key in pending:
                raise InvalidObject(
                    obj_id, f"objects.{key}", "a reference cycle among ID properties"
                )
            pending.add(key)
            observable["id"] = _observable_id(obj_id, key, observable, observable_id)
        return str(observable["id"])

    for key in upgraded:
        observable_id(key)
    return upgraded


def _upgrade_observable(obj_id: str, key: str, observable: dict[str, Any]) -> dict[str, Any]:
    obj_type = observable["type"]
    where = f"objects.{key}"
    removed = sorted(_SCO_REMOVED.get(obj_type, frozenset()) & observable.keys())
    extensions = observable.get("extensions")
    if isinstance(extensions, dict):
        for name, removed_there in _EXTENSION_REMOVED.items():
            extension = extensions.get(name)
            if isinstance(extension, dict):
                removed += [
                    f"extensions.{name}.{prop}" for prop in sorted(removed_there & extension.keys())
                ]
    if removed:
        raise InvalidObject(obj_id, f"{where}.{removed[0]}", "removed in STIX 2.1, no equivalent")
    renames = _SCO_RENAMED.get(obj_type, {})
    upgraded: dict[str, Any] = {}
    for prop, value in observable.items():
        new_name = renames.get(prop, prop)
        if new_name != prop and new_name in observable:
            raise InvalidObject(
                obj_id, f"{where}.{prop}", f"renamed '{new_name}' in STIX 2.1, which is also set"
            )
        upgraded[new_name] = value
    return upgraded


def _observable_id(
    obj_id: str, key: str, observable: dict[str, Any], id_of: Callable[[str], str]
) -> str:
    """The deterministic STIX 2.1 id of an embedded observable (see module docs)."""
    obj_type = observable["type"]
    contributing: dict[str, Any] = {}
    for prop in _ID_CONTRIBUTING.get(obj_type, ()):
        if prop not in observable:
            continue
        value = _map_refs(observable[prop], id_of, prop)
        if prop == "hashes" and isinstance(value, dict):
            if not value:
                continue
            chosen = next((name for name in _PREFERRED_HASHES if name in value), min(value))
            value = {chosen: value[chosen]}
        contributing[prop] = value
    if not contributing:
        contributing = {"observed-data": obj_id, "key": key}
    return f"{obj_type}--{uuid.uuid5(_SCO_NAMESPACE, canonicalize(contributing, utf8=False))}"


def _map_refs(value: Any, resolve: Callable[[str], str], key: str = "") -> Any:
    """``value`` with every reference (``*_ref``, ``*_refs``, at any depth) passed through
    ``resolve``; a copy, so the result can stand in for ``value`` in an id computation."""
    if key.endswith("_ref") and isinstance(value, str):
        return resolve(value)
    if key.endswith("_refs") and isinstance(value, list):
        return [resolve(item) if isinstance(item, str) else item for item in value]
    if isinstance(value, dict):
        return {name: _map_refs(item, resolve, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_map_refs(item, resolve) for item in value]
    return value
