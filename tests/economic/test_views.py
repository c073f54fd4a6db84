"""Properties of the cross-member views, against a model written from the rules: for random
incidents, exposures, contributors, readers and k, every shown cell has at least k distinct
contributing organizations, the shown figures are the model's over what the reader sees, and
no allowed query (every view, every reader) reveals one contributor's figure: records that
sit only in suppressed cells or lines move no shown figure, and taking a contributor away
moves figures only in the cells it contributed to."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allyshare.economic.views import (
    COERCION_EXTENSION_ID,
    EXPOSURE_TYPE,
    CoercionView,
    Contribution,
    SupplyChainView,
    coercion_view,
    supply_chain_view,
)

ORGANIZATIONS = ["KOR.A", "KOR.B", "USA.C", "JPN.D", "AUS.E"]
READERS = 3
QUARTERS = {"2023-Q1": "2023-02-10T00:00:00Z", "2023-Q3": "2023-08-01T12:00:00.5Z"}
FIELDS = ("coercing_state", "measures", "targeted_sectors", "start", "targeted_country")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Reported:
    """An incident as the model sees it; ``hidden`` fields are withheld from everyone but
    its own reader set (they are absent from what the views are given)."""

    id: str
    organization: str
    state: str
    measures: frozenset[str]
    sectors: frozenset[str]
    quarter: str
    target: str
    impact: tuple[str, int, int] | None
    hidden: frozenset[str]
    readers: frozenset[int]

    def stix(self) -> dict[str, Any]:
        ext: dict[str, Any] = {
            "extension_type": "property-extension",
            "coercing_state": self.state,
            "targeted_country": self.target,
            "targeted_sectors": sorted(self.sectors),
            "measures": sorted(self.measures),
            "start": QUARTERS[self.quarter],
        }
        if self.impact is not None:
            currency, low, high = self.impact
            ext["estimated_impact"] = {"currency": currency, "min": low, "max": high, "basis": "-"}
        for name in self.hidden:
            ext.pop(name, None)
        return {
            "type": "incident",
            "spec_version": "2.1",
            "id": self.id,
            "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "name": "coercion",
            "extensions": {COERCION_EXTENSION_ID: ext},
        }

    @property
    def placed(self) -> bool:
        return not self.hidden & {"coercing_state", "measures", "targeted_sectors", "start"}

    @property
    def cells(self) -> set[tuple[str, str, str, str]]:
        if not self.placed:
            return set()
        return {(self.state, m, s, self.quarter) for m in self.measures for s in self.sectors}

    @property
    def priced(self) -> tuple[str, int, int] | None:
        return None if "estimated_impact" in self.hidden else self.impact


@dataclass(frozen=True)
class Exposed:
    id: str
    organization: str
    category: str
    vendor: str
    country: str
    share: float
    readers: frozenset[int]

    def stix(self) -> dict[str, Any]:
        return {
            "type": EXPOSURE_TYPE,
            "spec_version": "2.1",
            "id": self.id,
            "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "extensions": {
                "extension-definition--2e02809a-e765-4622-bb00-ef0820e424ed": {
                    "extension_type": "new-sdo"
                }
            },
            "component_category": self.category,
            "vendor_ref": self.vendor,
            "vendor_name": self.vendor.split("--")[1],
            "vendor_country": self.country,
            "share": self.share,
            "criticality": "high",
        }


readers = st.frozensets(st.integers(0, READERS - 1), min_size=1)
reported = st.builds(
    Reported,
    id=st.just(""),
    organization=st.sampled_from(ORGANIZATIONS),
    state=st.sampled_from(["CHN", "RUS"]),
    measures=st.frozensets(st.sampled_from(["tariff", "boycott", "import-ban"]), min_size=1),
    sectors=st.frozensets(st.sampled_from(["tourism", "batteries"]), min_size=1),
    quarter=st.sampled_from(sorted(QUARTERS)),
    target=st.sampled_from(["KOR", "JPN", "AUS"]),
    impact=st.none()
    | st.tuples(st.sampled_from(["USD", "KRW"]), st.integers(0, 100), st.integers(0, 100)).map(
        lambda t: (t[0], min(t[1], t[2]), max(t[1], t[2]))
    ),
    hidden=st.frozensets(st.sampled_from([*FIELDS, "estimated_impact"]), max_size=2)
    | st.just(frozenset()),
    readers=readers,
)
incidents = st.lists(reported, max_size=25).map(
    lambda found: [
        replace(r, id=f"incident--{i:08d}-0000-4000-8000-000000000000") for i, r in enumerate(found)
    ]
)
exposed = st.builds(
    Exposed,
    id=st.just(""),
    organization=st.sampled_from(ORGANIZATIONS),
    category=st.sampled_from(["5g-ran", "photoresists"]),
    vendor=st.sampled_from(["identity--v-alpha", "identity--v-beta", "identity--v-gamma"]),
    country=st.sampled_from(["CHN", "SWE", "FIN"]),
    share=st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0]),
    readers=readers,
)
exposures = st.lists(exposed, max_size=25).map(
    lambda found: [replace(e, id=f"{EXPOSURE_TYPE}--{i:08d}") for i, e in enumerate(found)]
)
ks = st.integers(1, 4)


def coerce(records: Iterable[Reported], reader: int, k: int) -> CoercionView:
    return coercion_view(
        [Contribution(r.stix(), r.organization) for r in records if reader in r.readers], k
    )


def supply(records: Iterable[Exposed], reader: int, k: int) -> SupplyChainView:
    return supply_chain_view(
        [Contribution(e.stix(), e.organization) for e in records if reader in e.readers], k
    )


# --- the model ----------------------------------------------------------------------------------


def model_coercion(records: list[Reported], k: int) -> dict[str, Any]:
    """The coercion view from the rules: per cell the records in it, shown with k."""
    cells: dict[tuple[str, str, str, str], list[Reported]] = {}
    for record in records:
        for cell in record.cells:
            cells.setdefault(cell, []).append(record)
    shown: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    suppressed = set()
    for cell, inside in cells.items():
        if len({r.organization for r in inside}) < k:
            suppressed.add(cell)
            continue
        impact: dict[str, Any] = {}
        for currency in {r.priced[0] for r in inside if r.priced}:
            priced = [r for r in inside if r.priced and r.priced[0] == currency]
            if len({r.organization for r in priced}) < k:
                impact[currency] = None
            else:
                impact[currency] = (
                    sum(r.priced[1] for r in priced if r.priced),
                    sum(r.priced[2] for r in priced if r.priced),
                    len({r.organization for r in priced}),
                )
        shown[cell] = {
            "incidents": len(inside),
            "targeted_countries": len(
                {r.target for r in inside if "targeted_country" not in r.hidden}
            ),
            "organizations": len({r.organization for r in inside}),
            "impact": impact,
        }
    totals: dict[str, Any] = {}
    for state in {cell[0] for cell in shown}:
        inside = {r.id: r for cell in shown if cell[0] == state for r in cells[cell]}
        priced: dict[str, dict[str, Reported]] = {}
        for cell in shown:
            if cell[0] != state:
                continue
            for currency, line in shown[cell]["impact"].items():
                if line is not None:
                    priced.setdefault(currency, {}).update(
                        (r.id, r) for r in cells[cell] if r.priced and r.priced[0] == currency
                    )
        totals[state] = {
            "incidents": len(inside),
            "targeted_countries": len(
                {r.target for r in inside.values() if "targeted_country" not in r.hidden}
            ),
            "organizations": len({r.organization for r in inside.values()}),
            "impact": {
                currency: (
                    sum(r.priced[1] for r in found.values() if r.priced),
                    sum(r.priced[2] for r in found.values() if r.priced),
                    len({r.organization for r in found.values()}),
                )
                for currency, found in priced.items()
            },
        }
    return {"shown": shown, "suppressed": suppressed, "totals": totals}


def as_model(view: CoercionView) -> dict[str, Any]:
    """The view in the model's terms."""
    shown = {}
    for cell in view.cells:
        if cell.suppressed:
            assert cell.incidents is None and cell.organizations is None and not cell.impact
            continue
        shown[cell.key] = {
            "incidents": cell.incidents,
            "targeted_countries": cell.targeted_countries,
            "organizations": cell.organizations,
            "impact": {
                line.currency: None if line.suppressed else (line.min, line.max, line.organizations)
                for line in cell.impact
            },
        }
    totals = {
        total.coercing_state: {
            "incidents": total.incidents,
            "targeted_countries": total.targeted_countries,
            "organizations": total.organizations,
            "impact": {
                line.currency: (line.min, line.max, line.organizations) for line in total.impact
            },
        }
        for total in view.totals
    }
    suppressed = {cell.key for cell in view.cells if cell.suppressed}
    return {"shown": shown, "suppressed": suppressed, "totals": totals}


