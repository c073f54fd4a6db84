"""The demo community's members, its marking definitions and the content beyond cyber threats.

`allyshare.demo.community` assembles a node from these. Everything here is data: who the
members are (the ids markings name), the markings they define, and the objects they write
about sensitive technology, the supply chain and economic coercion, plus one US-only set
and the showcase report. Each object comes with the organization that writes it
(`Written`), because the node trusts only the writer's organization as originator and
accepts a ``created_by_ref`` only when it names that organization's own identity.

The markings span what DESIGN section 3 recognises, so each demo user sees the same
collections differently:

- TLP 2.0 CLEAR, GREEN and AMBER in the shared collections (the ``us-rok-tech`` ceiling is
  AMBER); AMBER+STRICT and RED only in the US-only collection, RED with named recipients;
- ACS 3.0: U, C and S releasable to USA and KOR, NOFORN, and PROPIN with permitted
  organizations for the companies' proprietary reports;
- the allyshare extension: ORCON, named recipients and match-only;
- two statement markings (kept and shown, never enforced);
- granular markings, so that some readers get a redacted copy.

The government agencies keep their real names so the roles are recognisable; the companies,
people, figures, cases and indicators are fictional, indicator values come from reserved
documentation ranges, and nothing here reports on any real organization's data. (The
economic-coercion incidents of `allyshare.demo.economic` are the exception: they restate the
public record.)
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from allyshare.community import identity_of, organization_id
from allyshare.demo.content import TLP_AMBER, TLP_AMBER_STRICT, TLP_CLEAR, TLP_GREEN, TLP_RED
from allyshare.policy import ACS_EXTENSION_ID, ALLYSHARE_EXTENSION_ID

StixObject = dict[str, Any]


class Written(NamedTuple):
    """One object and the organization whose contributor writes it to the node."""

    writer: str
    obj: StixObject


def stix_id(stix_type: str, key: str) -> str:
    """A stable id per key, so two nodes built from the demo hold the same objects."""
    digest = hashlib.sha256(f"allyshare-demo-community\x00{key}".encode()).digest()
    return f"{stix_type}--{uuid.UUID(bytes=digest[:16], version=4)}"


# --- members ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A member organization, as the node registers it and as its STIX identity shows it.

    ``name`` is what the node derives the organization id from (``COUNTRY.NAME``, the form
    ACS ``permitted_organizations`` and allyshare ``recipients`` use); ``title`` is the
    identity's display name. ``identity_sectors`` use the STIX industry-sector vocabulary,
    ``sectors`` the member's own terms.
    """

    name: str
    country: str
    kind: str
    sectors: tuple[str, ...]
    title: str
    identity_sectors: tuple[str, ...]
    description: str
    contact: str

    @property
    def id(self) -> str:
        return organization_id(self.name, self.country)

    @property
    def identity(self) -> str:
        return identity_of(self.id)

    def identity_object(self) -> Written:
        """The member's STIX identity, written by the member itself."""
        return Written(
            self.id,
            {
                "type": "identity",
                "spec_version": "2.1",
                "id": self.identity,
                "created": "2026-01-05T00:00:00.000Z",
                "modified": "2026-01-05T00:00:00.000Z",
                "name": self.title,
                "description": self.description,
                "identity_class": "organization",
                "sectors": list(self.identity_sectors),
                "contact_information": self.contact,
                "object_marking_refs": [TLP_CLEAR],
            },
        )


