"""Observables: the values objects mention (addresses, domains, URLs, e-mail addresses, hashes),
normalized to one spelling each, which the correlation index holds and lookups ask for; and
what each sighting is of, what relationships and reports refer to, and the names of named
objects (threat actors, malware, ...), which the index holds beside them."""

from allyshare.observables.extract import (
    NAME,
    NAMED_TYPES,
    NOT_VALUES,
    REFERENCES,
    REFERS_TO,
    SIGHTING_OF,
    Observable,
    indexed_in,
    name_in,
    normalize_name,
    observables_in,
    referred_to,
)
from allyshare.observables.normalize import KINDS, Range, address_key, normalize, range_of

__all__ = [
    "KINDS",
    "NAME",
    "NAMED_TYPES",
    "NOT_VALUES",
    "REFERENCES",
    "REFERS_TO",
    "SIGHTING_OF",
    "Observable",
    "Range",
    "address_key",
    "indexed_in",
    "name_in",
    "normalize",
    "normalize_name",
    "observables_in",
    "range_of",
    "referred_to",
]