@given(incidents, ks)
@SETTINGS
def test_coercion_cells_are_the_models_and_each_shown_one_has_k_organizations(
    records: list[Reported], k: int
) -> None:
    for reader in range(READERS):
        visible = [r for r in records if reader in r.readers]
        view = coerce(records, reader, k)
        assert as_model(view) == model_coercion(visible, k)
        for cell in view.cells:
            behind = {r.organization for r in visible if cell.key in r.cells}
            assert cell.suppressed == (len(behind) < k)
            assert cell.suppressed or (cell.organizations or 0) >= k


@given(incidents, ks)
@SETTINGS
def test_records_only_in_suppressed_cells_move_no_shown_figure(
    records: list[Reported], k: int
) -> None:
    """The differencing test: for every suppressed cell and each organization behind it,
    the view with and without that organization's records that lie only in suppressed
    cells shows the same cells and totals, so nothing shown determines the suppressed one;
    and taking all its records away changes only cells (and states' totals) it was in."""
    for reader in range(READERS):
        visible = [r for r in records if reader in r.readers]
        view = coerce(visible, reader, k)
        before = as_model(view)
        for cell in before["suppressed"]:
            for organization in {r.organization for r in visible if cell in r.cells}:
                hidden_only = [
                    r
                    for r in visible
                    if r.organization == organization and r.cells <= before["suppressed"]
                ]
                after = as_model(coerce([r for r in visible if r not in hidden_only], reader, k))
                assert after["shown"] == before["shown"]
                assert after["totals"] == before["totals"]
        for organization in {r.organization for r in visible}:
            own = [r for r in visible if r.organization == organization]
            after = as_model(coerce([r for r in visible if r not in own], reader, k))
            touched = set().union(*(r.cells for r in own))
            for key in before["shown"].keys() | after["shown"].keys():
                if before["shown"].get(key) != after["shown"].get(key):
                    assert key in touched
            for state in before["totals"].keys() | after["totals"].keys():
                if before["totals"].get(state) != after["totals"].get(state):
                    assert any(c[0] == state and c in before["shown"] for c in touched)