CISA: Final = Member(
    "CISA",
    "USA",
    "cert",
    ("government-national",),
    "Cybersecurity and Infrastructure Security Agency (CISA)",
    ("government-national",),
    "The United States' national CERT in the allyshare demo. The reports, indicators and "
    "cases attributed to it here are fictional demo content.",
    "demo-desk@cisa.example",
)
KISA: Final = Member(
    "KISA",
    "KOR",
    "cert",
    ("government-national",),
    "Korea Internet & Security Agency (KISA), KrCERT/CC",
    ("government-national",),
    "The Republic of Korea's national CERT in the allyshare demo. The reports, indicators and "
    "cases attributed to it here are fictional demo content.",
    "demo-desk@krcert.example",
)
COMMERCE: Final = Member(
    "Commerce",
    "USA",
    "government",
    ("government-national",),
    "US Department of Commerce",
    ("government-national",),
    "US government agency for export controls and trade remedies in the allyshare demo. The "
    "assessments attributed to it here are fictional demo content.",
    "demo-desk@commerce.example",
)
MOTIE: Final = Member(
    "MOTIE",
    "KOR",
    "government",
    ("government-national",),
    "Ministry of Trade, Industry and Energy (MOTIE)",
    ("government-national",),
    "Korean government ministry for industry, trade and export controls in the allyshare "
    "demo. The assessments attributed to it here are fictional demo content.",
    "demo-desk@motie.example",
)
HANBIT: Final = Member(
    "Hanbit Semiconductor",
    "KOR",
    "company",
    ("semiconductors",),
    "Hanbit Semiconductor Co., Ltd.",
    ("technology", "manufacturing"),
    "Memory and foundry chip maker with fabs in Gyeonggi province. Fictional company.",
    "psirt@hanbit-semi.example",
)
PACIFIC_CREST: Final = Member(
    "Pacific Crest Communications",
    "USA",
    "company",
    ("telecommunications",),
    "Pacific Crest Communications",
    ("telecommunications",),
    "Regional fixed and mobile carrier on the US West Coast and in Guam. Fictional company.",
    "cirt@pacificcrest.example",
)
USTR: Final = Member(
    "USTR",
    "USA",
    "government",
    ("government-national",),
    "Office of the United States Trade Representative (USTR)",
    ("government-national",),
    "US government agency for trade policy and trade enforcement in the allyshare demo. The "
    "records attributed to it here restate the public record.",
    "demo-desk@ustr.example",
)
KOTRA: Final = Member(
    "KOTRA",
    "KOR",
    "government",
    ("government-national",),
    "Korea Trade-Investment Promotion Agency (KOTRA)",
    ("government-national",),
    "Korean government agency supporting exporters abroad in the allyshare demo. The records "
    "attributed to it here restate the public record.",
    "demo-desk@kotra.example",
)
KTO: Final = Member(
    "KTO",
    "KOR",
    "government",
    ("government-national", "tourism"),
    "Korea Tourism Organization (KTO)",
    ("government-national", "hospitality-leisure"),
    "Korean government agency for inbound tourism in the allyshare demo. The records "
    "attributed to it here restate the public record.",
    "demo-desk@kto.example",
)
CASCADE: Final = Member(
    "Cascade Microdevices",
    "USA",
    "company",
    ("semiconductors",),
    "Cascade Microdevices, Inc.",
    ("technology", "manufacturing"),
    "Analog and power chip maker with fabs in Oregon and Texas. Fictional company.",
    "security@cascade-micro.example",
)
HANGANG: Final = Member(
    "Hangang Telecom",
    "KOR",
    "company",
    ("telecommunications",),
    "Hangang Telecom Co., Ltd.",
    ("telecommunications",),
    "Nationwide mobile carrier in Korea. Fictional company.",
    "cert@hangang-telecom.example",
)
PRAIRIE_LINK: Final = Member(
    "Prairie Link Wireless",
    "USA",
    "company",
    ("telecommunications",),
    "Prairie Link Wireless",
    ("telecommunications",),
    "Rural mobile carrier in the US Midwest. Fictional company.",
    "noc@prairielink.example",
)
MEMBERS: Final[tuple[Member, ...]] = (
    CISA,
    KISA,
    COMMERCE,
    MOTIE,
    HANBIT,
    PACIFIC_CREST,
    USTR,
    KOTRA,
    KTO,
    CASCADE,
    HANGANG,
    PRAIRIE_LINK,
)


# --- marking definitions ------------------------------------------------------------------------

_DEFINED = "2026-01-05T00:00:00.000Z"


def _definition(key: str, definer: Member, name: str, body: StixObject) -> Written:
    return Written(
        definer.id,
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": stix_id("marking-definition", key),
            "created_by_ref": definer.identity,
            "created": _DEFINED,
            "name": name,
            **body,
        },
    )


