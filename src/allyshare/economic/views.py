"""The cross-member views of economic coercion and supply-chain exposure: pure computation
over the incidents and exposures one reader may see, each with the organization that
contributed it (the originator the node records), and the agreement's ``aggregate_k``.

The cells are fixed, and the views take no other input:

- coercion: coercing state x measure x sector x quarter of ``start``; an incident with
  several measures or sectors counts in each of its cells. A cell tells how many incidents,
  how many distinct targeted countries, how many contributing organizations, and per
  currency the summed impact range (the sum of the minimums, the sum of the maximums).
- supply chain: per component category, each vendor's and each vendor country's share
  across the contributing members, and the Herfindahl-Hirschman index of each (0..10,000).
  A member's shares in a category are capped to sum 1 (scaled down when they sum above),
  then each line's share is the sum of the members' shares over the number of members in
  the category: every member weighs the same, whatever the size of its deployment.

The k rule: a cell, a currency line within a coercion cell and a vendor or country line
within a category is shown only when at least k distinct organizations contribute to it;
otherwise it is marked suppressed, with no figure (not a zero). Organizations are counted at
their fewest (`distinct_organizations`): what a peer sent without telling its author is
recorded as from its country alone, and may be from an organization named beside it.

The differencing rule, which keeps overlapping queries from singling out one member's figure:

1. No filters: the views take no selection but the fixed dimensions, so no one asks for
   "everything but one member" or a hand-picked small set; each reader gets every cell of
   what it may see.
2. Totals only from shown cells: the per-state totals of the coercion view count the
   distinct incidents (and their impact) of the shown cells and lines only, and a category's
   concentration index sums the shown lines only (so it is a lower bound of the
   concentration), so nothing shown subtracted from a total leaves a suppressed cell.
3. Complementary suppression: the shares of a category's lines sum to at most 1, so the
   shown lines' complement is what the suppressed lines hold. When the suppressed lines of a
   category have fewer than k organizations behind them together, more lines are suppressed
   (those with the fewest organizations, then by key: never by a share, which a
   suppressed line would then sway) until they have k or every line is suppressed: a
   complement is never one member's figure.

A field the reader may not see is absent from what it is given, so it counts for nothing:
an incident without its coercing state, a measure, a sector or its start fits no cell; one
without its targeted country or its impact counts in its cells without them.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from functools import cached_property
from typing import Any

import orjson

from allyshare.economic.extensions import COERCION_EXTENSION_ID, EXPOSURE_TYPE

SHARE_DIGITS = 4
"""Shares are shown to 4 decimals (0.01 percentage point), indexes to 1."""


@dataclass(frozen=True)
class Contribution:
    """One object as the reader sees it, and the organization that contributed it."""

    obj: Mapping[str, Any]
    organization: str


@dataclass(frozen=True, slots=True)
class Impact:
    currency: str
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Incident:
    """An economic-coercion incident reduced to what the views count."""

    id: str
    organization: str
    coercing_state: str
    measures: tuple[str, ...]
    sectors: tuple[str, ...]
    start: datetime
    targeted_country: str | None = None
    impact: Impact | None = None

    @property
    def quarter(self) -> str:
        return quarter_of(self.start)


@dataclass(frozen=True, slots=True)
class Exposure:
    """A supply-chain exposure reduced to what the views count."""

    id: str
    organization: str
    category: str
    vendor: str
    vendor_name: str | None
    vendor_country: str
    share: float


def distinct_organizations(organizations: Iterable[str]) -> int:
    """How many distinct organizations at least stand behind these contributors (the
    k rule counts no more). A bare country code is what a node records for what a peer sent
    without telling its author (source protection): some organization of that country,
    perhaps one named beside it, so it adds one only when none of its country is named."""
    named: set[str] = set()
    unnamed: set[str] = set()
    for organization in organizations:
        (named if "." in organization else unnamed).add(organization)
    return len(named) + len(unnamed - {organization.split(".")[0] for organization in named})


def quarter_of(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def parse_timestamp(value: object) -> datetime | None:
    """A STIX timestamp as an aware datetime; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(sorted({item for item in value if isinstance(item, str) and item}))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def incident_of(contribution: Contribution) -> Incident | None:
    """The incident's countable part, or None when it is no coercion incident or the reader
    sees too little of it to place it in a cell."""
    obj = contribution.obj
    extensions = obj.get("extensions")
    if obj.get("type") != "incident" or not isinstance(extensions, Mapping):
        return None
    ext = extensions.get(COERCION_EXTENSION_ID)
    if not isinstance(ext, Mapping):
        return None
    state, start = ext.get("coercing_state"), parse_timestamp(ext.get("start"))
    measures, sectors = _strings(ext.get("measures")), _strings(ext.get("targeted_sectors"))
    if not isinstance(state, str) or not state or start is None or not measures or not sectors:
        return None
    target = ext.get("targeted_country")
    return Incident(
        id=str(obj.get("id")),
        organization=contribution.organization,
        coercing_state=state,
        measures=measures,
        sectors=sectors,
        start=start,
        targeted_country=target if isinstance(target, str) and target else None,
        impact=_impact(ext.get("estimated_impact")),
    )


