"""Observables: the values objects mention (addresses, domains, URLs, e-mail addresses, hashes),
normalized to one spelling each, which the correlation index holds and lookups ask for; and
what each sighting is of and what relationships and reports refer to, which the index
holds beside them."""

from allyshare.observables.extract import (
    REFERENCES,
    REFERS_TO,
    SIGHTING_OF,
    Observable,
    indexed_in,
    observables_in,
    referred_to,
)
from allyshare.observables.normalize import KINDS, Range, address_key, normalize, range_of

__all__ = [
    "KINDS",
    "REFERENCES",
    "REFERS_TO",
    "SIGHTING_OF",
    "Observable",
    "Range",
    "address_key",
    "indexed_in",
    "normalize",
    "observables_in",
    "range_of",
    "referred_to",
]
