"""The demo's economic-coercion incidents and supply-chain exposures, for the cross-member
views (`allyshare.economic.views`) to have something to show.

The incidents restate the public record: real coercing states, measures, dates, stated
pretexts and believed triggers, with impact ranges from press estimates (rounded, and
labelled so in their basis). What a member company adds of its own (Hanbit's, Cascade's
losses) is as fictional as the company. The exposures name real equipment and material
vendors, but the members' shares are fictional.

The data is laid out so that each view shows what it is for, under the demo agreement's
``aggregate_k`` of 3:

- on the USA node, three members record China's April 2025 rare-earth export licensing (one
  cell of three organizations), and China's export restrictions against the United States
  (December 2024 to October 2025) and against a Korean shipbuilder's US subsidiaries (October
  2025) make one pattern alert: one state, one measure, both parties within 12 months;
- on the KOR node, three members record the 2017 tourism measures after the THAAD decision
  and three Japan's 2019 export controls on semiconductor materials (two shown cells). The
  USA node answers for the Korean members itself (they have users there), so it takes these
  records from its peer as KOR's, one contributor: there the cells stay suppressed;
- everything else, the 2010 rare-earth halt against Japan, the 2020 tariffs against
  Australia or Lithuania's customs delisting in 2021, is one member's record in its cell,
  which stays suppressed;
- three carriers report their 5G radio access network by vendor (a concentration index over
  the two vendors all three use; the vendors fewer than three use stay suppressed), and two
  chip makers their lithography and photoresist sources (a category of two members, which
  stays suppressed);
- one incident is C//NOFORN (a US-only impact estimate): Korean readers' views leave it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from allyshare.demo.content import TLP_AMBER, TLP_CLEAR, TLP_GREEN
from allyshare.demo.marked import (
    CASCADE,
    COMMERCE,
    HANBIT,
    HANGANG,
    KOTRA,
    KTO,
    MOTIE,
    NOFORN_C,
    PACIFIC_CREST,
    PRAIRIE_LINK,
    REL_U,
    USTR,
    Member,
    Written,
    sdo,
    stix_id,
)
from allyshare.economic import COERCION_EXTENSION_ID, EXPOSURE_EXTENSION_ID, EXPOSURE_TYPE

__all__ = [
    "ALERT_WRITER",
    "PRESS",
    "coercion_incidents",
    "partner_coercion_incidents",
    "partner_exposures",
    "supply_chain_exposures",
]

PRESS: Final = "press estimates, rounded (demo)"
ALERT_WRITER: Final = "analyst"
"""The demo user who writes the pattern alerts on the USA node at set-up (Commerce)."""

_RECORDED = "2026-01-12T09:00:00"
_THAAD = (
    "The decision of the Republic of Korea and the United States, announced on 8 July 2016, to "
    "deploy THAAD missile defence in Korea, and Lotte's land swap for the site (February 2017)"
)
_US_CHIP_CONTROLS = "US export controls on advanced semiconductors and chip-making equipment"


def _incident(
    key: str,
    author: Member,
    markings: Sequence[str],
    *,
    name: str,
    description: str,
    state: str,
    target: str,
    measures: Sequence[str],
    sectors: Sequence[str],
    start: str,
    pretext: str,
    trigger: str,
    end: str | None = None,
    impact: tuple[str, float, float, str] | None = None,
    source: str | None = None,
) -> Written:
    """One coercion incident as its member records it; ``start``/``end`` are dates."""
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "coercing_state": state,
        "targeted_country": target,
        "targeted_sectors": list(sectors),
        "measures": list(measures),
        "stated_pretext": pretext,
        "believed_trigger": {"description": trigger},
        "start": f"{start}T00:00:00Z",
    }
    if end is not None:
        extension["end"] = f"{end}T00:00:00Z"
    if impact is not None:
        currency, low, high, basis = impact
        extension["estimated_impact"] = {
            "currency": currency,
            "min": low,
            "max": high,
            "basis": basis,
        }
    extra: dict[str, Any] = {}
    if source is not None:
        extra["external_references"] = [{"source_name": "public record", "description": source}]
    return sdo(
        "incident",
        key,
        author,
        _RECORDED,
        markings,
        name=name,
        description=description,
        extensions={COERCION_EXTENSION_ID: extension},
        **extra,
    )


def coercion_incidents() -> list[Written]:
    """What members record on the USA node."""
    return [
        _incident(
            "rare-earths-japan-2010",
            COMMERCE,
            [TLP_GREEN],
            name="Rare-earth shipments to Japan halted",
            description=(
                "Chinese customs held rare-earth exports to Japan for about two months; "
                "China denied any embargo and pointed to export quotas and environmental "
                "protection."
            ),
            state="CHN",
            target="JPN",
            measures=["export-restriction", "customs-inspection"],
            sectors=["rare-earths"],
            start="2010-09-21",
            end="2010-11-19",
            pretext="customs procedures; export quotas to protect the environment",
            trigger=(
                "Japan's detention of a Chinese trawler captain after the collision near the "
                "Senkaku Islands on 7 September 2010"
            ),
            source="Press reports of September to November 2010",
        ),
        _incident(
            "barley-2020",
            COMMERCE,
            [TLP_GREEN, REL_U],
            name="Anti-dumping and countervailing duties on Australian barley",
            description="Duties of 80.5% on barley from Australia, in force for three years.",
            state="CHN",
            target="AUS",
            measures=["tariff"],
            sectors=["agriculture"],
            start="2020-05-18",
            end="2023-08-05",
            pretext="dumping and subsidies",
            trigger=(
                "Australia's call of 19 April 2020 for an independent inquiry into the "
                "origins of COVID-19"
            ),
            impact=("AUD", 500_000_000, 1_500_000_000, f"{PRESS}: exports a year at risk"),
            source="MOFCOM ruling of 18 May 2020",
        ),
        _incident(
            "wine-2020",
            USTR,
            [TLP_GREEN, REL_U],
            name="Anti-dumping deposits on Australian wine",
            description="Provisional deposits of 107-212% on bottled wine from Australia.",
            state="CHN",
            target="AUS",
            measures=["tariff"],
            sectors=["agriculture"],
            start="2020-11-27",
            end="2024-03-29",
            pretext="dumping",
            trigger=(
                "Australia's call of 19 April 2020 for an independent inquiry into the "
                "origins of COVID-19"
            ),
            impact=("AUD", 1_000_000_000, 1_200_000_000, f"{PRESS}: exports a year at risk"),
            source="MOFCOM preliminary ruling of 27 November 2020",
        ),
        _incident(
            "lithuania-2021",
            USTR,
            [TLP_GREEN, REL_U],
            name="Lithuania removed from Chinese customs systems",
            description=(
                "Lithuania disappeared as a country of origin from Chinese customs "
                "declarations; multinationals were pressed to drop Lithuanian components."
            ),
            state="CHN",
            target="LTU",
            measures=["customs-inspection", "informal-pressure"],
            sectors=["agriculture", "automotive"],
            start="2021-12-01",
            pretext="technical problems with the customs system",
            trigger=(
                "The opening of the Taiwanese Representative Office in Vilnius on 18 November 2021"
            ),
        ),
        _incident(
            "micron-2023",
            COMMERCE,
            [TLP_AMBER, NOFORN_C],
            name="Cybersecurity review of Micron products",
            description=(
                "The Cyberspace Administration of China reviewed Micron's products and told "
                "operators of critical information infrastructure to stop buying them. The "
                "impact range comes from US-only consultations with the company."
            ),
            state="CHN",
            target="USA",
            measures=["regulatory-investigation", "import-ban"],
            sectors=["semiconductors"],
            start="2023-03-31",
            pretext="serious network security risks",
            trigger=_US_CHIP_CONTROLS + " of October 2022",
            impact=("USD", 600_000_000, 1_200_000_000, "US-only consultations (demo figures)"),
            source="CAC statements of 31 March and 21 May 2023",
        ),
        _incident(
            "gallium-germanium-2024",
            COMMERCE,
            [TLP_GREEN],
            name="Ban on gallium, germanium and antimony exports to the United States",
            description=(
                "MOFCOM banned exports of gallium, germanium, antimony and superhard "
                "materials to the United States in principle."
            ),
            state="CHN",
            target="USA",
            measures=["export-restriction"],
            sectors=["semiconductors"],
            start="2024-12-03",
            pretext="safeguarding national security and non-proliferation obligations",
            trigger=_US_CHIP_CONTROLS + " expanded on 2 December 2024",
            impact=(
                "USD",
                1_000_000_000,
                3_400_000_000,
                f"{PRESS}; the upper bound is the USGS estimate for a total ban",
            ),
            source="MOFCOM announcement No. 46 of 2024",
        ),
        _incident(
            "rare-earth-licensing-2025-ustr",
            USTR,
            [TLP_GREEN],
            name="Export licensing for seven rare earths and magnets",
            description=(
                "Exports of samarium, gadolinium, terbium, dysprosium, lutetium, scandium "
                "and yttrium, and magnets containing them, need a licence; shipments to US "
                "buyers stalled for months."
            ),
            state="CHN",
            target="USA",
            measures=["export-restriction"],
            sectors=["rare-earths", "automotive"],
            start="2025-04-04",
            pretext="safeguarding national security and non-proliferation obligations",
            trigger="US 'reciprocal' tariffs announced on 2 April 2025",
            source="MOFCOM and GAC announcement No. 18 of 2025",
        ),
        _incident(
            "rare-earth-licensing-2025-cascade",
            CASCADE,
            [TLP_AMBER],
            name="Cascade: magnet and sputtering-target shipments held for licences",
            description=(
                "Our suppliers' licence applications for dysprosium magnets and scandium "
                "targets have waited since April; two product lines run on stock."
            ),
            state="CHN",
            target="USA",
            measures=["export-restriction"],
            sectors=["rare-earths", "semiconductors"],
            start="2025-04-04",
            pretext="safeguarding national security and non-proliferation obligations",
            trigger="US 'reciprocal' tariffs announced on 2 April 2025",
            impact=("USD", 20_000_000, 60_000_000, "company estimate of delayed output (demo)"),
        ),
        _incident(
            "rare-earth-licensing-2025-motie",
            MOTIE,
            [TLP_GREEN],
            name="Rare-earth licences delayed for Korean magnet buyers",
            description=(
                "The same licensing held rare-earth magnets for Korean motor and "
                "auto-parts makers; MOTIE opened a supply-chain response desk."
            ),
            state="CHN",
            target="KOR",
            measures=["export-restriction"],
            sectors=["rare-earths", "automotive"],
            start="2025-04-04",
            pretext="safeguarding national security and non-proliferation obligations",
            trigger="US 'reciprocal' tariffs announced on 2 April 2025",
        ),
        _incident(
            "rare-earth-rules-oct-2025",
            COMMERCE,
            [TLP_GREEN],
            name="Extraterritorial rare-earth export rules",
            description=(
                "New rules reach foreign products containing Chinese rare earths and "
                "rare-earth processing technology."
            ),
            state="CHN",
            target="USA",
            measures=["export-restriction"],
            sectors=["rare-earths", "semiconductors"],
            start="2025-10-09",
            pretext="safeguarding national security and non-proliferation obligations",
            trigger="The US export-control 'affiliates rule' of 29 September 2025",
            source="MOFCOM announcements No. 61 and 62 of 2025",
        ),
        _incident(
            "hanwha-ocean-2025",
            USTR,
            [TLP_GREEN],
            name="Countermeasures against Hanwha Ocean's US subsidiaries",
            description=(
                "Chinese organizations and individuals may not trade or cooperate with five "
                "US subsidiaries of the Korean shipbuilder Hanwha Ocean."
            ),
            state="CHN",
            target="KOR",
            measures=["export-restriction"],
            sectors=["shipbuilding"],
            start="2025-10-14",
            pretext="the subsidiaries' support for a US investigation harming China's interests",
            trigger=(
                "The US Section 301 measures on China's shipbuilding, in force 14 October "
                "2025, and Korean investment in US shipyards"
            ),
            source="MOFCOM announcement of 14 October 2025",
        ),
    ]


def partner_coercion_incidents() -> list[Written]:
    """What Korean members record on the KOR node."""
    return [
        _incident(
            "hallyu-2016",
            KTO,
            [TLP_GREEN],
            name="Korean entertainment kept off Chinese screens and stages",
            description=(
                "Concerts, fan meetings and TV appearances of Korean artists in China were "
                "cancelled; no new Korean dramas or games were licensed."
            ),
            state="CHN",
            target="KOR",
            measures=["informal-pressure", "licence-denial"],
            sectors=["entertainment"],
            start="2016-08-01",
            pretext="none stated; officials denied any restriction",
            trigger=_THAAD,
        ),
        _incident(
            "cosmetics-2016",
            KOTRA,
            [TLP_GREEN],
            name="Korean cosmetics rejected at Chinese customs",
            description="Nineteen Korean cosmetics products were refused entry in one batch.",
            state="CHN",
            target="KOR",
            measures=["customs-inspection"],
            sectors=["cosmetics"],
            start="2016-12-01",
            pretext="quality and labelling non-compliance",
            trigger=_THAAD,
            source="AQSIQ rejection list published in February 2017",
        ),
        _incident(
            "lotte-mart-2017",
            MOTIE,
            [TLP_GREEN],
            name="Lotte Mart stores closed after fire-safety inspections",
            description=(
                "Most of Lotte Mart's 99 stores in China were closed within a month, the "
                "majority by fire-safety inspections."
            ),
            state="CHN",
            target="KOR",
            measures=["regulatory-investigation", "boycott"],
            sectors=["retail"],
            start="2017-03-06",
            pretext="fire-safety violations",
            trigger=_THAAD,
            impact=("USD", 1_000_000_000, 1_700_000_000, f"{PRESS}: Lotte Mart's losses in 2017"),
        ),
        _incident(
            "group-tours-2017",
            MOTIE,
            [TLP_GREEN],
            name="Group tours to Korea banned",
            description=("Travel agencies were told orally to stop selling group tours to Korea."),
            state="CHN",
            target="KOR",
            measures=["tourism-restriction"],
            sectors=["tourism"],
            start="2017-03-15",
            pretext="none stated; no written measure",
            trigger=_THAAD,
            impact=("USD", 5_000_000_000, 7_000_000_000, f"{PRESS}: tourism revenue in 2017"),
        ),
        _incident(
            "cruises-2017",
            KOTRA,
            [TLP_GREEN],
            name="Cruise calls at Korean ports cancelled",
            description="Chinese cruise lines dropped Jeju, Busan and Incheon from their routes.",
            state="CHN",
            target="KOR",
            measures=["tourism-restriction"],
            sectors=["tourism"],
            start="2017-03-15",
            pretext="none stated",
            trigger=_THAAD,
            impact=("USD", 100_000_000, 300_000_000, f"{PRESS}: port-call spending in 2017"),
        ),
        _incident(
            "online-packages-2017",
            KTO,
            [TLP_GREEN],
            name="Korea packages withdrawn from Chinese travel sites",
            description="Online travel agencies removed Korea packages within days.",
            state="CHN",
            target="KOR",
            measures=["tourism-restriction", "informal-pressure"],
            sectors=["tourism"],
            start="2017-03-03",
            pretext="none stated",
            trigger=_THAAD,
            impact=("USD", 500_000_000, 1_000_000_000, f"{PRESS}: package sales in 2017"),
        ),
        _incident(
            "japan-materials-2019",
            MOTIE,
            [TLP_GREEN],
            name="Japan tightens exports of three semiconductor materials",
            description=(
                "Fluorinated polyimide, photoresists and hydrogen fluoride for Korea need an "
                "individual licence for each contract."
            ),
            state="JPN",
            target="KOR",
            measures=["export-restriction"],
            sectors=["semiconductors"],
            start="2019-07-04",
            pretext="inadequate export management; loss of trust",
            trigger=(
                "Korean Supreme Court rulings of October and November 2018 ordering Japanese "
                "companies to compensate wartime forced labourers"
            ),
            source="METI notice of 1 July 2019",
        ),
        _incident(
            "japan-materials-2019-hanbit",
            HANBIT,
            [TLP_AMBER],
            name="Hanbit: photoresist and etching-gas licences held up",
            description=(
                "Licences for EUV photoresist and high-purity hydrogen fluoride took 90 days; "
                "we qualified a second hydrogen fluoride source."
            ),
            state="JPN",
            target="KOR",
            measures=["export-restriction"],
            sectors=["semiconductors"],
            start="2019-07-04",
            pretext="inadequate export management; loss of trust",
            trigger=(
                "Korean Supreme Court rulings of October and November 2018 ordering Japanese "
                "companies to compensate wartime forced labourers"
            ),
            impact=("USD", 50_000_000, 200_000_000, "company estimate (demo)"),
        ),
        _incident(
            "japan-white-list-2019",
            KOTRA,
            [TLP_GREEN],
            name="Korea removed from Japan's export white list",
            description="Korean buyers of controlled goods lost simplified export procedures.",
            state="JPN",
            target="KOR",
            measures=["export-restriction"],
            sectors=["semiconductors", "other"],
            start="2019-08-28",
            pretext="inadequate export management",
            trigger=(
                "Korean Supreme Court rulings of October and November 2018 ordering Japanese "
                "companies to compensate wartime forced labourers"
            ),
        ),
    ]


# --- supply-chain exposures -----------------------------------------------------------------------

_VENDORS: Final = {
    "ericsson": ("Ericsson", "SWE"),
    "nokia": ("Nokia", "FIN"),
    "samsung": ("Samsung Electronics", "KOR"),
    "nec": ("NEC", "JPN"),
    "asml": ("ASML", "NLD"),
    "nikon": ("Nikon", "JPN"),
    "canon": ("Canon", "JPN"),
    "jsr": ("JSR", "JPN"),
    "tok": ("Tokyo Ohka Kogyo", "JPN"),
    "dupont": ("DuPont", "USA"),
}


def _vendor(key: str, writer: Member) -> Written:
    """A vendor's identity, written by the member that first names it."""
    name, _ = _VENDORS[key]
    return Written(
        writer.id,
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": stix_id("identity", f"vendor-{key}"),
            "created": "2026-01-05T00:00:00.000Z",
            "modified": "2026-01-05T00:00:00.000Z",
            "name": name,
            "identity_class": "organization",
            "object_marking_refs": [TLP_CLEAR],
        },
    )