def _impact(value: object) -> Impact | None:
    if not isinstance(value, Mapping):
        return None
    currency = value.get("currency")
    low, high = _number(value.get("min")), _number(value.get("max"))
    if not isinstance(currency, str) or not currency or low is None or high is None:
        return None
    return Impact(currency, low, high)


def exposure_of(contribution: Contribution) -> Exposure | None:
    """The exposure's countable part, or None when it is no exposure or the reader sees too
    little of it (a share out of range counts for nothing)."""
    obj = contribution.obj
    if obj.get("type") != EXPOSURE_TYPE:
        return None
    category, vendor = obj.get("component_category"), obj.get("vendor_ref")
    country, share = obj.get("vendor_country"), _number(obj.get("share"))
    if not (isinstance(category, str) and category and isinstance(vendor, str) and vendor):
        return None
    if not isinstance(country, str) or not country or share is None or not 0 < share <= 1:
        return None
    name = obj.get("vendor_name")
    return Exposure(
        id=str(obj.get("id")),
        organization=contribution.organization,
        category=category,
        vendor=vendor,
        vendor_name=name if isinstance(name, str) and name else None,
        vendor_country=country,
        share=share,
    )


# --- coercion -----------------------------------------------------------------------------------

CoercionKey = tuple[str, str, str, str]
"""(coercing state, measure, sector, quarter)."""


@dataclass(frozen=True)
class ImpactLine:
    """The summed impact range in one currency; no figures when suppressed."""

    currency: str
    suppressed: bool
    min: float | None = None
    max: float | None = None
    organizations: int | None = None

    def as_json(self) -> dict[str, Any]:
        if self.suppressed:
            return {"currency": self.currency, "suppressed": True}
        return {
            "currency": self.currency,
            "suppressed": False,
            "min": self.min,
            "max": self.max,
            "organizations": self.organizations,
        }


@dataclass(frozen=True)
class CoercionCell:
    coercing_state: str
    measure: str
    sector: str
    quarter: str
    suppressed: bool
    incidents: int | None = None
    targeted_countries: int | None = None
    organizations: int | None = None
    impact: tuple[ImpactLine, ...] = ()

    @property
    def key(self) -> CoercionKey:
        return (self.coercing_state, self.measure, self.sector, self.quarter)

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "coercing_state": self.coercing_state,
            "measure": self.measure,
            "sector": self.sector,
            "quarter": self.quarter,
            "suppressed": self.suppressed,
        }
        if not self.suppressed:
            shown["incidents"] = self.incidents
            shown["targeted_countries"] = self.targeted_countries
            shown["organizations"] = self.organizations
            shown["impact"] = [line.as_json() for line in self.impact]
        return shown