def _acs(key: str, definer: Member, name: str, **control_set: Any) -> Written:
    """An ACS 3.0 marking; the fields beside ``control_set`` follow the OASIS examples."""
    extension = {
        "extension_type": "property-extension",
        "identifier": f"isa:guide.19001.ACS3-{stix_id('acs', key).split('--')[1]}",
        "create_date_time": _DEFINED,
        "name": name,
        "policy_reference": "urn:isa:policy:acs:ns:v3.0?privdefault=permit&sharedefault=permit",
        "responsible_entity_custodian": definer.id,
        "control_set": control_set,
    }
    return _definition(key, definer, name, {"extensions": {ACS_EXTENSION_ID: extension}})


def _allyshare(key: str, definer: Member, name: str, **restrictions: Any) -> Written:
    extension = {"extension_type": "property-extension", **restrictions}
    return _definition(key, definer, name, {"extensions": {ALLYSHARE_EXTENSION_ID: extension}})


def _statement(key: str, definer: Member, name: str, text: str) -> Written:
    body = {"definition_type": "statement", "definition": {"statement": text}}
    return _definition(key, definer, name, body)


_BOTH = ["USA", "KOR"]
_CERTS = [CISA.id, KISA.id]

_REL_U = _acs(
    "rel-u", CISA, "U//REL TO USA, KOR", classification="U", permitted_nationalities=_BOTH
)
_REL_C = _acs(
    "rel-c", CISA, "C//REL TO USA, KOR", classification="C", permitted_nationalities=_BOTH
)
_REL_S = _acs(
    "rel-s", CISA, "S//REL TO USA, KOR", classification="S", permitted_nationalities=_BOTH
)
_NOFORN_C = _acs("noforn-c", CISA, "C//NOFORN", classification="C", formal_determination=["NF"])
_NOFORN_S = _acs("noforn-s", CISA, "S//NOFORN", classification="S", formal_determination=["NF"])
_PROPIN_HANBIT = _acs(
    "propin-hanbit",
    HANBIT,
    "U//PROPIN: Hanbit Semiconductor, released to KISA, MOTIE and Commerce",
    classification="U",
    caveat=["PROPIN"],
    permitted_organizations=[HANBIT.id, KISA.id, MOTIE.id, COMMERCE.id],
)
_PROPIN_HANBIT_TRADE = _acs(
    "propin-hanbit-trade",
    HANBIT,
    "U//PROPIN: Hanbit Semiconductor, released to MOTIE and Commerce",
    classification="U",
    caveat=["PROPIN"],
    permitted_organizations=[HANBIT.id, MOTIE.id, COMMERCE.id],
)
_PROPIN_PACIFIC_CREST = _acs(
    "propin-pacific-crest",
    PACIFIC_CREST,
    "U//PROPIN: Pacific Crest Communications, released to CISA and Commerce",
    classification="U",
    caveat=["PROPIN"],
    permitted_organizations=[PACIFIC_CREST.id, CISA.id, COMMERCE.id],
)
_ORCON_CERTS = _allyshare(
    "orcon-certs", KISA, "ORCON: released to the national CERTs", orcon=True, recipients=_CERTS
)
_MATCH_ONLY_CERTS = _allyshare(
    "match-only-certs",
    KISA,
    "Match-only: the national CERTs read it, other members may only match against it",
    match_only=True,
    recipients=_CERTS,
)
_ORCON_SHOWCASE = _allyshare(
    "orcon-showcase",
    CISA,
    "ORCON: released to KISA and Hanbit Semiconductor",
    orcon=True,
    recipients=[KISA.id, HANBIT.id],
)
_RECIPIENTS_COMMERCE = _allyshare(
    "recipients-commerce",
    CISA,
    "Named recipient: US Department of Commerce",
    recipients=[COMMERCE.id],
)
_STATEMENT = _statement(
    "statement-arrangement",
    CISA,
    "US-ROK arrangement terms",
    "Shared under the US-ROK technology security arrangement (agreement us-rok-tech). "
    "allyshare demo content.",
)
_STATEMENT_HANBIT = _statement(
    "statement-hanbit",
    HANBIT,
    "Hanbit copyright",
    "Copyright 2026 Hanbit Semiconductor Co., Ltd. (fictional). For the recipients' own "
    "security and policy work only.",
)