# --- supply chain -------------------------------------------------------------------------------


def model_lines(
    records: list[Exposed], members: int, attribute: str
) -> dict[str, tuple[float, int]]:
    """Per vendor (or vendor country), the capped shares' sum over the members, and members."""
    totals: dict[str, float] = {}
    for record in records:
        totals[record.organization] = totals.get(record.organization, 0.0) + record.share
    lines: dict[str, list[tuple[str, float]]] = {}
    for record in records:
        total = totals[record.organization]
        capped = record.share / total if total > 1 else record.share
        lines.setdefault(getattr(record, attribute), []).append((record.organization, capped))
    return {
        key: (math.fsum(s for _, s in found) / members, len({o for o, _ in found}))
        for key, found in lines.items()
    }


@given(exposures, ks)
@SETTINGS
def test_supply_chain_lines_are_the_models_and_complements_hide_k_organizations(
    records: list[Exposed], k: int
) -> None:
    for reader in range(READERS):
        visible = [e for e in records if reader in e.readers]
        view = supply(records, reader, k)
        assert [c.category for c in view.categories] == sorted({e.category for e in visible})
        for cell in view.categories:
            inside = [e for e in visible if e.category == cell.category]
            members = len({e.organization for e in inside})
            assert cell.suppressed == (members < k)
            if cell.suppressed:
                assert cell.members is None and not cell.vendors and not cell.countries
                continue
            assert cell.members == members
            for lines, attribute, index in (
                (cell.vendors, "vendor", cell.vendor_hhi),
                (cell.countries, "country", cell.country_hhi),
            ):
                model = model_lines(inside, members, attribute)
                assert [line.key for line in lines] == sorted(model)
                for line in lines:
                    share, behind = model[line.key]
                    if behind < k:
                        assert line.suppressed
                    if not line.suppressed:
                        assert behind >= k and line.members == behind
                        assert line.share == round(share, 4)
                    else:
                        assert line.share is None and line.members is None
                hidden = {
                    e.organization
                    for e in inside
                    if any(line.suppressed and line.key == getattr(e, attribute) for line in lines)
                }
                assert not hidden or len(hidden) >= k or all(line.suppressed for line in lines)
                assert index == round(
                    math.fsum((line.share * 100) ** 2 for line in lines if line.share is not None),
                    1,
                )