def _exposure(
    author: Member, category: str, vendor: str, share: float, criticality: str, months: int
) -> Written:
    name, country = _VENDORS[vendor]
    return sdo(
        EXPOSURE_TYPE,
        f"{author.name}-{category}-{vendor}",
        author,
        "2026-01-20T08:00:00",
        [TLP_AMBER],
        extensions={EXPOSURE_EXTENSION_ID: {"extension_type": "new-sdo"}},
        component_category=category,
        vendor_ref=stix_id("identity", f"vendor-{vendor}"),
        vendor_name=name,
        vendor_country=country,
        share=share,
        criticality=criticality,
        time_to_substitute_months=months,
        as_of="2026-01-01T00:00:00Z",
    )


_EXPOSURES: Final[tuple[tuple[Member, str, str, float, str, int], ...]] = (
    (PACIFIC_CREST, "5g-ran", "ericsson", 0.61, "critical", 36),
    (PACIFIC_CREST, "5g-ran", "nokia", 0.27, "critical", 36),
    (PACIFIC_CREST, "5g-ran", "samsung", 0.12, "high", 24),
    (PRAIRIE_LINK, "5g-ran", "ericsson", 0.50, "critical", 36),
    (PRAIRIE_LINK, "5g-ran", "nokia", 0.40, "critical", 36),
    (PRAIRIE_LINK, "5g-ran", "nec", 0.10, "medium", 18),
    (HANGANG, "5g-ran", "samsung", 0.50, "critical", 36),
    (HANGANG, "5g-ran", "ericsson", 0.30, "high", 30),
    (HANGANG, "5g-ran", "nokia", 0.20, "high", 30),
    (CASCADE, "semiconductor-lithography", "asml", 0.90, "critical", 60),
    (CASCADE, "semiconductor-lithography", "canon", 0.10, "medium", 24),
    (CASCADE, "photoresists", "tok", 0.50, "critical", 18),
    (CASCADE, "photoresists", "jsr", 0.30, "high", 18),
    (CASCADE, "photoresists", "dupont", 0.20, "high", 12),
    (HANBIT, "semiconductor-lithography", "asml", 0.85, "critical", 60),
    (HANBIT, "semiconductor-lithography", "nikon", 0.15, "medium", 24),
    (HANBIT, "photoresists", "jsr", 0.45, "critical", 18),
    (HANBIT, "photoresists", "tok", 0.35, "critical", 18),
    (HANBIT, "photoresists", "dupont", 0.20, "high", 12),
)


def _exposures(members: Sequence[Member]) -> list[Written]:
    """These members' exposures, each vendor's identity before them when one of these members
    is the first in the table to name it: one originator per identity across both nodes (the
    node lets only an object's originator add versions), each written beside the first
    exposure naming it."""
    first: dict[str, Member] = {}
    for member, _, vendor, _, _, _ in _EXPOSURES:
        first.setdefault(vendor, member)
    written: list[Written] = []
    for member, category, vendor, share, criticality, months in _EXPOSURES:
        if member not in members:
            continue
        if first.pop(vendor, None) is member:
            written.append(_vendor(vendor, member))
        written.append(_exposure(member, category, vendor, share, criticality, months))
    return written


def supply_chain_exposures() -> list[Written]:
    """What the carriers and Cascade write on the USA node."""
    return _exposures([PACIFIC_CREST, PRAIRIE_LINK, HANGANG, CASCADE])


def partner_exposures() -> list[Written]:
    """What Hanbit writes on the KOR node."""
    return _exposures([HANBIT])