MARKINGS: Final[Mapping[str, Written]] = {
    written.obj["id"]: written
    for written in (
        _REL_U,
        _REL_C,
        _REL_S,
        _NOFORN_C,
        _NOFORN_S,
        _PROPIN_HANBIT,
        _PROPIN_HANBIT_TRADE,
        _PROPIN_PACIFIC_CREST,
        _ORCON_CERTS,
        _MATCH_ONLY_CERTS,
        _ORCON_SHOWCASE,
        _RECIPIENTS_COMMERCE,
        _STATEMENT,
        _STATEMENT_HANBIT,
    )
}
"""Every ACS, allyshare and statement marking definition of the demo, by id."""

REL_U: Final[str] = _REL_U.obj["id"]
REL_C: Final[str] = _REL_C.obj["id"]
REL_S: Final[str] = _REL_S.obj["id"]
NOFORN_C: Final[str] = _NOFORN_C.obj["id"]
NOFORN_S: Final[str] = _NOFORN_S.obj["id"]
PROPIN_HANBIT: Final[str] = _PROPIN_HANBIT.obj["id"]
PROPIN_HANBIT_TRADE: Final[str] = _PROPIN_HANBIT_TRADE.obj["id"]
PROPIN_PACIFIC_CREST: Final[str] = _PROPIN_PACIFIC_CREST.obj["id"]
ORCON_CERTS: Final[str] = _ORCON_CERTS.obj["id"]
MATCH_ONLY_CERTS: Final[str] = _MATCH_ONLY_CERTS.obj["id"]
ORCON_SHOWCASE: Final[str] = _ORCON_SHOWCASE.obj["id"]
RECIPIENTS_COMMERCE: Final[str] = _RECIPIENTS_COMMERCE.obj["id"]
STATEMENT: Final[str] = _STATEMENT.obj["id"]
STATEMENT_HANBIT: Final[str] = _STATEMENT_HANBIT.obj["id"]


# --- objects ------------------------------------------------------------------------------------


def sdo(
    stix_type: str,
    key: str,
    author: Member,
    when: str,
    markings: Sequence[str],
    granular: Sequence[tuple[str, Sequence[str]]] = (),
    **props: Any,
) -> Written:
    """The first version of an SDO or SRO, written on ``when`` (UTC, to the second)."""
    stamp = f"{when}.000Z"
    obj: StixObject = {
        "type": stix_type,
        "spec_version": "2.1",
        "id": stix_id(stix_type, key),
        "created_by_ref": author.identity,
        "created": stamp,
        "modified": stamp,
        **props,
        "object_marking_refs": list(markings),
    }
    if granular:
        obj["granular_markings"] = [
            {"marking_ref": ref, "selectors": list(selectors)} for ref, selectors in granular
        ]
    return Written(author.id, obj)


SHOWCASE_ID: Final = stix_id("report", "showcase")


def showcase_report(object_refs: Sequence[str]) -> Written:
    """DESIGN's showcase as data: one CISA report that four readers see four ways.

    The object is unclassified, TLP:AMBER, releasable to US and Korean nationals and ORCON
    with KISA and Hanbit Semiconductor as named recipients. Its description is C//NOFORN (it
    reveals a US source), its first external reference S//REL TO USA, KOR (a classified
    annex), and the URL of its second, public reference TLP:CLEAR. So the CISA analyst sees
    it whole, the KISA analyst without the description, the Hanbit analyst (uncleared)
    without the description and the annex, and an uncleared Commerce user, whose
    organization is not a named recipient, not at all.
    """
    return sdo(
        "report",
        "showcase",
        CISA,
        "2026-02-16T01:30:00",
        [TLP_AMBER, REL_U, ORCON_SHOWCASE, STATEMENT],
        granular=(
            (NOFORN_C, ["description"]),
            (REL_S, ["external_references.[0]"]),
            (TLP_CLEAR, ["external_references.[1].url"]),
        ),
        name="Wafer-fab spearphishing: next wave expected against equipment-vendor portals",
        description=(
            "A US source with access to the operators' staging server reports that the next "
            "lure wave will imitate the service portal of a lithography-equipment vendor and "
            "is planned for the first half of March."
        ),
        published="2026-02-16T01:30:00.000Z",
        report_types=["campaign", "threat-report"],
        object_refs=list(object_refs),
        external_references=[
            {
                "source_name": "CISA technical annex",
                "external_id": "AR26-047-S",
                "description": "Staging-server configuration and operator tooling.",
            },
            {
                "source_name": "allyshare demo public summary",
                "description": "Unclassified summary for member companies.",
                "url": "https://advisories.example/wafer-fab-2026",
            },
        ],
    )


