"""Observables: the values objects mention (addresses, domains, URLs, e-mail addresses, hashes),
normalized to one spelling each, which the correlation index holds and lookups ask for."""

from allyshare.observables.extract import Observable, observables_in
from allyshare.observables.normalize import KINDS, Range, address_key, normalize, range_of

__all__ = [
    "KINDS",
    "Observable",
    "Range",
    "address_key",
    "normalize",
    "observables_in",
    "range_of",
]