@dataclass(frozen=True)
class CoercionTotal:
    """One coercing state's total over its shown cells and lines (the differencing rule)."""

    coercing_state: str
    incidents: int
    targeted_countries: int
    organizations: int
    impact: tuple[ImpactLine, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "coercing_state": self.coercing_state,
            "incidents": self.incidents,
            "targeted_countries": self.targeted_countries,
            "organizations": self.organizations,
            "impact": [line.as_json() for line in self.impact],
        }


@dataclass(frozen=True)
class CoercionView:
    k: int
    cells: tuple[CoercionCell, ...]
    totals: tuple[CoercionTotal, ...]
    encoding: bytes | None = field(default=None, compare=False, repr=False)
    """`as_json` as JSON when the tally that made the view had it (from each cell's)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "cells": [cell.as_json() for cell in self.cells],
            "totals": [total.as_json() for total in self.totals],
        }

    @cached_property
    def encoded(self) -> bytes:
        """`as_json` as JSON, made once: a kept view is answered many times."""
        return self.encoding if self.encoding is not None else orjson.dumps(self.as_json())


def coercion_view(contributions: Iterable[Contribution], k: int) -> CoercionView:
    """Every coercion cell of what the reader sees, shown or suppressed (module docstring)."""
    return coercion_view_of(filter(None, map(incident_of, contributions)), k)


def coercion_view_of(incidents: Iterable[Incident], k: int) -> CoercionView:
    """The coercion view of incidents already reduced by `incident_of` (which a caller may
    keep between views: an object's reduction is the same each time it is seen the same)."""
    tally = CoercionTally(k)
    for incident in incidents:
        tally.add(incident)
    return tally.view()


def cells_of(incident: Incident) -> list[CoercionKey]:
    state, quarter = incident.coercing_state, incident.quarter
    return [(state, m, s, quarter) for m in incident.measures for s in incident.sectors]


@dataclass
class _StateTotal:
    """What a coercing state's total counts, kept as cells turn shown or suppressed: how
    many shown cells hold each incident, and per currency how many shown lines price it."""

    shown: Counter[str] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)
    organizations: Counter[str] = field(default_factory=Counter)
    priced: dict[str, _PricedTotal] = field(default_factory=dict)


@dataclass
class _PricedTotal:
    """A state's total in one currency: how many shown lines price each incident, and the
    sums of their ranges kept exactly (as multiples of the smallest float), so the total
    is the correctly rounded sum `math.fsum` gives, however the incidents came and went."""

    incidents: Counter[str] = field(default_factory=Counter)
    organizations: Counter[str] = field(default_factory=Counter)
    low: int = 0
    high: int = 0

    def shift(self, incident: Incident, impact: Impact, step: int) -> None:
        if _shift(self.incidents, incident.id, step):
            _shift(self.organizations, incident.organization, step)
            self.low += step * _exact(impact.low)
            self.high += step * _exact(impact.high)

    def line(self, currency: str) -> ImpactLine:
        return ImpactLine(
            currency,
            suppressed=False,
            min=float(Fraction(self.low, _EXACT_SCALE)),
            max=float(Fraction(self.high, _EXACT_SCALE)),
            organizations=distinct_organizations(self.organizations),
        )


_EXACT_SCALE = 2**1074
"""Every finite float is an integer multiple of 2**-1074."""