def sensitive_technology() -> list[Written]:
    """Export-control and technology-protection reporting from both governments and a fab."""
    return [
        sdo(
            "threat-actor",
            "procurement-fronts",
            COMMERCE,
            "2026-01-27T14:00:00",
            [TLP_AMBER, REL_U],
            name="Lithography-parts procurement fronts (demo)",
            description=(
                "Fictional: short-lived trading companies in non-member jurisdictions that "
                "order EUV light-source and wafer-stage subsystems for onward shipment to "
                "end users under export restrictions."
            ),
            threat_actor_types=["spy"],
            roles=["agent"],
            primary_motivation="organizational-gain",
        ),
        sdo(
            "report",
            "euv-diversion",
            COMMERCE,
            "2026-02-03T15:20:00",
            [TLP_AMBER, REL_C],
            granular=((NOFORN_C, ["external_references.[0]"]),),
            name="Diversion of EUV light-source modules through re-export",
            description=(
                "Three orders for refurbished EUV light-source modules placed since November "
                "share a freight forwarder and payment route with the procurement fronts. "
                "Members that sell or service such modules should screen end-user statements "
                "against the listed consignees."
            ),
            published="2026-02-03T15:20:00.000Z",
            report_types=["threat-actor"],
            object_refs=[stix_id("threat-actor", "procurement-fronts")],
            external_references=[
                {"source_name": "Commerce enforcement case", "external_id": "DEMO-2026-0113"}
            ],
        ),
        sdo(
            "opinion",
            "euv-diversion-motie",
            MOTIE,
            "2026-02-05T02:10:00",
            [TLP_AMBER, REL_C],
            opinion="agree",
            explanation="Korean customs holds two comparable consignments under review.",
            object_refs=[stix_id("report", "euv-diversion")],
        ),
        sdo(
            "report",
            "hbm-know-how",
            MOTIE,
            "2026-02-09T06:00:00",
            [TLP_GREEN, REL_U],
            name="Export-control watch: requests for HBM stacking know-how",
            description=(
                "Consultancies outside the arrangement have approached retired process "
                "engineers of member chip makers with offers for advice on high-bandwidth "
                "memory stacking. Members are asked to remind staff of technology-transfer "
                "rules and report approaches to MOTIE."
            ),
            published="2026-02-09T06:00:00.000Z",
            report_types=["threat-report"],
            object_refs=[stix_id("threat-actor", "procurement-fronts")],
        ),
        sdo(
            "report",
            "hanbit-insider",
            HANBIT,
            "2026-02-11T08:45:00",
            [TLP_AMBER, PROPIN_HANBIT, STATEMENT_HANBIT],
            name="Hanbit: attempted copying of HBM stacking process recipes",
            description=(
                "A contractor account copied 1.2 GB of bonding-process recipes to removable "
                "media at our Pyeongtaek line on 6 February; the data-loss tool blocked the "
                "transfer. The contractor had been approached by one of the consultancies in "
                "MOTIE's watch report."
            ),
            published="2026-02-11T08:45:00.000Z",
            report_types=["threat-report"],
            object_refs=[
                stix_id("report", "hbm-know-how"),
                stix_id("attack-pattern", "usb-exfiltration"),
            ],
        ),
        sdo(
            "attack-pattern",
            "usb-exfiltration",
            KISA,
            "2026-01-20T00:30:00",
            [TLP_CLEAR],
            name="Exfiltration over USB",
            description="Copying data to removable media, here by an insider at a fab.",
            external_references=[
                {
                    "source_name": "mitre-attack",
                    "external_id": "T1052.001",
                    "url": "https://attack.mitre.org/techniques/T1052/001/",
                }
            ],
        ),
        sdo(
            "course-of-action",
            "protect-recipes",
            KISA,
            "2026-01-20T00:40:00",
            [TLP_CLEAR],
            name="Protect process recipes as crown jewels",
            description=(
                "Keep process recipes on a separate engineering network, block removable "
                "media on recipe hosts and alert on bulk reads by contractor accounts."
            ),
        ),
        sdo(
            "relationship",
            "protect-recipes-mitigates",
            KISA,
            "2026-01-20T00:41:00",
            [TLP_CLEAR],
            relationship_type="mitigates",
            source_ref=stix_id("course-of-action", "protect-recipes"),
            target_ref=stix_id("attack-pattern", "usb-exfiltration"),
        ),
    ]