@given(exposures, ks, st.sampled_from([0.5, 0.25]))
@SETTINGS
def test_shares_in_suppressed_lines_move_no_shown_figure(
    records: list[Exposed], k: int, factor: float
) -> None:
    """The differencing test for the supply chain: a member's share in a line that is
    suppressed (as a vendor and as a country), changed while its shares still sum to at most
    1, changes nothing shown; so no shown line, index or complement determines it."""
    for reader in range(READERS):
        visible = [e for e in records if reader in e.readers]
        view = supply(visible, reader, k)
        for cell in view.categories:
            if cell.suppressed:
                continue
            hidden_vendors = {line.key for line in cell.vendors if line.suppressed}
            hidden_countries = {line.key for line in cell.countries if line.suppressed}
            for record in visible:
                if (
                    record.category != cell.category
                    or record.vendor not in hidden_vendors
                    or record.country not in hidden_countries
                ):
                    continue
                own = sum(
                    e.share
                    for e in visible
                    if e.organization == record.organization and e.category == cell.category
                )
                if own > 1:
                    continue
                changed = [
                    replace(e, share=e.share * factor) if e == record else e for e in visible
                ]
                assert supply(changed, reader, k) == view
        for organization in {e.organization for e in visible}:
            without = supply([e for e in visible if e.organization != organization], reader, k)
            touched = {e.category for e in visible if e.organization == organization}
            before = {c.category: c for c in view.categories}
            for cell in without.categories:
                if cell.category not in touched:
                    assert before[cell.category] == cell


def test_what_a_peer_sent_unattributed_counts_only_when_none_of_its_country_is_named() -> None:
    """What a peer sent unattributed is recorded as from its country ("USA"): it may be from
    USA.C, so beside USA.C it adds no organization, and k is not reached on its strength."""

    def shown(organizations: list[str]) -> dict[str, Any]:
        contributions = [
            Contribution(
                Reported(
                    id=f"incident--{uuid.UUID(int=number)}",
                    organization=organization,
                    state="CHN",
                    measures=frozenset({"boycott"}),
                    sectors=frozenset({"tourism"}),
                    quarter="2023-Q1",
                    target="KOR",
                    impact=None,
                    hidden=frozenset(),
                    readers=frozenset({0}),
                ).stix(),
                organization,
            )
            for number, organization in enumerate(organizations)
        ]
        [cell] = coercion_view(contributions, 3).as_json()["cells"]
        return cell

    assert shown(["USA.C", "USA", "KOR.A"])["suppressed"] is True
    assert shown(["USA.C", "KOR", "KOR.A"])["suppressed"] is True
    assert shown(["USA.C", "JPN", "KOR.A"])["organizations"] == 3
    assert shown(["USA", "JPN", "KOR"])["organizations"] == 3

    def members(organizations: list[str]) -> dict[str, Any]:
        exposures = [
            Contribution(
                Exposed(
                    f"{EXPOSURE_TYPE}--{uuid.UUID(int=number)}",
                    organization,
                    "5g-ran",
                    "identity--a",
                    "SWE",
                    0.5,
                    frozenset({0}),
                ).stix(),
                organization,
            )
            for number, organization in enumerate(organizations)
        ]
        [category] = supply_chain_view(exposures, 3).as_json()["categories"]
        return category

    assert members(["USA.C", "USA", "KOR.A"])["suppressed"] is True
    assert members(["USA.C", "JPN", "KOR.A"])["members"] == 3