def _exact(value: float) -> int:
    numerator, denominator = value.as_integer_ratio()
    return numerator * (_EXACT_SCALE // denominator)


class CoercionTally:
    """The coercion view kept as incidents come and go (a new version is the old one
    removed and the new one added). A change marks the cells it touches; `view` computes
    those again and the totals of their states, and reuses every other cell as computed
    and encoded before, so a view over 100,000 incidents follows one change in
    milliseconds. The view is the same as one computed afresh from the same incidents."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._cells: dict[CoercionKey, dict[str, Incident]] = {}
        self._computed: dict[CoercionKey, tuple[CoercionCell, bytes]] = {}
        self._order: list[CoercionKey] = []
        self._dirty: set[CoercionKey] = set()
        self._incidents: dict[str, Incident] = {}
        self._states: dict[str, _StateTotal] = {}
        self._totals: dict[str, tuple[CoercionTotal, bytes]] = {}
        self._view: CoercionView | None = None

    def add(self, incident: Incident) -> None:
        self._incidents[incident.id] = incident
        for key in cells_of(incident):
            self._touch(key)
            held = self._cells.get(key)
            if held is None:
                held = self._cells[key] = {}
                bisect.insort(self._order, key)
            held[incident.id] = incident

    def remove(self, incident: Incident) -> None:
        """Take away the incident as it was added."""
        self._incidents.pop(incident.id, None)
        for key in cells_of(incident):
            self._touch(key)
            self._cells[key].pop(incident.id, None)

    def view(self) -> CoercionView:
        if self._view is not None and not self._dirty:
            return self._view
        states: set[str] = set()
        for key in self._dirty:
            states.add(key[0])
            held = self._cells.get(key)
            if not held:
                self._cells.pop(key, None)
                del self._order[bisect.bisect_left(self._order, key)]
                continue
            cell = _coercion_cell(key, held.values(), self.k)
            self._computed[key] = (cell, orjson.dumps(cell.as_json()))
            self._count(cell, held.values(), 1)
        self._dirty.clear()
        for state in states:
            self._total(state)
        cells = [self._computed[key] for key in self._order]
        totals = [self._totals[state] for state in sorted(self._totals)]
        encoding = b"".join(
            (
                b'{"k":%d,"cells":[' % self.k,
                b",".join(encoded for _, encoded in cells),
                b'],"totals":[',
                b",".join(encoded for _, encoded in totals),
                b"]}",
            )
        )
        self._view = CoercionView(
            self.k, tuple(cell for cell, _ in cells), tuple(t for t, _ in totals), encoding
        )
        return self._view

    def _touch(self, key: CoercionKey) -> None:
        """Before a cell first changes: take what it counted in its state's total away."""
        if key in self._dirty:
            return
        self._dirty.add(key)
        computed = self._computed.pop(key, None)
        if computed is not None:
            self._count(computed[0], self._cells[key].values(), -1)

    def _count(self, cell: CoercionCell, incidents: Iterable[Incident], step: int) -> None:
        """Add (or with ``step`` -1 take away) a shown cell's part in its state's total."""
        if cell.suppressed:
            return
        total = self._states.setdefault(cell.coercing_state, _StateTotal())
        currencies = {line.currency for line in cell.impact if not line.suppressed}
        for incident in incidents:
            if _shift(total.shown, incident.id, step):
                _shift(total.organizations, incident.organization, step)
                if incident.targeted_country is not None:
                    _shift(total.targets, incident.targeted_country, step)
            if incident.impact is not None and incident.impact.currency in currencies:
                priced = total.priced.setdefault(incident.impact.currency, _PricedTotal())
                priced.shift(incident, incident.impact, step)

    def _total(self, state: str) -> None:
        total = self._states.get(state)
        if total is None or not total.shown:
            self._states.pop(state, None)
            self._totals.pop(state, None)
            return
        found_total = CoercionTotal(
            state,
            incidents=len(total.shown),
            targeted_countries=len(total.targets),
            organizations=distinct_organizations(total.organizations),
            impact=tuple(
                total.priced[c].line(c) for c in sorted(total.priced) if total.priced[c].incidents
            ),
        )
        self._totals[state] = (found_total, orjson.dumps(found_total.as_json()))


def _shift(counter: Counter[str], key: str, step: int) -> bool:
    """Move the key's count by ``step`` (1 or -1); whether it came in or went out."""
    after = counter[key] + step
    if after:
        counter[key] = after
    else:
        del counter[key]
    return after in (0, step)


def _coercion_cell(key: CoercionKey, incidents: Collection[Incident], k: int) -> CoercionCell:
    organizations = distinct_organizations(incident.organization for incident in incidents)
    if organizations < k:
        return CoercionCell(*key, suppressed=True)
    return CoercionCell(
        *key,
        suppressed=False,
        incidents=len(incidents),
        targeted_countries=len(_targets(incidents)),
        organizations=organizations,
        impact=_impact_lines(incidents, k),
    )


def _targets(incidents: Iterable[Incident]) -> set[str]:
    return {i.targeted_country for i in incidents if i.targeted_country is not None}


def _impact_lines(incidents: Iterable[Incident], k: int) -> tuple[ImpactLine, ...]:
    by_currency: dict[str, list[Incident]] = {}
    for incident in incidents:
        if incident.impact is not None:
            by_currency.setdefault(incident.impact.currency, []).append(incident)
    return tuple(
        _impact_sum(currency, priced)
        if distinct_organizations(i.organization for i in priced) >= k
        else ImpactLine(currency, suppressed=True)
        for currency, priced in sorted(by_currency.items())
    )


def _impact_sum(currency: str, incidents: Iterable[Incident]) -> ImpactLine:
    priced = [i.impact for i in incidents if i.impact is not None]
    return ImpactLine(
        currency,
        suppressed=False,
        min=math.fsum(impact.low for impact in priced),
        max=math.fsum(impact.high for impact in priced),
        organizations=distinct_organizations(i.organization for i in incidents),
    )


# --- supply chain -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareLine:
    """One vendor's (``key`` its identity id) or one vendor country's line in a category."""

    key: str
    suppressed: bool
    share: float | None = None
    members: int | None = None
    name: str | None = None

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"key": self.key, "suppressed": self.suppressed}
        if self.name is not None:
            shown["name"] = self.name
        if not self.suppressed:
            shown["share"] = self.share
            shown["members"] = self.members
        return shown


