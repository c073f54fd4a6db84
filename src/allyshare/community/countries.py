"""Countries as ISO 3166-1 alpha-3 codes, checked against the maintained list (``pycountry``).

A node names countries in its settings, agreement parties, organizations, nationalities and
peers; a code that is not a country (``XXX``) would never match anyone's markings or
nationality, so it is refused where it is given rather than silently never matching.
"""

from __future__ import annotations

import re
from functools import cache

import pycountry

from allyshare.errors import InvalidInput

_SHAPE = re.compile(r"[A-Z]{3}")


@cache
def _codes() -> frozenset[str]:
    return frozenset(country.alpha_3 for country in pycountry.countries)


def is_country(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-3 country code, written in capitals."""
    return bool(_SHAPE.fullmatch(code)) and code in _codes()


def country_problem(code: object, what: str = "country") -> str | None:
    """Why ``code`` is not a country code (naming it as ``what``), or None when it is one."""
    if isinstance(code, str) and is_country(code):
        return None
    return f"{what} {code!r} is not an ISO 3166-1 alpha-3 country code such as USA or KOR"


def check_country(code: str, what: str = "country") -> str:
    """``code`` if it is a country code, else InvalidInput naming it."""
    problem = country_problem(code, what)
    if problem is not None:
        raise InvalidInput(problem)
    return code


@cache
def alpha_2(code: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of an alpha-3 one (phone number regions use it)."""
    country = pycountry.countries.get(alpha_3=code)
    return None if country is None else str(country.alpha_2)