_FIRMWARE_HASH = hashlib.sha256(b"allyshare demo: tampered small-cell firmware").hexdigest()


def supply_chain() -> list[Written]:
    """Vendor concentration in 5G networks and single sources in chip making."""
    return [
        sdo(
            "report",
            "pacific-crest-ran",
            PACIFIC_CREST,
            "2026-02-02T18:00:00",
            [TLP_AMBER, PROPIN_PACIFIC_CREST],
            name="Pacific Crest radio access network: radio units by vendor",
            description=(
                "Of 4,180 5G radio units in service, RAN vendor A supplies 61%, vendor B 27% "
                "and vendor C 12%. Vendor A's share in Guam is 88%, above the 60% the "
                "members agreed as the concentration limit; a second-source plan is due in Q3."
            ),
            published="2026-02-02T18:00:00.000Z",
            report_types=["identity"],
            object_refs=[PACIFIC_CREST.identity],
        ),
        sdo(
            "note",
            "ran-aggregate",
            CISA,
            "2026-02-12T16:00:00",
            [TLP_GREEN, REL_U],
            abstract="Community aggregate: radio access network vendor shares",
            content=(
                "Across the three member carriers that reported (k = 3), no RAN vendor "
                "exceeds 60% of radio units overall; one regional network is above the limit. "
                "Single carriers' figures are not shown."
            ),
            object_refs=[stix_id("report", "pacific-crest-ran")],
        ),
        sdo(
            "indicator",
            "small-cell-firmware",
            PACIFIC_CREST,
            "2026-02-06T21:30:00",
            [TLP_GREEN],
            name="Unsigned firmware image for small-cell radios",
            description=(
                "Firmware image offered through a reseller's update mirror; it is not signed "
                "by the radio's vendor and opens a debug service on the management interface."
            ),
            indicator_types=["malicious-activity"],
            pattern=f"[file:hashes.'SHA-256' = '{_FIRMWARE_HASH}']",
            pattern_type="stix",
            valid_from="2026-02-06T21:30:00Z",
        ),
        sdo(
            "course-of-action",
            "verify-firmware",
            KISA,
            "2026-02-07T01:00:00",
            [TLP_CLEAR],
            name="Verify vendor signatures before deploying radio firmware",
            description=(
                "Accept radio firmware only from the vendor's own channel and check its "
                "signature on the element manager before rollout."
            ),
        ),
        sdo(
            "relationship",
            "verify-firmware-mitigates",
            KISA,
            "2026-02-07T01:01:00",
            [TLP_CLEAR],
            relationship_type="mitigates",
            source_ref=stix_id("course-of-action", "verify-firmware"),
            target_ref=stix_id("indicator", "small-cell-firmware"),
        ),
        sdo(
            "report",
            "photoresist",
            MOTIE,
            "2026-02-10T05:00:00",
            [TLP_GREEN, REL_U],
            name="Single-source exposure: high-purity photoresist for leading-edge lines",
            description=(
                "Member fabs source one photoresist grade for their leading-edge lines from a "
                "single non-member supplier. A second qualified source would take about "
                "eighteen months; MOTIE proposes joint qualification with US fabs."
            ),
            published="2026-02-10T05:00:00.000Z",
            report_types=["threat-report"],
            object_refs=[HANBIT.identity],
        ),
        sdo(
            "note",
            "hanbit-inspection-tool",
            HANBIT,
            "2026-02-13T03:15:00",
            [TLP_AMBER, ORCON_CERTS],
            abstract="Unexpected update package for a wafer-inspection tool",
            content=(
                "A maintenance contractor delivered an update for a wafer-inspection tool "
                "that the tool's maker says it never released. The package is quarantined; "
                "the CERTs have the sample."
            ),
            object_refs=[HANBIT.identity],
        ),
    ]