@dataclass(frozen=True)
class CategoryCell:
    category: str
    suppressed: bool
    members: int | None = None
    vendors: tuple[ShareLine, ...] = ()
    countries: tuple[ShareLine, ...] = ()
    vendor_hhi: float | None = None
    country_hhi: float | None = None

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"category": self.category, "suppressed": self.suppressed}
        if not self.suppressed:
            shown.update(
                members=self.members,
                vendor_hhi=self.vendor_hhi,
                country_hhi=self.country_hhi,
                vendors=[line.as_json() for line in self.vendors],
                countries=[line.as_json() for line in self.countries],
            )
        return shown


@dataclass(frozen=True)
class SupplyChainView:
    k: int
    categories: tuple[CategoryCell, ...]
    encoding: bytes | None = field(default=None, compare=False, repr=False)
    """`as_json` as JSON when the tally that made the view had it (from each category's)."""

    def as_json(self) -> dict[str, Any]:
        return {"k": self.k, "categories": [cell.as_json() for cell in self.categories]}

    @cached_property
    def encoded(self) -> bytes:
        """`as_json` as JSON, made once: a kept view is answered many times."""
        return self.encoding if self.encoding is not None else orjson.dumps(self.as_json())


@dataclass
class _Line:
    """A line's contributions before the k rule: each member's capped share."""

    shares: dict[str, list[float]] = field(default_factory=dict)
    name: str | None = None

    @property
    def members(self) -> int:
        return distinct_organizations(self.shares)

    def share(self, members: int) -> float:
        return math.fsum(s for shares in self.shares.values() for s in shares) / members


def supply_chain_view(contributions: Iterable[Contribution], k: int) -> SupplyChainView:
    """Every category of what the reader sees, shown or suppressed (module docstring)."""
    return supply_chain_view_of(filter(None, map(exposure_of, contributions)), k)


def supply_chain_view_of(exposures: Iterable[Exposure], k: int) -> SupplyChainView:
    """The supply-chain view of exposures already reduced by `exposure_of`."""
    tally = SupplyChainTally(k)
    for exposure in exposures:
        tally.add(exposure)
    return tally.view()