def economic_coercion() -> list[Written]:
    """Inspections, duties and licence delays against members' companies, seen together."""
    return [
        sdo(
            "report",
            "battery-inspections",
            MOTIE,
            "2026-02-04T07:00:00",
            [TLP_GREEN, REL_U],
            name="Pattern: repeated safety inspections of battery-material exports",
            description=(
                "Since December, shipments of cathode materials from member exporters to a "
                "non-member state have been held for sanitary and safety inspections four "
                "times as often as other members' goods, after the exporters' government "
                "joined an export-control statement."
            ),
            published="2026-02-04T07:00:00.000Z",
            report_types=["threat-report"],
            object_refs=[MOTIE.identity],
        ),
        sdo(
            "report",
            "hanbit-duties",
            HANBIT,
            "2026-02-08T04:30:00",
            [TLP_AMBER, REL_U, STATEMENT_HANBIT],
            granular=((PROPIN_HANBIT_TRADE, ["description", "external_references.[0]"]),),
            name="Countervailing-duty investigation against Hanbit memory exports",
            description=(
                "Estimated revenue at risk: USD 410 million a year if provisional duties of "
                "23% are imposed in April. The investigation started nine days after our "
                "announcement of a new fab in the United States."
            ),
            published="2026-02-08T04:30:00.000Z",
            report_types=["threat-report"],
            object_refs=[HANBIT.identity],
            external_references=[
                {
                    "source_name": "Hanbit trade counsel memo",
                    "external_id": "HS-TR-2026-07",
                    "description": "Legal assessment of the investigation's pretext.",
                }
            ],
        ),
        sdo(
            "note",
            "pacific-crest-licence",
            PACIFIC_CREST,
            "2026-02-14T19:00:00",
            [TLP_AMBER, REL_U],
            abstract="Landing-licence renewal delayed",
            content=(
                "The renewal of our cable-landing licence in a non-member state has been "
                "postponed three times since our government's trade vote, each time for "
                "'additional environmental review'."
            ),
            object_refs=[PACIFIC_CREST.identity],
        ),
        sdo(
            "report",
            "coordinated-pressure",
            COMMERCE,
            "2026-02-15T13:00:00",
            [TLP_AMBER, REL_C],
            name="Assessment: inspections, duties and licence delays as one campaign",
            description=(
                "The timing of the inspections, the duty investigation and the licence "
                "delays follows the members' export-control announcements within two weeks "
                "each time. Commerce assesses with moderate confidence that they are "
                "coordinated and recommends a joint response."
            ),
            published="2026-02-15T13:00:00.000Z",
            report_types=["threat-report"],
            object_refs=[
                stix_id("report", "battery-inspections"),
                stix_id("report", "hanbit-duties"),
                stix_id("note", "pacific-crest-licence"),
            ],
        ),
        sdo(
            "grouping",
            "coercion-pattern",
            MOTIE,
            "2026-02-16T00:00:00",
            [TLP_GREEN],
            name="Coercion pattern 2026: members' cases",
            context="suspicious-activity",
            object_refs=[
                stix_id("report", "battery-inspections"),
                stix_id("report", "hanbit-duties"),
                stix_id("note", "pacific-crest-licence"),
            ],
        ),
        sdo(
            "opinion",
            "battery-inspections-commerce",
            COMMERCE,
            "2026-02-05T12:00:00",
            [TLP_GREEN],
            opinion="strongly-agree",
            explanation="US exporters of cathode precursors report the same pattern.",
            object_refs=[stix_id("report", "battery-inspections")],
        ),
    ]


def usa_national() -> list[Written]:
    """What stays among US members: AMBER+STRICT, RED and NOFORN under a national agreement."""
    return [
        sdo(
            "report",
            "attribution-assessment",
            CISA,
            "2026-02-17T15:00:00",
            [TLP_AMBER_STRICT, NOFORN_S],
            name="Attribution assessment: operators of the wafer-fab campaign",
            description=(
                "Technical overlaps and US-only sources support attribution of the wafer-fab "
                "campaign to the Andariel cluster with moderate confidence."
            ),
            published="2026-02-17T15:00:00.000Z",
            report_types=["threat-report"],
            object_refs=[CISA.identity],
        ),
        sdo(
            "note",
            "attribution-timing",
            CISA,
            "2026-02-17T16:00:00",
            [TLP_RED, RECIPIENTS_COMMERCE],
            abstract="Timing of a joint attribution statement",
            content=(
                "Pre-decisional: CISA proposes a joint US-ROK attribution statement after "
                "Hanbit's patch window closes. Commerce to confirm the trade calendar."
            ),
            object_refs=[stix_id("report", "attribution-assessment")],
        ),
    ]