class SupplyChainTally:
    """The supply-chain view kept as exposures come and go, like `CoercionTally`: a change
    computes its category again, and every other category is reused as computed."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._categories: dict[str, dict[str, dict[str, Exposure]]] = {}
        self._computed: dict[str, tuple[CategoryCell, bytes]] = {}
        self._dirty: set[str] = set()
        self._view: SupplyChainView | None = None

    def add(self, exposure: Exposure) -> None:
        members = self._categories.setdefault(exposure.category, {})
        members.setdefault(exposure.organization, {})[exposure.id] = exposure
        self._dirty.add(exposure.category)

    def remove(self, exposure: Exposure) -> None:
        """Take away the exposure as it was added."""
        members = self._categories[exposure.category]
        held = members[exposure.organization]
        held.pop(exposure.id, None)
        if not held:
            del members[exposure.organization]
        if not members:
            del self._categories[exposure.category]
        self._dirty.add(exposure.category)

    def view(self) -> SupplyChainView:
        if self._view is not None and not self._dirty:
            return self._view
        for name in self._dirty:
            members = self._categories.get(name)
            if members is None:
                self._computed.pop(name, None)
                continue
            cell = _category(name, {m: list(e.values()) for m, e in members.items()}, self.k)
            self._computed[name] = (cell, orjson.dumps(cell.as_json()))
        self._dirty.clear()
        found = [self._computed[name] for name in sorted(self._computed)]
        encoding = b"".join(
            (
                b'{"k":%d,"categories":[' % self.k,
                b",".join(encoded for _, encoded in found),
                b"]}",
            )
        )
        self._view = SupplyChainView(self.k, tuple(cell for cell, _ in found), encoding)
        return self._view


def _category(name: str, members: Mapping[str, Sequence[Exposure]], k: int) -> CategoryCell:
    if distinct_organizations(members) < k:
        return CategoryCell(name, suppressed=True)
    vendors: dict[str, _Line] = {}
    countries: dict[str, _Line] = {}
    for member, exposures in members.items():
        total = math.fsum(e.share for e in exposures)
        scale = 1 / total if total > 1 else 1.0
        for exposure in exposures:
            line = vendors.setdefault(exposure.vendor, _Line())
            line.shares.setdefault(member, []).append(exposure.share * scale)
            line.name = line.name or exposure.vendor_name
            by_country = countries.setdefault(exposure.vendor_country, _Line())
            by_country.shares.setdefault(member, []).append(exposure.share * scale)
    vendor_lines = _shown_lines(vendors, len(members), k)
    country_lines = _shown_lines(countries, len(members), k)
    return CategoryCell(
        name,
        suppressed=False,
        members=distinct_organizations(members),
        vendors=vendor_lines,
        countries=country_lines,
        vendor_hhi=hhi(vendor_lines),
        country_hhi=hhi(country_lines),
    )


def _shown_lines(lines: Mapping[str, _Line], members: int, k: int) -> tuple[ShareLine, ...]:
    """The lines past the k rule and complementary suppression (module docstring, rule 3)."""
    suppressed = {key for key, line in lines.items() if line.members < k}
    behind = {m for key in suppressed for m in lines[key].shares}
    candidates = sorted(
        (key for key in lines if key not in suppressed),
        key=lambda key: (lines[key].members, key),
    )
    for key in candidates:
        if not suppressed or distinct_organizations(behind) >= k:
            break
        suppressed.add(key)
        behind.update(lines[key].shares)
    return tuple(
        ShareLine(key, suppressed=True, name=lines[key].name)
        if key in suppressed
        else ShareLine(
            key,
            suppressed=False,
            share=round(lines[key].share(members), SHARE_DIGITS),
            members=lines[key].members,
            name=lines[key].name,
        )
        for key in sorted(lines)
    )


def hhi(lines: Iterable[ShareLine]) -> float:
    """The Herfindahl-Hirschman index of the shown lines' shares, in percent squared."""
    return round(math.fsum((line.share * 100) ** 2 for line in lines if line.share is not None), 1)