# --- private matching across the nodes ---------------------------------------------------------
#
# Hanbit writes the indicators of an intrusion at its fab on the KOR node as PROPIN naming
# nobody: under ``propin_match_only`` the other members may match their own values against
# them and read nothing. A US fab's intrusion reached CISA with values of its own; by private
# matching from the USA node CISA learns which two Hanbit also saw, asks Hanbit to get in touch,
# and Hanbit releases one of them to CISA.

_PROPIN_HANBIT_ONLY = _acs(
    "propin-hanbit-only",
    HANBIT,
    "U//PROPIN: Hanbit Semiconductor only; other members may match their values against it",
    classification="U",
    permitted_nationalities=_BOTH,
    caveat=["PROPIN"],
)
_ORCON_HANBIT_CISA = _allyshare(
    "orcon-hanbit-cisa", HANBIT, "ORCON: Hanbit Semiconductor, released to CISA", orcon=True,
    recipients=[CISA.id],
)  # fmt: skip
PROPIN_HANBIT_ONLY: Final[str] = _PROPIN_HANBIT_ONLY.obj["id"]
ORCON_HANBIT_CISA: Final[str] = _ORCON_HANBIT_CISA.obj["id"]

_FAB_LOADER_HASH = "5d1c7e0b9a6f4e3d2c1b0a99887766554433221100ffeeddccbbaa9988776655"
_FAB_INDICATORS: Final = (
    ("euv-update", "domain-name:value", "update.euv-toolpartner.example",
     "Look-alike update server of an EUV tool supplier"),
    ("staging-ip", "ipv4-addr:value", "198.51.100.73", "Staging server for fab-floor tooling"),
    ("fab-loader", "file:hashes.'SHA-256'", _FAB_LOADER_HASH,
     "Loader dropped on equipment-maintenance laptops"),
    ("sso-lure", "domain-name:value", "sso-hanbit-fab.example", "Single sign-on lure page"),
    ("exfil-ip", "ipv4-addr:value", "203.0.113.219", "Upload server for recipe files"),
)  # fmt: skip
RELEASED_INDICATOR: Final = stix_id("indicator", "fab-euv-update")
CISA_FAB_VALUES: Final = (
    "Update.EUV-ToolPartner.example.",
    "198.51.100.73",
    "198.51.100.90",
    "license-check.lithotool.example",
    "b1589bab9bd4a682b134a0ea8e172d081b756a18aa9fc8237e36bb6250ffc2ac",
)
"""What reached CISA from a US fab's intrusion: the first two are Hanbit's too (the domain
written as the US fab reported it), the rest are not."""


def _fab_indicator(key: str, path: str, value: str, name: str, markings: list[str]) -> Written:
    return sdo(
        "indicator",
        f"fab-{key}",
        HANBIT,
        "2026-02-18T09:00:00",
        markings,
        name=name,
        indicator_types=["malicious-activity"],
        pattern=f"[{path} = '{value}']",
        pattern_type="stix",
        valid_from="2026-02-18T09:00:00Z",
    )


def fab_intrusion() -> tuple[list[Written], list[Written]]:
    """What Hanbit writes on the KOR node: its PROPIN marking and identity, then the
    indicators of the intrusion at its fab, match-only for everyone else."""
    indicators = [
        _fab_indicator(key, path, value, name, [TLP_AMBER, PROPIN_HANBIT_ONLY])
        for key, path, value, name in _FAB_INDICATORS
    ]
    return [_PROPIN_HANBIT_ONLY, HANBIT.identity_object()], indicators


def released_to_cisa() -> list[StixObject]:
    """The bundle's objects Hanbit writes to release one matched indicator to CISA: the
    ORCON marking naming CISA and a new version of the indicator carrying it in place of
    PROPIN (ORCON, so it reaches the USA node only with Hanbit's approval for that node)."""
    key, path, value, name = _FAB_INDICATORS[0]
    released = _fab_indicator(key, path, value, name, [TLP_AMBER, ORCON_HANBIT_CISA]).obj
    released["modified"] = "2026-02-20T10:00:00.000Z"
    released["description"] = "Released to CISA after its private match of 20 February 2026."
    return [_ORCON_HANBIT_CISA.obj, released]
