"""STIX 2.1 content that allyshare produces itself, for the demo node and for benchmarks.

Two generators live here:

* :func:`demo_objects` is a small, hand-curated and internally consistent data set about the
  subjects allyshare exists for (North Korean and Chinese intrusion sets, attacks on
  semiconductor, telecom, nuclear and battery companies, supply-chain and coercion reporting). It
  is what an analyst sees after ``allyshare demo``, so every reference resolves, markings span
  the whole TLP 2.0 range and some objects have several versions.
* :func:`synthetic_objects` streams any number of plausible objects for throughput and latency
  benchmarks (1k … 1M objects) without holding them in memory.

Everything is built as plain dicts (no ``stix2`` objects) so the benchmark stream is cheap, and
nothing is read from outside the package: a user's installation has only this file.

The named groups and malware families are publicly reported ones; the organisations, indicator
values, hashes, sightings and incidents are fictional. IP addresses come from the documentation
and benchmarking ranges (RFC 5737, RFC 2544) and domains from reserved names (RFC 2606), so demo
data can never match real infrastructure.
"""

from __future__ import annotations

import bisect
import calendar
import copy
import hashlib
import json
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Final, NamedTuple

from allyshare.policy import TLP2_EXTENSION_ID, Tlp

StixObject = dict[str, Any]

# --- TLP 2.0 -----------------------------------------------------------------------------------
# The OASIS TLP 2.0 marking definitions (extension-definition--60a3c5c5-…), reproduced field by
# field from the extension's published objects so that any STIX 2.1 tool recognises them by id;
# the ids are the policy's own.

TLP_EXTENSION_ID: Final = TLP2_EXTENSION_ID
TLP_CLEAR: Final = Tlp.CLEAR.marking_id
TLP_GREEN: Final = Tlp.GREEN.marking_id
TLP_AMBER: Final = Tlp.AMBER.marking_id
TLP_AMBER_STRICT: Final = Tlp.AMBER_STRICT.marking_id
TLP_RED: Final = Tlp.RED.marking_id

# Least to most restrictive; the index orders markings when a relationship inherits the stricter
# marking of its two ends.
_TLP_LEVELS: Final[tuple[tuple[str, str], ...]] = (
    (TLP_CLEAR, "clear"),
    (TLP_GREEN, "green"),
    (TLP_AMBER, "amber"),
    (TLP_AMBER_STRICT, "amber+strict"),
    (TLP_RED, "red"),
)
_TLP_RANK: Final[dict[str, int]] = {ref: rank for rank, (ref, _) in enumerate(_TLP_LEVELS)}
TLP_MARKING_IDS: Final[frozenset[str]] = frozenset(_TLP_RANK)


def tlp_marking_definitions() -> list[StixObject]:
    """Return the five TLP 2.0 marking-definition objects exactly as OASIS publishes them."""
    return [
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": ref,
            "created": "2022-10-01T00:00:00.000Z",
            "name": f"TLP:{level.upper()}",
            "extensions": {
                TLP_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level}
            },
        }
        for ref, level in _TLP_LEVELS
    ]


# --- identifiers and timestamps ----------------------------------------------------------------

# STIX 2.1 section 2.9: SCO ids are UUIDv5 over the canonical JSON of the ID contributing
# properties in this namespace, so the same observable gets the same id on every node.
_SCO_NAMESPACE: Final = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
_MS_PER_DAY: Final = 86_400_000


def sco_id(stix_type: str, contributing: dict[str, Any]) -> str:
    """Deterministic SCO id from its ID contributing properties (ASCII values only).

    With ASCII values, sorted keys and no whitespace, ``json.dumps`` output is the RFC 8785
    canonical form the specification asks for.
    """
    canonical = json.dumps(contributing, sort_keys=True, separators=(",", ":"))
    return f"{stix_type}--{uuid.uuid5(_SCO_NAMESPACE, canonical)}"


def _timestamp(ms: int) -> str:
    """RFC 3339 UTC with millisecond precision, e.g. ``2026-03-01T09:00:00.000Z``."""
    day, rest = divmod(ms, _MS_PER_DAY)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{_date(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


_DATE_CACHE: dict[int, str] = {}


def _date(day: int) -> str:
    """Calendar date of a day number since 1970; cached because streams stay on a day for long."""
    text = _DATE_CACHE.get(day)
    if text is None:
        if len(_DATE_CACHE) > 4096:
            _DATE_CACHE.clear()
        y, m, d = _civil_from_days(day)
        text = _DATE_CACHE[day] = f"{y:04d}-{m:02d}-{d:02d}"
    return text


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count since 1970-01-01.

    Howard Hinnant's days-to-civil algorithm: pure integer arithmetic, no datetime objects.
    """
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _day_ms(day: str) -> int:
    """Milliseconds since the epoch at 00:00 UTC of an ISO date such as ``2026-01-14``."""
    year, month, dom = (int(part) for part in day.split("-"))
    return calendar.timegm((year, month, dom, 0, 0, 0, 0, 0, 0)) * 1000


# --- shared reference data -----------------------------------------------------------------------


class _Technique(NamedTuple):
    attack_id: str
    name: str
    phases: tuple[str, ...]
    description: str


# MITRE ATT&CK (Enterprise) techniques seen in the public reporting on the groups below. The
# descriptions are our own one-line summaries.
_TECHNIQUES: Final[tuple[_Technique, ...]] = (
    _Technique(
        "T1566.001",
        "Spearphishing Attachment",
        ("initial-access",),
        "Targeted e-mail carrying a malicious document or archive, often themed on the "
        "recipient's job, research field or a current event.",
    ),
    _Technique(
        "T1566.002",
        "Spearphishing Link",
        ("initial-access",),
        "Targeted e-mail with a link to a credential-harvesting page or a payload download.",
    ),
    _Technique(
        "T1566.003",
        "Spearphishing via Service",
        ("initial-access",),
        "Lures sent over social networks or messaging services, such as fake recruiter "
        "approaches, that move the victim to a channel the company does not monitor.",
    ),
    _Technique(
        "T1189",
        "Drive-by Compromise",
        ("initial-access",),
        "Compromise of a website the targets visit (watering hole) to deliver an exploit.",
    ),
    _Technique(
        "T1190",
        "Exploit Public-Facing Application",
        ("initial-access",),
        "Exploitation of an unpatched internet-facing server, VPN or web application.",
    ),
    _Technique(
        "T1195.002",
        "Compromise Software Supply Chain",
        ("initial-access",),
        "Tampering with a vendor's build or update channel so that signed software carries "
        "the implant to every customer.",
    ),
    _Technique(
        "T1133",
        "External Remote Services",
        ("initial-access", "persistence"),
        "Use of VPN, RDP or other remote-access gateways with stolen or guessed credentials.",
    ),
    _Technique(
        "T1078",
        "Valid Accounts",
        ("initial-access", "persistence", "defense-evasion"),
        "Operating with legitimate accounts so that activity blends with normal administration.",
    ),
    _Technique(
        "T1204.002",
        "Malicious File",
        ("execution",),
        "The victim is persuaded to open a file that runs the first-stage payload.",
    ),
    _Technique(
        "T1059.001",
        "PowerShell",
        ("execution",),
        "PowerShell used for download cradles, reconnaissance and in-memory execution.",
    ),
    _Technique(
        "T1047",
        "Windows Management Instrumentation",
        ("execution",),
        "WMI used to run commands locally and on remote hosts without dropping tools.",
    ),
    _Technique(
        "T1547.001",
        "Registry Run Keys / Startup Folder",
        ("persistence",),
        "Persistence through Run keys or the Startup folder.",
    ),
    _Technique(
        "T1505.003",
        "Web Shell",
        ("persistence",),
        "A script placed on a compromised web server that gives the operator a command channel.",
    ),
    _Technique(
        "T1218.005",
        "Mshta",
        ("defense-evasion",),
        "HTML Application files executed with mshta.exe to run script outside browser controls.",
    ),
    _Technique(
        "T1027",
        "Obfuscated Files or Information",
        ("defense-evasion",),
        "Packed, encrypted or encoded payloads and configuration to hinder analysis.",
    ),
    _Technique(
        "T1656",
        "Impersonation",
        ("defense-evasion",),
        "Posing as a recruiter, journalist, researcher or official to gain the target's trust.",
    ),
    _Technique(
        "T1003.001",
        "LSASS Memory",
        ("credential-access",),
        "Credential material read from the memory of the LSASS process.",
    ),
    _Technique(
        "T1003.003",
        "NTDS",
        ("credential-access",),
        "Copy of the Active Directory database taken to crack or replay domain credentials.",
    ),
    _Technique(
        "T1071.001",
        "Web Protocols",
        ("command-and-control",),
        "Command and control over HTTP(S) that resembles ordinary web traffic.",
    ),
    _Technique(
        "T1090.003",
        "Multi-hop Proxy",
        ("command-and-control",),
        "Traffic relayed through chains of compromised routers or servers to hide its origin.",
    ),
    _Technique(
        "T1105",
        "Ingress Tool Transfer",
        ("command-and-control",),
        "Further tools downloaded into the victim network after the first foothold.",
    ),
    _Technique(
        "T1567.002",
        "Exfiltration to Cloud Storage",
        ("exfiltration",),
        "Stolen data uploaded to a public cloud storage service under the operator's account.",
    ),
    _Technique(
        "T1486",
        "Data Encrypted for Impact",
        ("impact",),
        "Files or disks encrypted to extort a ransom or disrupt operations.",
    ),
    _Technique(
        "T1583.001",
        "Domains",
        ("resource-development",),
        "Registration of look-alike domains for phishing and command and control.",
    ),
)


def _attack_reference(attack_id: str) -> dict[str, str]:
    """ATT&CK external reference in the form MITRE's own STIX data uses."""
    path = attack_id.replace(".", "/")
    return {
        "source_name": "mitre-attack",
        "external_id": attack_id,
        "url": f"https://attack.mitre.org/techniques/{path}/",
    }


# --- the curated demo data set -------------------------------------------------------------------


class _Org(NamedTuple):
    key: str
    name: str
    identity_class: str
    sectors: tuple[str, ...]
    country: str
    description: str
    contact: str


_ORGS: Final[tuple[_Org, ...]] = (
    _Org(
        "us-cert",
        "US National Cyber Response Center",
        "organization",
        ("government-national",),
        "USA",
        "National CERT of the United States in this demo: coordinates incident response for "
        "federal agencies and critical infrastructure and publishes joint advisories with "
        "allied CERTs. Fictional organisation.",
        "soc@usncrc.example",
    ),
    _Org(
        "kr-cert",
        "Korea National Cyber Incident Response Center",
        "organization",
        ("government-national",),
        "KOR",
        "National CERT of the Republic of Korea in this demo: receives incident reports from "
        "Korean companies and shares indicators with allied CERTs. Fictional organisation.",
        "cert@kncirc.example",
    ),
    _Org(
        "hanbit",
        "Hanbit Semiconductor Co., Ltd.",
        "organization",
        ("technology", "manufacturing"),
        "KOR",
        "Memory and foundry chip maker with fabs in Gyeonggi province. Fictional company.",
        "psirt@hanbit-semi.example",
    ),
    _Org(
        "haneul",
        "Haneul Mobile Networks",
        "organization",
        ("telecommunications",),
        "KOR",
        "Mobile network operator running 5G radio access and core networks. Fictional company.",
        "security@haneul-mobile.example",
    ),
    _Org(
        "pacific-crest",
        "Pacific Crest Communications",
        "organization",
        ("telecommunications", "infrastructure"),
        "USA",
        "Regional fixed and mobile carrier on the US West Coast and in Guam. Fictional company.",
        "cirt@pacificcrest.example",
    ),
    _Org(
        "sejong-energy",
        "Sejong Energy Materials",
        "organization",
        ("manufacturing", "energy"),
        "KOR",
        "Maker of cathode materials and battery cells for electric vehicles. Fictional company.",
        "infosec@sejong-energy.example",
    ),
    _Org(
        "daehan-nuclear",
        "Daehan Nuclear Engineering",
        "organization",
        ("nuclear", "construction"),
        "KOR",
        "Engineering contractor for nuclear power plant design and maintenance. Fictional company.",
        "cyber@daehan-ne.example",
    ),
    _Org(
        "crescent",
        "Crescent Aerospace Systems",
        "organization",
        ("aerospace", "defense"),
        "USA",
        "Defence contractor building satellite and avionics subsystems. Fictional company.",
        "soc@crescent-aero.example",
    ),
    _Org(
        "mirae-hospital",
        "Mirae University Hospital",
        "organization",
        ("healthcare",),
        "KOR",
        "Teaching hospital in Seoul. Fictional organisation.",
        "it-security@mirae-hospital.example",
    ),
    _Org(
        "arirang-exchange",
        "Arirang Digital Asset Exchange",
        "organization",
        ("financial-services",),
        "KOR",
        "Cryptocurrency exchange licensed in Korea. Fictional company.",
        "security@arirang-dax.example",
    ),
    _Org(
        "anonymous",
        "US-ROK sharing community member (pseudonymous)",
        "group",
        (),
        "",
        "Stands in for a community member that contributed without revealing its identity; "
        "the true contributor is known only to the node administrators.",
        "",
    ),
)


class _Place(NamedTuple):
    key: str
    name: str
    country: str
    region: str


_PLACES: Final[tuple[_Place, ...]] = (
    _Place("kr", "Republic of Korea", "KR", "eastern-asia"),
    _Place("us", "United States of America", "US", "northern-america"),
    _Place("kp", "Democratic People's Republic of Korea", "KP", "eastern-asia"),
    _Place("cn", "People's Republic of China", "CN", "eastern-asia"),
)


class _Actor(NamedTuple):
    key: str
    name: str
    types: tuple[str, ...]
    aliases: tuple[str, ...]
    location: str
    description: str


_ACTORS: Final[tuple[_Actor, ...]] = (
    _Actor(
        "rgb",
        "Reconnaissance General Bureau (DPRK)",
        ("nation-state",),
        ("RGB",),
        "kp",
        "North Korea's primary foreign intelligence agency. US and ROK government advisories "
        "attribute Lazarus Group, APT38, Andariel and Kimsuky activity to units under it.",
    ),
    _Actor(
        "dprk-state",
        "DPRK state-sponsored cyber actors",
        ("nation-state",),
        (),
        "kp",
        "North Korean state-sponsored operators whose public attribution does not name a "
        "specific agency.",
    ),
    _Actor(
        "mss",
        "Ministry of State Security (PRC) contractors",
        ("nation-state",),
        ("MSS",),
        "cn",
        "Front companies and contractors publicly reported as working for China's Ministry of "
        "State Security, including the one the US Department of Justice named in its 2024 "
        "APT31 indictment.",
    ),
    _Actor(
        "chengdu404",
        "Chengdu 404 Network Technology",
        ("nation-state", "crime-syndicate"),
        (),
        "cn",
        "Company whose personnel were indicted by the US Department of Justice in 2020 for "
        "intrusions publicly associated with APT41.",
    ),
    _Actor(
        "prc-state",
        "PRC state-sponsored cyber actors",
        ("nation-state",),
        (),
        "cn",
        "People's Republic of China state-sponsored operators, as named in the 2024 joint "
        "advisory on Volt Typhoon.",
    ),
)


class _Group(NamedTuple):
    key: str
    name: str
    aliases: tuple[str, ...]
    actor: str
    first_seen: str
    motivation: str
    goals: tuple[str, ...]
    techniques: tuple[str, ...]
    description: str


_GROUPS: Final[tuple[_Group, ...]] = (
    _Group(
        "lazarus",
        "Lazarus Group",
        ("HIDDEN COBRA", "ZINC", "Labyrinth Chollima"),
        "rgb",
        "2009-02-01",
        "organizational-gain",
        ("espionage", "revenue generation for the regime", "disruption"),
        ("T1566.003", "T1656", "T1204.002", "T1195.002", "T1071.001"),
        "North Korean state-sponsored intrusion set that US and ROK government advisories "
        "attribute to the Reconnaissance General Bureau. Public reporting covers espionage "
        "against defence and aerospace companies, destructive attacks and large-scale theft "
        "of cryptocurrency.",
    ),
    _Group(
        "apt38",
        "APT38",
        ("BlueNoroff", "Stardust Chollima", "BeagleBoyz"),
        "rgb",
        "2014-03-01",
        "personal-gain",
        ("theft of funds from banks and cryptocurrency businesses",),
        ("T1566.003", "T1204.002", "T1105", "T1071.001"),
        "Financially motivated North Korean intrusion set known for fraudulent interbank "
        "transfers and, more recently, intrusions at cryptocurrency exchanges and venture "
        "firms.",
    ),
    _Group(
        "andariel",
        "Andariel",
        ("Silent Chollima", "Onyx Sleet", "Stonefly"),
        "rgb",
        "2015-05-01",
        "organizational-gain",
        ("theft of defence, aerospace and nuclear technology", "ransomware revenue"),
        ("T1190", "T1505.003", "T1003.001", "T1486", "T1105"),
        "Publicly reported as a unit of the Reconnaissance General Bureau's 3rd Bureau. A 2024 "
        "joint advisory by US, ROK and UK agencies describes it stealing technical data from "
        "defence, aerospace, nuclear and engineering entities and funding itself with "
        "ransomware against hospitals.",
    ),
    _Group(
        "kimsuky",
        "Kimsuky",
        ("Velvet Chollima", "Emerald Sleet", "THALLIUM", "Black Banshee"),
        "rgb",
        "2012-09-01",
        "organizational-gain",
        ("intelligence on foreign policy, nuclear and sanctions issues",),
        (
            "T1566.001",
            "T1566.002",
            "T1656",
            "T1218.005",
            "T1583.001",
        ),
        "Intelligence-collection intrusion set that impersonates journalists, researchers and "
        "officials to reach think-tank staff, academics and government officials working on "
        "the Korean peninsula in South Korea, Japan and the United States.",
    ),
    _Group(
        "apt37",
        "APT37",
        ("ScarCruft", "Reaper", "InkySquid", "Ricochet Chollima"),
        "dprk-state",
        "2012-01-01",
        "organizational-gain",
        ("surveillance of defectors, journalists and ROK government bodies",),
        ("T1189", "T1566.001", "T1204.002", "T1567.002"),
        "North Korean intrusion set focused on South Korean targets. Public reporting "
        "describes watering-hole attacks, zero-day exploits delivered through topical lures "
        "and command and control over public cloud storage.",
    ),
    _Group(
        "apt41",
        "APT41",
        ("Wicked Panda", "Brass Typhoon", "BARIUM"),
        "chengdu404",
        "2012-04-01",
        "organizational-gain",
        ("espionage", "financial gain"),
        ("T1190", "T1195.002", "T1505.003", "T1078", "T1105"),
        "Chinese intrusion set that combines state-sponsored espionage with financially "
        "motivated operations. Reported techniques include software supply-chain compromise "
        "and rapid exploitation of newly disclosed web application vulnerabilities.",
    ),
    _Group(
        "apt31",
        "APT31",
        ("Zirconium", "Judgment Panda", "Violet Typhoon"),
        "mss",
        "2010-06-01",
        "organizational-gain",
        ("political and economic intelligence",),
        ("T1566.002", "T1583.001", "T1090.003"),
        "Chinese intrusion set that the US and UK governments publicly attributed in 2024 to "
        "an MSS-linked front company. It sent large volumes of e-mails with tracking links to "
        "officials, legislators, defence and technology companies.",
    ),
    _Group(
        "volt-typhoon",
        "Volt Typhoon",
        ("Vanguard Panda", "BRONZE SILHOUETTE", "Insidious Taurus"),
        "prc-state",
        "2021-05-01",
        "organizational-gain",
        ("pre-positioning for disruption of critical infrastructure",),
        ("T1190", "T1133", "T1047", "T1003.003", "T1090.003"),
        "PRC state-sponsored intrusion set that a 2024 joint advisory describes as "
        "pre-positioning in communications, energy, water and transportation networks, "
        "relying on living-off-the-land techniques and relaying traffic through compromised "
        "small-office routers.",
    ),
)


class _Family(NamedTuple):
    key: str
    name: str
    types: tuple[str, ...]
    groups: tuple[str, ...]
    techniques: tuple[str, ...]
    tlp: str
    description: str


_FAMILIES: Final[tuple[_Family, ...]] = (
    _Family(
        "wannacry",
        "WannaCry",
        ("ransomware", "worm"),
        ("lazarus",),
        ("T1486",),
        TLP_CLEAR,
        "Self-propagating ransomware of May 2017 that the US and UK governments publicly "
        "attributed to North Korea.",
    ),
    _Family(
        "applejeus",
        "AppleJeus",
        ("trojan", "backdoor"),
        ("lazarus", "apt38"),
        ("T1204.002",),
        TLP_CLEAR,
        "Trojanised cryptocurrency trading applications distributed through fake companies' "
        "websites, described in a 2021 US joint advisory.",
    ),
    _Family(
        "manuscrypt",
        "Manuscrypt",
        ("backdoor", "remote-access-trojan"),
        ("lazarus",),
        ("T1071.001",),
        TLP_GREEN,
        "Long-lived backdoor family with many variants, publicly associated with Lazarus "
        "Group operations against defence and cryptocurrency targets.",
    ),
    _Family(
        "blindingcan",
        "BLINDINGCAN",
        ("remote-access-trojan",),
        ("lazarus",),
        ("T1071.001",),
        TLP_CLEAR,
        "Remote access trojan delivered through fake job-offer documents to defence and "
        "aerospace staff, analysed in a 2020 US malware analysis report.",
    ),
    _Family(
        "hoplight",
        "HOPLIGHT",
        ("backdoor", "trojan"),
        ("lazarus",),
        ("T1090.003",),
        TLP_CLEAR,
        "Proxy-capable backdoor that disguises its traffic as TLS sessions, described in a "
        "2019 US malware analysis report.",
    ),
    _Family(
        "dtrack",
        "DTrack",
        ("spyware", "backdoor"),
        ("lazarus", "andariel"),
        ("T1105",),
        TLP_GREEN,
        "Modular spyware used for reconnaissance and data collection, reported in intrusions "
        "at research institutes and a nuclear power plant's administrative network.",
    ),
    _Family(
        "maui",
        "Maui",
        ("ransomware",),
        ("andariel",),
        ("T1486",),
        TLP_CLEAR,
        "Manually operated ransomware used against healthcare organisations, described in a "
        "2022 US joint advisory and attributed to Andariel in 2024.",
    ),
    _Family(
        "tigerrat",
        "TigerRAT",
        ("remote-access-trojan",),
        ("andariel",),
        ("T1071.001",),
        TLP_GREEN,
        "Remote access trojan reported by Korean security researchers in Andariel intrusions "
        "against Korean companies.",
    ),
    _Family(
        "rustbucket",
        "RustBucket",
        ("downloader", "backdoor"),
        ("apt38",),
        ("T1204.002",),
        TLP_GREEN,
        "macOS malware disguised as a PDF viewer, publicly associated with BlueNoroff "
        "operations against cryptocurrency and venture capital firms.",
    ),
    _Family(
        "babyshark",
        "BabyShark",
        ("spyware",),
        ("kimsuky",),
        ("T1218.005",),
        TLP_CLEAR,
        "Script-based reconnaissance malware launched through HTA files, used against "
        "national-security think tanks.",
    ),
    _Family(
        "appleseed",
        "AppleSeed",
        ("backdoor",),
        ("kimsuky",),
        ("T1547.001",),
        TLP_GREEN,
        "Backdoor reported by Korean researchers in Kimsuky spearphishing against Korean "
        "government and defence targets.",
    ),
    _Family(
        "gold-dragon",
        "Gold Dragon",
        ("spyware", "backdoor"),
        ("kimsuky",),
        ("T1547.001",),
        TLP_CLEAR,
        "Data-gathering implant first reported during the 2018 Winter Olympics in Pyeongchang.",
    ),
    _Family(
        "rokrat",
        "ROKRAT",
        ("remote-access-trojan",),
        ("apt37",),
        ("T1567.002",),
        TLP_CLEAR,
        "Remote access trojan that uses public cloud storage services for command and control "
        "and exfiltration; often delivered in Hangul Word Processor documents.",
    ),
    _Family(
        "dolphin",
        "Dolphin",
        ("backdoor",),
        ("apt37",),
        ("T1567.002",),
        TLP_GREEN,
        "Backdoor deployed against selected targets after watering-hole compromise, reported "
        "in 2022.",
    ),
    _Family(
        "shadowpad",
        "ShadowPad",
        ("backdoor",),
        ("apt41",),
        ("T1027",),
        TLP_CLEAR,
        "Modular backdoor sold or shared among several Chinese intrusion sets; first found in "
        "a 2017 software supply-chain compromise.",
    ),
    _Family(
        "keyplug",
        "KEYPLUG",
        ("backdoor",),
        ("apt41",),
        ("T1071.001",),
        TLP_GREEN,
        "Cross-platform backdoor with Windows and Linux variants, reported in APT41 intrusions "
        "at US state government networks.",
    ),
    _Family(
        "plugx",
        "PlugX",
        ("remote-access-trojan",),
        ("apt41",),
        ("T1105",),
        TLP_CLEAR,
        "Remote access trojan in use by many Chinese intrusion sets for over a decade.",
    ),
    _Family(
        "kv-botnet",
        "KV-botnet",
        ("bot",),
        ("volt-typhoon",),
        ("T1090.003",),
        TLP_GREEN,
        "Malware on end-of-life small-office routers that formed a covert relay network; the "
        "US Department of Justice announced its disruption in January 2024.",
    ),
)


class _Vuln(NamedTuple):
    cve: str
    name: str
    groups: tuple[str, ...]
    description: str


_VULNS: Final[tuple[_Vuln, ...]] = (
    _Vuln(
        "CVE-2021-44228",
        "Apache Log4j2 JNDI lookup remote code execution (Log4Shell)",
        ("andariel",),
        "Remote code execution through attacker-controlled JNDI lookups in logged strings.",
    ),
    _Vuln(
        "CVE-2023-42793",
        "JetBrains TeamCity authentication bypass",
        ("lazarus", "andariel"),
        "Unauthenticated remote code execution on on-premises TeamCity build servers.",
    ),
    _Vuln(
        "CVE-2023-46604",
        "Apache ActiveMQ OpenWire deserialisation",
        ("andariel",),
        "Remote code execution through crafted OpenWire messages to the message broker.",
    ),
    _Vuln(
        "CVE-2024-21338",
        "Windows AppLocker driver elevation of privilege",
        ("lazarus",),
        "Kernel-level privilege escalation through the appid.sys driver, reported as "
        "exploited in the wild in 2024.",
    ),
    _Vuln(
        "CVE-2022-41128",
        "Internet Explorer JScript remote code execution",
        ("apt37",),
        "Type confusion in the JScript engine, reported as exploited through documents themed "
        "on the 2022 Itaewon disaster.",
    ),
    _Vuln(
        "CVE-2021-44207",
        "USAHerds hard-coded machine key",
        ("apt41",),
        "Static ASP.NET machine keys that allow remote code execution through crafted "
        "ViewState data.",
    ),
    _Vuln(
        "CVE-2024-39717",
        "Versa Director file upload",
        ("volt-typhoon",),
        "Upload of malicious files through the GUI customisation feature; publicly reported, "
        "with moderate confidence, as exploited by Volt Typhoon.",
    ),
)


class _Mitigation(NamedTuple):
    key: str
    name: str
    techniques: tuple[str, ...]
    description: str


_MITIGATIONS: Final[tuple[_Mitigation, ...]] = (
    _Mitigation(
        "mfa",
        "Enforce phishing-resistant multi-factor authentication",
        ("T1078", "T1133", "T1566.002"),
        "FIDO2 or PKI-based MFA on VPN, remote access, e-mail and administrative accounts.",
    ),
    _Mitigation(
        "patch-edge",
        "Patch internet-facing systems on a known-exploited timeline",
        ("T1190", "T1505.003"),
        "Track known-exploited vulnerabilities and patch or isolate exposed systems within "
        "days, not months; hunt for web shells after patching.",
    ),
    _Mitigation(
        "attachments",
        "Detonate attachments and block document macros and HTA",
        ("T1566.001", "T1204.002", "T1218.005"),
        "Sandbox inbound documents, block macros from the internet and prevent mshta.exe from "
        "running for ordinary users.",
    ),
    _Mitigation(
        "supply-chain",
        "Verify software updates and keep an SBOM",
        ("T1195.002",),
        "Check vendor signatures and reproducible-build attestations, keep a software bill of "
        "materials and alert on unexpected outbound traffic from build and update servers.",
    ),
    _Mitigation(
        "backups",
        "Keep offline, tested backups",
        ("T1486",),
        "Maintain offline backups of clinical, engineering and business systems and rehearse "
        "restoration.",
    ),
    _Mitigation(
        "credential-protection",
        "Protect credential stores",
        ("T1003.001", "T1003.003"),
        "Enable LSA protection and Credential Guard, and alert on access to NTDS.dit and on "
        "volume shadow copies of domain controllers.",
    ),
)


class _Campaign(NamedTuple):
    key: str
    name: str
    group: str
    confidence: int
    first_seen: str
    day: str
    families: tuple[str, ...]
    techniques: tuple[str, ...]
    targets: tuple[str, ...]
    tlp: str
    creator: str
    description: str


_CAMPAIGNS: Final[tuple[_Campaign, ...]] = (
    _Campaign(
        "dream-job",
        "Operation Dream Job",
        "lazarus",
        85,
        "2020-01-15",
        "2025-10-20",
        ("blindingcan", "dtrack"),
        ("T1566.003", "T1656"),
        ("crescent", "daehan-nuclear"),
        TLP_GREEN,
        "us-cert",
        "Publicly reported Lazarus Group campaign of fake recruiter approaches to engineers in "
        "defence, aerospace and nuclear companies. The demo sightings at Crescent Aerospace "
        "and Daehan Nuclear Engineering are fictional.",
    ),
    _Campaign(
        "3cx",
        "3CX desktop application supply-chain compromise",
        "lazarus",
        60,
        "2023-03-22",
        "2025-10-01",
        (),
        ("T1195.002",),
        ("pacific-crest",),
        TLP_CLEAR,
        "us-cert",
        "Trojanised, vendor-signed installers of a widely used VoIP client, publicly reported "
        "in 2023 as the work of a North Korea-nexus cluster that overlaps with AppleJeus "
        "activity.",
    ),
    _Campaign(
        "wafer-fab",
        "Wafer-fab supplier-portal spearphishing, 2026",
        "andariel",
        30,
        "2026-01-19",
        "2026-01-20",
        ("tigerrat",),
        ("T1566.002", "T1583.001"),
        ("hanbit", "sejong-energy"),
        TLP_AMBER,
        "kr-cert",
        "Fictional demo campaign: look-alike supplier portals and roadmap-themed HWP documents "
        "sent to process engineers at a semiconductor maker and a battery maker. The "
        "attribution to Andariel is tentative and rests on infrastructure overlap.",
    ),
)


class _Ioc(NamedTuple):
    """One demo indicator: ``kind`` says how to turn ``value`` into a pattern."""

    key: str
    kind: str
    value: str
    indicates: str
    name: str
    creator: str
    tlp: str
    day: str
    confidence: int


_IOCS: Final[tuple[_Ioc, ...]] = (
    # Lazarus Group / Operation Dream Job
    _Ioc("dj-domain-1", "domain", "careers-aerostack.example", "campaign:dream-job",
         "Fake recruiter portal", "us-cert", TLP_GREEN, "2025-11-03", 80),
    _Ioc("dj-domain-2", "domain", "talent-recruit-hub.example", "campaign:dream-job",
         "Fake recruiter portal", "us-cert", TLP_GREEN, "2025-11-03", 75),
    _Ioc("dj-ip", "ipv4", "203.0.113.45", "campaign:dream-job",
         "Lure download server", "us-cert", TLP_GREEN, "2025-11-04", 70),
    _Ioc("dj-lure", "file-named", "Senior_Avionics_Engineer_JD.docx", "malware:blindingcan",
         "Job-description lure document", "crescent", TLP_AMBER, "2025-11-10", 90),
    _Ioc("blindingcan-url", "url", "https://cdn-updates.example/assets/img.php",
         "malware:blindingcan", "BLINDINGCAN C2 URL", "us-cert", TLP_GREEN, "2025-11-12", 80),
    _Ioc("manuscrypt-c2", "ipv4", "198.51.100.77", "malware:manuscrypt",
         "Manuscrypt C2 server", "us-cert", TLP_GREEN, "2025-10-21", 65),
    _Ioc("wannacry-hash", "sha256", "", "malware:wannacry",
         "WannaCry sample", "us-cert", TLP_CLEAR, "2025-10-02", 100),
    _Ioc("applejeus-domain", "domain", "celas-trade-pro.example", "malware:applejeus",
         "AppleJeus distribution site", "us-cert", TLP_GREEN, "2025-12-01", 85),
    _Ioc("applejeus-hash", "sha256", "", "malware:applejeus",
         "Trojanised trading application", "us-cert", TLP_GREEN, "2025-12-01", 90),
    _Ioc("dtrack-hash", "sha256", "", "malware:dtrack",
         "DTrack sample", "kr-cert", TLP_GREEN, "2025-10-27", 90),
    # 3CX supply-chain compromise
    _Ioc("3cx-domain", "domain", "azure-onlinestorage-cdn.example", "campaign:3cx",
         "Second-stage C2 domain", "us-cert", TLP_CLEAR, "2025-10-06", 85),
    _Ioc("3cx-dll", "file-named", "ffmpeg.dll", "campaign:3cx",
         "Trojanised library in signed installer", "us-cert", TLP_CLEAR, "2025-10-06", 95),
    # APT38
    _Ioc("rustbucket-domain", "domain", "docsend-cloudview.example", "malware:rustbucket",
         "RustBucket payload host", "us-cert", TLP_GREEN, "2025-12-02", 75),
    _Ioc("rustbucket-hash", "sha256", "", "malware:rustbucket",
         "RustBucket stage-1 viewer", "arirang-exchange", TLP_AMBER, "2026-01-08", 85),
    # Andariel
    _Ioc("maui-hash", "file-named", "maui.exe", "malware:maui",
         "Maui ransomware binary", "mirae-hospital", TLP_AMBER, "2026-02-10", 95),
    _Ioc("maui-ip", "ipv4", "198.51.100.23", "malware:maui",
         "Operator staging server", "kr-cert", TLP_GREEN, "2026-02-11", 70),
    _Ioc("mirae-ip", "ipv4", "198.51.100.24", "malware:maui",
         "Operator RDP source address", "mirae-hospital", TLP_RED, "2026-02-10", 60),
    _Ioc("tigerrat-ip", "ipv4", "203.0.113.102", "malware:tigerrat",
         "TigerRAT C2 server", "kr-cert", TLP_GREEN, "2025-12-15", 80),
    _Ioc("tigerrat-url", "url", "http://203.0.113.102/board/view.php", "malware:tigerrat",
         "TigerRAT C2 URL", "kr-cert", TLP_GREEN, "2025-12-15", 80),
    _Ioc("andariel-scanner", "ipv4", "192.0.2.58", "intrusion-set:andariel",
         "Log4Shell and ActiveMQ exploitation source", "kr-cert", TLP_GREEN, "2025-11-20", 65),
    _Ioc("andariel-pair", "pattern",
         "[ipv4-addr:value = '192.0.2.58'] OR [ipv4-addr:value = '192.0.2.59']",
         "intrusion-set:andariel", "Exploitation sources (pair)", "kr-cert", TLP_GREEN,
         "2025-11-21", 60),
    # Kimsuky
    _Ioc("kimsuky-phish-1", "domain", "nid-security-check.example", "intrusion-set:kimsuky",
         "Credential-phishing domain", "kr-cert", TLP_GREEN, "2025-12-08", 85),
    _Ioc("kimsuky-phish-2", "domain", "mail-accounts-verify.test", "intrusion-set:kimsuky",
         "Credential-phishing domain", "kr-cert", TLP_GREEN, "2025-12-09", 80),
    _Ioc("kimsuky-sender", "pattern",
         "[email-message:from_ref.value = 'policy-forum@peninsula-institute.example' "
         "AND email-message:subject = 'Invitation: 2026 Korean Peninsula Security Forum']",
         "intrusion-set:kimsuky", "Impersonated think-tank invitation", "kr-cert", TLP_AMBER,
         "2026-01-12", 90),
    _Ioc("babyshark-hash", "sha256", "", "malware:babyshark",
         "BabyShark HTA loader", "kr-cert", TLP_GREEN, "2025-12-10", 85),
    _Ioc("babyshark-url", "url", "http://drive-docs-share.example/hta/view.hta",
         "malware:babyshark", "BabyShark HTA URL", "kr-cert", TLP_GREEN, "2025-12-10", 80),
    _Ioc("appleseed-ip", "ipv4", "203.0.113.66", "malware:appleseed",
         "AppleSeed C2 server", "kr-cert", TLP_GREEN, "2026-01-05", 75),
    _Ioc("appleseed-hash", "sha256", "", "malware:appleseed",
         "AppleSeed dropper", "daehan-nuclear", TLP_AMBER, "2026-01-14", 85),
    # APT37
    _Ioc("rokrat-hash", "file-named", "North_Korea_Economy_2026.hwp", "malware:rokrat",
         "ROKRAT lure document", "kr-cert", TLP_GREEN, "2026-01-22", 90),
    _Ioc("rokrat-cloud", "url", "https://api.cloud-drive.example/2/files/upload",
         "malware:rokrat", "ROKRAT cloud-storage upload endpoint", "kr-cert", TLP_GREEN,
         "2026-01-22", 55),
    _Ioc("apt37-watering-hole", "domain", "daily-nk-news.example", "intrusion-set:apt37",
         "Compromised news site (watering hole)", "kr-cert", TLP_AMBER, "2025-11-14", 70),
    # APT41
    _Ioc("shadowpad-ip", "ipv4", "198.51.100.140", "malware:shadowpad",
         "ShadowPad C2 server", "us-cert", TLP_GREEN, "2025-12-18", 75),
    _Ioc("shadowpad-hash", "sha256", "", "malware:shadowpad",
         "ShadowPad loader DLL", "us-cert", TLP_GREEN, "2025-12-18", 90),
    _Ioc("keyplug-domain", "domain", "static-edge-cdn.test", "malware:keyplug",
         "KEYPLUG C2 domain", "us-cert", TLP_GREEN, "2026-01-09", 70),
    _Ioc("keyplug-hash", "sha256", "", "malware:keyplug",
         "KEYPLUG Linux variant", "us-cert", TLP_AMBER, "2026-01-09", 85),
    _Ioc("plugx-hash", "sha256", "", "malware:plugx",
         "PlugX side-loaded DLL", "us-cert", TLP_CLEAR, "2025-10-15", 90),
    _Ioc("apt41-webshell", "url", "http://192.0.2.200/aspnet_client/system_web/ok.aspx",
         "intrusion-set:apt41", "Web shell on compromised IIS server", "us-cert", TLP_AMBER,
         "2026-01-27", 80),
    # APT31
    _Ioc("apt31-tracking", "domain", "news-briefing-link.example", "intrusion-set:apt31",
         "Tracking-link domain", "us-cert", TLP_GREEN, "2025-11-25", 75),
    _Ioc("apt31-relay", "ipv4", "198.51.100.201", "intrusion-set:apt31",
         "Relay node", "us-cert", TLP_GREEN, "2025-11-25", 55),
    # Volt Typhoon
    _Ioc("kv-ip-1", "ipv4", "203.0.113.210", "malware:kv-botnet",
         "KV-botnet relay router", "us-cert", TLP_GREEN, "2026-02-02", 80),
    _Ioc("kv-ip-2", "ipv4", "203.0.113.211", "malware:kv-botnet",
         "KV-botnet relay router", "us-cert", TLP_GREEN, "2026-02-02", 80),
    _Ioc("kv-range", "pattern", "[ipv4-addr:value ISSUBSET '203.0.113.208/28']",
         "malware:kv-botnet", "KV-botnet relay block", "pacific-crest", TLP_AMBER,
         "2026-02-05", 60),
    _Ioc("volt-netflow", "pattern",
         "[network-traffic:dst_ref.type = 'ipv4-addr' AND "
         "network-traffic:dst_ref.value = '192.0.2.150' AND network-traffic:dst_port = 8443]",
         "intrusion-set:volt-typhoon", "Relay traffic to management port", "pacific-crest",
         TLP_AMBER_STRICT, "2026-02-06", 70),
    # Fictional wafer-fab campaign (contributed by the companies)
    _Ioc("wafer-domain", "domain", "hanbit-supplier-portal.example", "campaign:wafer-fab",
         "Look-alike supplier portal", "hanbit", TLP_AMBER_STRICT, "2026-01-20", 90),
    _Ioc("wafer-doc", "file-named", "EUV_Roadmap_2026.hwp", "campaign:wafer-fab",
         "Roadmap-themed lure document", "hanbit", TLP_AMBER_STRICT, "2026-01-20", 90),
    _Ioc("wafer-ip", "ipv4", "192.0.2.77", "campaign:wafer-fab",
         "Supplier-portal hosting server", "kr-cert", TLP_AMBER, "2026-01-23", 75),
    _Ioc("wafer-any", "pattern",
         "[domain-name:value = 'hanbit-supplier-portal.example'] OR "
         "[url:value = 'https://sejong-vendor-login.example/auth']",
         "campaign:wafer-fab", "Supplier-portal lures (either company)", "kr-cert", TLP_AMBER,
         "2026-01-26", 80),
)  # fmt: skip


class _Seen(NamedTuple):
    """One demo sighting of the indicator ``ioc`` at the organisations ``where``."""

    ioc: str
    where: tuple[str, ...]
    creator: str
    tlp: str
    first: str
    last: str
    times: int
    observed: str


_SIGHTINGS: Final[tuple[_Seen, ...]] = (
    _Seen("maui-hash", ("mirae-hospital",), "mirae-hospital", TLP_AMBER,
          "2026-02-09", "2026-02-10", 14, "mirae"),
    _Seen("maui-ip", ("mirae-hospital",), "kr-cert", TLP_AMBER,
          "2026-02-08", "2026-02-10", 6, "mirae"),
    _Seen("mirae-ip", ("mirae-hospital",), "mirae-hospital", TLP_RED,
          "2026-02-08", "2026-02-09", 3, ""),
    _Seen("wafer-domain", ("hanbit",), "hanbit", TLP_AMBER_STRICT,
          "2026-01-19", "2026-01-21", 27, "hanbit"),
    _Seen("wafer-doc", ("hanbit",), "hanbit", TLP_AMBER_STRICT,
          "2026-01-19", "2026-01-19", 4, "hanbit"),
    _Seen("wafer-ip", ("hanbit", "sejong-energy"), "kr-cert", TLP_AMBER,
          "2026-01-19", "2026-01-25", 41, ""),
    _Seen("wafer-any", ("sejong-energy",), "sejong-energy", TLP_AMBER,
          "2026-01-24", "2026-01-26", 9, ""),
    _Seen("kv-ip-1", ("pacific-crest",), "pacific-crest", TLP_AMBER,
          "2026-01-28", "2026-02-04", 212, "pacific"),
    _Seen("kv-ip-2", ("pacific-crest", "haneul"), "us-cert", TLP_AMBER,
          "2026-01-30", "2026-02-05", 87, "pacific"),
    _Seen("kv-range", ("haneul",), "haneul", TLP_AMBER,
          "2026-02-06", "2026-02-12", 33, ""),
    _Seen("volt-netflow", ("pacific-crest",), "pacific-crest", TLP_AMBER_STRICT,
          "2026-02-03", "2026-02-06", 5, ""),
    _Seen("dj-domain-1", ("crescent",), "crescent", TLP_AMBER,
          "2025-11-06", "2025-11-10", 3, "crescent"),
    _Seen("dj-ip", ("crescent",), "crescent", TLP_AMBER,
          "2025-11-06", "2025-11-06", 1, "crescent"),
    _Seen("dj-domain-1", ("daehan-nuclear",), "daehan-nuclear", TLP_AMBER,
          "2025-11-17", "2025-11-18", 2, ""),
    _Seen("kimsuky-phish-1", ("kr-cert", "daehan-nuclear"), "kr-cert", TLP_GREEN,
          "2025-12-08", "2025-12-19", 58, ""),
    _Seen("kimsuky-sender", ("kr-cert",), "kr-cert", TLP_AMBER,
          "2026-01-12", "2026-01-13", 17, ""),
    _Seen("appleseed-ip", ("daehan-nuclear",), "daehan-nuclear", TLP_AMBER,
          "2026-01-13", "2026-01-15", 11, ""),
    _Seen("rokrat-hash", ("kr-cert",), "kr-cert", TLP_GREEN,
          "2026-01-22", "2026-01-28", 8, ""),
    _Seen("shadowpad-ip", ("us-cert",), "us-cert", TLP_GREEN,
          "2025-12-17", "2025-12-30", 19, ""),
    _Seen("apt41-webshell", ("us-cert",), "us-cert", TLP_AMBER,
          "2026-01-26", "2026-01-27", 2, ""),
    _Seen("applejeus-domain", ("arirang-exchange",), "arirang-exchange", TLP_AMBER,
          "2025-12-03", "2025-12-05", 4, ""),
    _Seen("rustbucket-hash", ("arirang-exchange",), "arirang-exchange", TLP_AMBER_STRICT,
          "2026-01-07", "2026-01-08", 2, ""),
    _Seen("3cx-domain", ("pacific-crest", "anonymous"), "anonymous", TLP_GREEN,
          "2025-10-06", "2025-10-09", 130, ""),
    _Seen("andariel-scanner", ("haneul", "us-cert"), "kr-cert", TLP_GREEN,
          "2025-11-19", "2025-11-27", 460, ""),
)  # fmt: skip


class _Observation(NamedTuple):
    key: str
    where: str
    first: str
    last: str
    times: int
    observables: tuple[str, ...]


_OBSERVATIONS: Final[tuple[_Observation, ...]] = (
    _Observation(
        "mirae", "mirae-hospital", "2026-02-08", "2026-02-10", 20, ("maui-hash", "maui-ip")
    ),
    _Observation("hanbit", "hanbit", "2026-01-19", "2026-01-21", 31, ("wafer-domain", "wafer-doc")),
    _Observation(
        "pacific", "pacific-crest", "2026-01-28", "2026-02-05", 299, ("kv-ip-1", "kv-ip-2")
    ),
    _Observation("crescent", "crescent", "2025-11-06", "2025-11-10", 4, ("dj-domain-1", "dj-ip")),
)


class _Demo:
    """Builds the curated data set; ids, hashes and times are derived from (seed, key).

    Deriving each value from the object's own key, rather than from one random stream, keeps
    the ids of existing objects stable when the data set is extended, and two nodes started
    with the same seed hold the same objects (which is what a federation demo wants).
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.objects: list[StixObject] = []
        self.ids: dict[str, str] = {}
        self.latest: dict[str, StixObject] = {}
        self.created_ms: dict[str, int] = {}
        self.tlp: dict[str, str] = {}

    # -- derived values --

    def digest(self, key: str) -> bytes:
        return hashlib.sha256(f"allyshare-demo\x00{self.seed}\x00{key}".encode()).digest()

    def new_id(self, stix_type: str, key: str) -> str:
        ident = f"{stix_type}--{uuid.UUID(bytes=self.digest(key)[:16], version=4)}"
        self.ids[key] = ident
        return ident

    def sha256_hex(self, key: str) -> str:
        return hashlib.sha256(self.digest("sample:" + key)).hexdigest()

    def at(self, key: str, day: str) -> int:
        """A working-hours time (KST/US overlap, 00:00-10:00 UTC) on ``day`` for ``key``."""
        jitter = int.from_bytes(self.digest("time:" + key)[:4], "big") % (10 * 3_600_000)
        return _day_ms(day) + jitter

    # -- object construction --

    def sdo(
        self,
        key: str,
        stix_type: str,
        day: str,
        creator: str | None,
        tlp: str,
        props: StixObject,
        *,
        not_before: int = 0,
    ) -> StixObject:
        """Add the first version of an SDO or SRO, created on ``day`` (but after ``not_before``)."""
        ident = self.new_id(stix_type, key)
        ms = self.at(key, day)
        if not_before:
            # One to three and a half hours after what it depends on, like an analyst's work.
            ms = max(ms, not_before + 3_600_000 + (ms - _day_ms(day)) // 4)
        stamp = _timestamp(ms)
        obj: StixObject = {"type": stix_type, "spec_version": "2.1", "id": ident}
        if creator is not None:
            obj["created_by_ref"] = self.ids[creator]
        obj["created"] = stamp
        obj["modified"] = stamp
        obj.update(props)
        obj["object_marking_refs"] = [tlp]
        self.objects.append(obj)
        self.latest[key] = obj
        self.created_ms[key] = ms
        self.tlp[key] = tlp
        return obj

    def sco(self, key: str, stix_type: str, tlp: str, contributing: StixObject) -> StixObject:
        ident = sco_id(stix_type, contributing)
        self.ids[key] = ident
        obj: StixObject = {"type": stix_type, "spec_version": "2.1", "id": ident}
        obj.update(contributing)
        obj["object_marking_refs"] = [tlp]
        self.objects.append(obj)
        self.tlp[key] = tlp
        return obj

    def relate(
        self,
        source: str,
        relationship_type: str,
        target: str,
        creator: str,
        *,
        tlp: str | None = None,
        confidence: int | None = None,
    ) -> StixObject:
        """Relationship between two keyed objects, marked at least as strictly as either end."""
        key = f"rel:{source}:{relationship_type}:{target}"
        if tlp is None:
            tlp = max(self.tlp[source], self.tlp[target], key=_TLP_RANK.__getitem__)
        props: StixObject = {"relationship_type": relationship_type}
        props["source_ref"] = self.ids[source]
        props["target_ref"] = self.ids[target]
        if confidence is not None:
            props["confidence"] = confidence
        after = max(self.created_ms.get(source, 0), self.created_ms.get(target, 0))
        return self.sdo(key, "relationship", "2025-10-01", creator, tlp, props, not_before=after)

    def revise(self, key: str, day: str, changes: StixObject) -> StixObject:
        """Append a new version of ``key``: same id and created, later modified, ``changes``."""
        previous = self.latest[key]
        version = copy.deepcopy(previous)
        version["modified"] = _timestamp(self.at(f"{key}#{day}", day))
        if version["modified"] <= previous["modified"]:
            raise ValueError(f"revision of {key} on {day} is not later than the last version")
        version.update(changes)
        self.objects.append(version)
        self.latest[key] = version
        return version

    # -- the data set --

    def build(self) -> list[StixObject]:
        self.objects.extend(tlp_marking_definitions())
        self.tlp.update({ref: ref for ref in TLP_MARKING_IDS})
        self.identities_and_places()
        self.adversaries()
        self.techniques()
        self.campaigns()
        self.observables()
        self.indicators()
        self.sightings()
        self.analysis()
        self.reports()
        self.revisions()
        return self.objects

    def identities_and_places(self) -> None:
        for org in _ORGS:
            key = "identity:" + org.key
            self.ids[org.key] = self.new_id("identity", key)
            self.ids[key] = self.ids[org.key]
            props: StixObject = {
                "name": org.name,
                "description": org.description,
                "identity_class": org.identity_class,
            }
            if org.sectors:
                props["sectors"] = list(org.sectors)
            if org.contact:
                props["contact_information"] = org.contact
            if org.country:
                props["labels"] = [f"country:{org.country}"]
            creator = None if org.key == "anonymous" else org.key
            self.sdo(key, "identity", "2025-09-01", creator, TLP_GREEN, props)
            self.alias(org.key, key)
        for place in _PLACES:
            self.sdo(
                place.key,
                "location",
                "2025-09-01",
                "us-cert" if place.country == "US" else "kr-cert",
                TLP_CLEAR,
                {"name": place.name, "region": place.region, "country": place.country},
            )

    def alias(self, short: str, key: str) -> None:
        """Let ``short`` name the same object as ``key`` in relationships and references."""
        self.ids[short] = self.ids[key]
        self.tlp[short] = self.tlp[key]
        self.created_ms[short] = self.created_ms[key]
        self.latest[short] = self.latest[key]

    def adversaries(self) -> None:
        for actor in _ACTORS:
            key = "threat-actor:" + actor.key
            props: StixObject = {
                "name": actor.name,
                "description": actor.description,
                "threat_actor_types": list(actor.types),
            }
            if actor.aliases:
                props["aliases"] = list(actor.aliases)
            props |= {
                "roles": ["sponsor", "director"],
                "sophistication": "strategic",
                "resource_level": "government",
                "primary_motivation": "organizational-gain",
            }
            self.sdo(key, "threat-actor", "2025-09-02", "us-cert", TLP_GREEN, props)
            self.relate(key, "located-at", actor.location, "us-cert", tlp=TLP_GREEN)
        for group in _GROUPS:
            key = "intrusion-set:" + group.key
            # The Korean CERT leads on the groups that mostly target Korea.
            creator = "kr-cert" if group.key in {"andariel", "kimsuky", "apt37"} else "us-cert"
            self.sdo(
                key,
                "intrusion-set",
                "2025-09-03",
                creator,
                TLP_CLEAR,
                {
                    "name": group.name,
                    "description": group.description,
                    "aliases": list(group.aliases),
                    "first_seen": _timestamp(_day_ms(group.first_seen)),
                    "goals": list(group.goals),
                    "resource_level": "government",
                    "primary_motivation": group.motivation,
                },
            )
            self.relate(key, "attributed-to", "threat-actor:" + group.actor, creator)
        for family in _FAMILIES:
            key = "malware:" + family.key
            self.sdo(
                key,
                "malware",
                "2025-09-04",
                self.creator_key("intrusion-set:" + family.groups[0]),
                family.tlp,
                {
                    "name": family.name,
                    "description": family.description,
                    "malware_types": list(family.types),
                    "is_family": True,
                },
            )
            for group_key in family.groups:
                user = "intrusion-set:" + group_key
                self.relate(user, "uses", key, self.creator_key(user))
        for vuln in _VULNS:
            key = "vulnerability:" + vuln.cve
            self.sdo(
                key,
                "vulnerability",
                "2025-09-05",
                "us-cert",
                TLP_CLEAR,
                {
                    "name": vuln.cve,
                    "description": f"{vuln.name}. {vuln.description}",
                    "external_references": [
                        {
                            "source_name": "cve",
                            "external_id": vuln.cve,
                            "url": f"https://www.cve.org/CVERecord?id={vuln.cve}",
                        }
                    ],
                },
            )
            for group_key in vuln.groups:
                self.relate("intrusion-set:" + group_key, "targets", key, "us-cert")

    def techniques(self) -> None:
        for technique in _TECHNIQUES:
            key = "attack-pattern:" + technique.attack_id
            self.sdo(
                key,
                "attack-pattern",
                "2025-09-02",
                "us-cert",
                TLP_CLEAR,
                {
                    "name": technique.name,
                    "description": technique.description,
                    "kill_chain_phases": [
                        {"kill_chain_name": "mitre-attack", "phase_name": phase}
                        for phase in technique.phases
                    ],
                    "external_references": [_attack_reference(technique.attack_id)],
                },
            )
        for group in _GROUPS:
            creator = self.creator_key("intrusion-set:" + group.key)
            for attack_id in group.techniques:
                self.relate(
                    "intrusion-set:" + group.key, "uses", "attack-pattern:" + attack_id, creator
                )
        for family in _FAMILIES:
            for attack_id in family.techniques:
                key = "malware:" + family.key
                self.relate(key, "uses", "attack-pattern:" + attack_id, self.creator_key(key))
        for mitigation in _MITIGATIONS:
            key = "course-of-action:" + mitigation.key
            self.sdo(
                key,
                "course-of-action",
                "2025-09-08",
                "us-cert",
                TLP_CLEAR,
                {"name": mitigation.name, "description": mitigation.description},
            )
            for attack_id in mitigation.techniques:
                self.relate(key, "mitigates", "attack-pattern:" + attack_id, "us-cert")
        for group_key, place in (
            ("kimsuky", "kr"),
            ("kimsuky", "us"),
            ("apt37", "kr"),
            ("andariel", "kr"),
            ("andariel", "us"),
            ("volt-typhoon", "us"),
            ("apt31", "us"),
            ("lazarus", "kr"),
        ):
            key = "intrusion-set:" + group_key
            self.relate(key, "targets", place, self.creator_key(key))
        for group_key, org in (
            ("andariel", "mirae-hospital"),
            ("andariel", "daehan-nuclear"),
            ("kimsuky", "daehan-nuclear"),
            ("volt-typhoon", "pacific-crest"),
            ("apt38", "arirang-exchange"),
        ):
            key = "intrusion-set:" + group_key
            self.relate(key, "targets", org, self.creator_key(key), tlp=TLP_AMBER)

    def creator_key(self, key: str) -> str:
        """Short key of the organisation that created ``key``."""
        creator = self.latest[key]["created_by_ref"]
        return next(org.key for org in _ORGS if self.ids[org.key] == creator)

    def campaigns(self) -> None:
        for campaign in _CAMPAIGNS:
            key = "campaign:" + campaign.key
            self.sdo(
                key,
                "campaign",
                campaign.day,
                campaign.creator,
                campaign.tlp,
                {
                    "name": campaign.name,
                    "description": campaign.description,
                    "first_seen": _timestamp(_day_ms(campaign.first_seen)),
                },
            )
            self.relate(
                key,
                "attributed-to",
                "intrusion-set:" + campaign.group,
                campaign.creator,
                confidence=campaign.confidence,
            )
            for family in campaign.families:
                self.relate(key, "uses", "malware:" + family, campaign.creator)
            for attack_id in campaign.techniques:
                self.relate(key, "uses", "attack-pattern:" + attack_id, campaign.creator)
            for org in campaign.targets:
                self.relate(key, "targets", org, campaign.creator, tlp=TLP_AMBER)
        for key, name, kind, group, tlp, description in (
            (
                "kv-relays",
                "KV-botnet relay network",
                "botnet",
                "volt-typhoon",
                TLP_GREEN,
                "End-of-life small-office routers used to relay operator traffic into victim "
                "networks so that it appears to come from nearby residential addresses.",
            ),
            (
                "dream-job-sites",
                "Fake recruiter websites",
                "phishing",
                "lazarus",
                TLP_GREEN,
                "Web sites of non-existent staffing agencies that host job descriptions "
                "carrying the first-stage implant.",
            ),
        ):
            infra = "infrastructure:" + key
            self.sdo(
                infra,
                "infrastructure",
                "2026-02-03" if group == "volt-typhoon" else "2025-11-05",
                "us-cert",
                tlp,
                {"name": name, "description": description, "infrastructure_types": [kind]},
            )
            self.relate("intrusion-set:" + group, "uses", infra, "us-cert")

    def observables(self) -> None:
        """SCOs for the values members actually observed, tied to infrastructure and malware."""
        for ioc_key in _OBSERVED_IOCS:
            ioc = _IOC_BY_KEY[ioc_key]
            key = "sco:" + ioc.key
            if ioc.kind == "ipv4":
                self.sco(key, "ipv4-addr", ioc.tlp, {"value": ioc.value})
            elif ioc.kind == "domain":
                self.sco(key, "domain-name", ioc.tlp, {"value": ioc.value})
            elif ioc.kind == "url":
                self.sco(key, "url", ioc.tlp, {"value": ioc.value})
            else:
                contributing: StixObject = {"hashes": {"SHA-256": self.sha256_hex(ioc.key)}}
                if ioc.value:
                    contributing["name"] = ioc.value
                self.sco(key, "file", ioc.tlp, contributing)
        for infra, members in (
            ("kv-relays", ("kv-ip-1", "kv-ip-2")),
            ("dream-job-sites", ("dj-domain-1", "dj-domain-2")),
        ):
            for member in members:
                self.relate("infrastructure:" + infra, "consists-of", "sco:" + member, "us-cert")
        for family, member in (
            ("blindingcan", "blindingcan-url"),
            ("tigerrat", "tigerrat-ip"),
            ("shadowpad", "shadowpad-ip"),
            ("appleseed", "appleseed-ip"),
        ):
            self.relate("malware:" + family, "communicates-with", "sco:" + member, "us-cert")
        for obs in _OBSERVATIONS:
            refs = [self.ids["sco:" + k] for k in obs.observables]
            tlp = max((self.tlp["sco:" + k] for k in obs.observables), key=_TLP_RANK.__getitem__)
            self.sdo(
                "observed-data:" + obs.key,
                "observed-data",
                obs.last,
                obs.where,
                tlp,
                {
                    "first_observed": _timestamp(self.at("first:" + obs.key, obs.first)),
                    "last_observed": _timestamp(self.at("last:" + obs.key, obs.last)),
                    "number_observed": obs.times,
                    "object_refs": refs,
                },
                not_before=_day_ms(obs.last) + 10 * 3_600_000,
            )

    def indicators(self) -> None:
        for ioc in _IOCS:
            key = "indicator:" + ioc.key
            pattern, noun = self.pattern(ioc)
            stamp = self.at(key, ioc.day)
            props: StixObject = {
                "name": ioc.name,
                "description": f"{noun} associated with {self.display(ioc.indicates)}.",
                "indicator_types": ["malicious-activity"],
                "pattern": pattern,
                "pattern_type": "stix",
                "pattern_version": "2.1",
                "valid_from": _timestamp(stamp),
            }
            if ioc.kind in {"ipv4", "url", "pattern"}:
                # Network infrastructure changes hands; stop matching after six months.
                props["valid_until"] = _timestamp(stamp + 182 * _MS_PER_DAY)
            props["confidence"] = ioc.confidence
            props["labels"] = [ioc.indicates.partition(":")[2]]
            self.sdo(key, "indicator", ioc.day, ioc.creator, ioc.tlp, props)
            self.relate(key, "indicates", ioc.indicates, ioc.creator)

    def pattern(self, ioc: _Ioc) -> tuple[str, str]:
        """STIX pattern for ``ioc`` and a noun phrase describing what it matches."""
        if ioc.kind == "ipv4":
            return f"[ipv4-addr:value = '{ioc.value}']", f"IPv4 address {ioc.value}"
        if ioc.kind == "domain":
            return f"[domain-name:value = '{ioc.value}']", f"Domain {ioc.value}"
        if ioc.kind == "url":
            return f"[url:value = '{ioc.value}']", f"URL {ioc.value}"
        if ioc.kind == "sha256":
            digest = self.sha256_hex(ioc.key)
            return f"[file:hashes.'SHA-256' = '{digest}']", "File"
        if ioc.kind == "file-named":
            digest = self.sha256_hex(ioc.key)
            return (
                f"[file:hashes.'SHA-256' = '{digest}' AND file:name = '{ioc.value}']",
                f"File {ioc.value}",
            )
        return ioc.value, "Activity"

    def display(self, key: str) -> str:
        return str(self.latest[key]["name"])

    def sightings(self) -> None:
        for seen in _SIGHTINGS:
            key = f"sighting:{seen.ioc}@{seen.where[0]}"
            indicator = "indicator:" + seen.ioc
            # The text names no sighter: anonymised contributions replace only the references.
            props: StixObject = {
                "description": f"Matches for '{self.display(indicator)}' in the sighting "
                "organisation's network and endpoint telemetry.",
                "first_seen": _timestamp(self.at("first:" + key, seen.first)),
                "last_seen": _timestamp(self.at("last:" + key, seen.last) + 12 * 3_600_000),
                "count": seen.times,
                "sighting_of_ref": self.ids[indicator],
            }
            after = max(self.created_ms[indicator], _day_ms(seen.last) + 23 * 3_600_000)
            if seen.observed:
                observed = "observed-data:" + seen.observed
                props["observed_data_refs"] = [self.ids[observed]]
                after = max(after, self.created_ms[observed])
            props["where_sighted_refs"] = [self.ids[w] for w in seen.where]
            self.sdo(
                key,
                "sighting",
                seen.last,
                seen.creator,
                seen.tlp,
                props,
                not_before=after,
            )
        # Withheld detail: the object is AMBER, the description only for the hospital itself.
        first = self.latest["sighting:maui-hash@mirae-hospital"]
        first["description"] = (
            "Maui encrypted the PACS image archive and two file servers; the operators entered "
            "through an unpatched remote-access gateway."
        )
        first["granular_markings"] = [{"marking_ref": TLP_RED, "selectors": ["description"]}]

    def analysis(self) -> None:
        notes = (
            (
                "wafer-overlap",
                "kr-cert",
                TLP_AMBER,
                "2026-01-27",
                "Infrastructure overlap with earlier Andariel activity",
                "The supplier-portal server 192.0.2.77 shared a TLS certificate with a TigerRAT "
                "C2 server reported in December 2025. Two member companies saw the same lure "
                "within a week; other semiconductor and battery makers should check their "
                "mail logs for the portal domains.",
                ("campaign:wafer-fab", "indicator:wafer-ip", "malware:tigerrat"),
            ),
            (
                "kv-routers",
                "us-cert",
                TLP_GREEN,
                "2026-02-06",
                "Relay routers are end-of-life models",
                "All relay addresses seen so far belong to small-office routers that no longer "
                "receive firmware updates. Carriers can notify affected customers; blocking the "
                "addresses alone has limited effect because the pool rotates.",
                ("malware:kv-botnet", "infrastructure:kv-relays", "indicator:kv-ip-1"),
            ),
            (
                "maui-recovery",
                "kr-cert",
                TLP_AMBER,
                "2026-02-12",
                "Recovery without paying",
                "The hospital restored clinical systems from offline backups within 36 hours. "
                "The ransom note matched earlier Maui cases; no data leak site was referenced.",
                ("malware:maui", "indicator:maui-hash", "mirae-hospital"),
            ),
        )
        for key, creator, tlp, day, abstract, content, refs in notes:
            self.sdo(
                "note:" + key,
                "note",
                day,
                creator,
                tlp,
                {
                    "abstract": abstract,
                    "content": content,
                    "authors": [f"{self.display(creator)} analysis team"],
                    "object_refs": [self.ids[r] for r in refs],
                },
                not_before=max(self.created_ms[r] for r in refs),
            )
        for key, creator, day, opinion, text, target in (
            (
                "hanbit-attribution",
                "hanbit",
                "2026-01-29",
                "agree",
                "Our incident responders found the same certificate reuse.",
                "rel:campaign:wafer-fab:attributed-to:intrusion-set:andariel",
            ),
            (
                "haneul-kv",
                "haneul",
                "2026-02-13",
                "strongly-agree",
                "The same router models relay traffic into our network.",
                "note:kv-routers",
            ),
        ):
            self.sdo(
                "opinion:" + key,
                "opinion",
                day,
                creator,
                TLP_AMBER,
                {"explanation": text, "opinion": opinion, "object_refs": [self.ids[target]]},
                not_before=self.created_ms[target],
            )

    def reports(self) -> None:
        for key, name, creator, tlp, day, types, description, refs in _REPORTS:
            report = self.sdo(
                "report:" + key,
                "report",
                day,
                creator,
                tlp,
                {
                    "name": name,
                    "description": description,
                    "report_types": list(types),
                    "published": "",  # the creation time, set below
                    "object_refs": [self.ids[r] for r in refs],
                },
                not_before=max(self.created_ms[r] for r in refs),
            )
            report["published"] = report["created"]

    def revisions(self) -> None:
        """Later versions, so version filters and history views have something to show."""
        lazarus = self.latest["intrusion-set:lazarus"]
        self.revise(
            "intrusion-set:lazarus",
            "2025-12-12",
            {"aliases": [*lazarus["aliases"], "Diamond Sleet"]},
        )
        self.revise(
            "intrusion-set:lazarus",
            "2026-02-20",
            {
                "description": lazarus["description"]
                + " Since 2024 it has also exploited build servers and signed-driver flaws "
                "(CVE-2023-42793, CVE-2024-21338)."
            },
        )
        self.revise(
            "intrusion-set:volt-typhoon",
            "2026-02-14",
            {"aliases": [*self.latest["intrusion-set:volt-typhoon"]["aliases"], "Voltzite"]},
        )
        self.revise(
            "malware:maui",
            "2026-02-12",
            {
                "description": self.latest["malware:maui"]["description"]
                + " A 2026 case at a Korean hospital used the same command-line interface.",
                "capabilities": ["compromises-data-availability", "cleans-traces-of-infection"],
            },
        )
        self.revise("indicator:maui-ip", "2026-02-13", {"confidence": 85})
        self.revise(
            "indicator:maui-ip", "2026-03-02", {"confidence": 85, "revoked": True}
        )  # infrastructure taken down; the address is reassigned
        self.revise(
            "indicator:kimsuky-phish-1",
            "2026-01-30",
            {"valid_until": _timestamp(_day_ms("2026-06-30"))},
        )
        self.revise(
            "sighting:kv-ip-1@pacific-crest",
            "2026-02-11",
            {"count": 389, "last_seen": _timestamp(_day_ms("2026-02-11") + 6 * 3_600_000)},
        )
        self.revise(
            "identity:kr-cert",
            "2026-01-05",
            {"contact_information": "cert@kncirc.example, +82-2-0000-0000 (24/7 desk)"},
        )
        self.revise(
            "report:andariel-advisory",
            "2026-02-15",
            {
                "object_refs": [
                    *self.latest["report:andariel-advisory"]["object_refs"],
                    self.ids["indicator:maui-ip"],
                    self.ids["note:maui-recovery"],
                ]
            },
        )
        self.revise(
            "vulnerability:CVE-2024-39717",
            "2025-11-02",
            {"labels": ["known-exploited"]},
        )


_IOC_BY_KEY: Final[dict[str, _Ioc]] = {ioc.key: ioc for ioc in _IOCS}
# Indicator values that also appear as SCOs (observed-data, infrastructure, C2 addresses).
_OBSERVED_IOCS: Final[tuple[str, ...]] = (
    "maui-hash",
    "maui-ip",
    "wafer-domain",
    "wafer-doc",
    "wafer-ip",
    "kv-ip-1",
    "kv-ip-2",
    "dj-domain-1",
    "dj-domain-2",
    "dj-ip",
    "blindingcan-url",
    "tigerrat-ip",
    "shadowpad-ip",
    "appleseed-ip",
    "rokrat-hash",
    "kimsuky-phish-1",
)


_REPORTS: Final[
    tuple[tuple[str, str, str, str, str, tuple[str, ...], str, tuple[str, ...]], ...]
] = (
    (
        "andariel-advisory",
        "Joint US-ROK advisory: DPRK group steals defence, aerospace and nuclear technology",
        "us-cert",
        TLP_GREEN,
        "2026-02-12",
        ("threat-report", "intrusion-set"),
        "Summary for member companies of the publicly reported Andariel activity: exploitation "
        "of internet-facing servers, theft of engineering data and ransomware against "
        "hospitals, with the indicators and sightings shared in this community.",
        (
            "intrusion-set:andariel",
            "threat-actor:rgb",
            "malware:maui",
            "malware:dtrack",
            "malware:tigerrat",
            "vulnerability:CVE-2021-44228",
            "vulnerability:CVE-2023-42793",
            "vulnerability:CVE-2023-46604",
            "attack-pattern:T1190",
            "attack-pattern:T1486",
            "indicator:maui-hash",
            "indicator:andariel-scanner",
            "indicator:andariel-pair",
            "indicator:tigerrat-ip",
            "course-of-action:patch-edge",
            "course-of-action:backups",
        ),
    ),
    (
        "kimsuky-phishing",
        "Kimsuky impersonates think tanks to reach North Korea policy experts",
        "kr-cert",
        TLP_GREEN,
        "2026-01-16",
        ("threat-report", "intrusion-set"),
        "Spearphishing from look-alike research-institute addresses with forum invitations, "
        "followed by credential phishing and BabyShark or AppleSeed.",
        (
            "intrusion-set:kimsuky",
            "malware:babyshark",
            "malware:appleseed",
            "attack-pattern:T1566.001",
            "attack-pattern:T1656",
            "indicator:kimsuky-phish-1",
            "indicator:kimsuky-phish-2",
            "indicator:kimsuky-sender",
            "indicator:babyshark-url",
            "course-of-action:attachments",
        ),
    ),
    (
        "volt-telecom",
        "Volt Typhoon relay activity in member telecom networks",
        "us-cert",
        TLP_AMBER,
        "2026-02-13",
        ("threat-report", "indicator"),
        "Relay traffic from KV-botnet routers into the management networks of two member "
        "carriers; no disruption observed. Includes the carriers' own sightings.",
        (
            "intrusion-set:volt-typhoon",
            "malware:kv-botnet",
            "infrastructure:kv-relays",
            "indicator:kv-ip-1",
            "indicator:kv-ip-2",
            "indicator:kv-range",
            "sighting:kv-ip-1@pacific-crest",
            "sighting:kv-ip-2@pacific-crest",
            "note:kv-routers",
            "course-of-action:mfa",
        ),
    ),
    (
        "dream-job",
        "Fake recruiters target aerospace and nuclear engineers",
        "us-cert",
        TLP_GREEN,
        "2025-11-20",
        ("campaign", "threat-report"),
        "Operation Dream Job lures reached engineers at a US aerospace contractor and a Korean "
        "nuclear engineering firm through professional networking sites.",
        (
            "campaign:dream-job",
            "intrusion-set:lazarus",
            "malware:blindingcan",
            "infrastructure:dream-job-sites",
            "indicator:dj-domain-1",
            "indicator:dj-domain-2",
            "indicator:dj-ip",
            "indicator:dj-lure",
            "observed-data:crescent",
        ),
    ),
    (
        "wafer-fab",
        "Supplier-portal spearphishing against semiconductor and battery makers",
        "kr-cert",
        TLP_AMBER_STRICT,
        "2026-01-28",
        ("campaign", "indicator"),
        "Consolidated view of the supplier-portal lures reported by two member companies, for "
        "their security teams only.",
        (
            "campaign:wafer-fab",
            "indicator:wafer-domain",
            "indicator:wafer-doc",
            "indicator:wafer-ip",
            "indicator:wafer-any",
            "observed-data:hanbit",
            "note:wafer-overlap",
            "hanbit",
            "sejong-energy",
        ),
    ),
    (
        "prc-overview",
        "APT41 and APT31: overview for partner CERTs",
        "us-cert",
        TLP_CLEAR,
        "2026-01-30",
        ("threat-report", "intrusion-set"),
        "Public-source overview of two Chinese intrusion sets active against member "
        "governments and technology companies.",
        (
            "intrusion-set:apt41",
            "intrusion-set:apt31",
            "threat-actor:chengdu404",
            "threat-actor:mss",
            "malware:shadowpad",
            "malware:keyplug",
            "malware:plugx",
            "vulnerability:CVE-2021-44207",
        ),
    ),
    (
        "crypto-theft",
        "DPRK theft from cryptocurrency businesses",
        "us-cert",
        TLP_GREEN,
        "2026-01-10",
        ("threat-report", "malware"),
        "AppleJeus and RustBucket lures against exchange staff, including a member exchange's "
        "sightings.",
        (
            "intrusion-set:apt38",
            "intrusion-set:lazarus",
            "malware:applejeus",
            "malware:rustbucket",
            "indicator:applejeus-domain",
            "indicator:rustbucket-domain",
            "arirang-exchange",
        ),
    ),
    (
        "ran-concentration",
        "Supply-chain exposure: radio-access-network vendor concentration",
        "kr-cert",
        TLP_AMBER,
        "2026-02-20",
        ("threat-report", "identity"),
        "Demo scenario: share of 5G radio units by vendor across the member carriers, "
        "aggregated over at least three contributors. No single vendor may exceed the share "
        "agreed by the members without a mitigation plan.",
        ("haneul", "pacific-crest", "kr", "us"),
    ),
    (
        "coercion-watch",
        "Economic coercion watch: customs inspections against member battery exporters",
        "kr-cert",
        TLP_AMBER,
        "2026-02-24",
        ("threat-report", "identity"),
        "Demo scenario: a non-member state began repeated 'safety' inspections of cathode "
        "material shipments from a member's battery maker after a trade dispute. Members "
        "compare the pattern with their own exporters' experience before responding together.",
        ("sejong-energy", "kr"),
    ),
)


def demo_objects(seed: int = 0) -> list[dict[str, Any]]:
    """The curated demo data set: about four hundred objects and versions.

    Deterministic for a given ``seed``; different seeds give different ids, hashes and times
    but the same story. All references resolve within the list (markings to the TLP 2.0
    definitions it contains), and later versions of an object follow its earlier ones.
    """
    return _Demo(seed).build()


# --- synthetic benchmark stream ------------------------------------------------------------------

_SYNTH_START_MS: Final = _day_ms("2026-01-01")
_VERSION_SHARE: Final = 0.05  # share of all objects that are new versions of earlier ones
_RECENT: Final = 128  # ring size per kind: bounds memory while giving references variety

# Non-indicator kinds and their weights; SCO kinds have no versions.
_MIX: Final[tuple[tuple[str, float], ...]] = (
    ("relationship", 0.30),
    ("sighting", 0.10),
    ("ipv4-addr", 0.09),
    ("domain-name", 0.08),
    ("file", 0.07),
    ("malware", 0.06),
    ("report", 0.05),
    ("note", 0.04),
    ("identity", 0.04),
    ("attack-pattern", 0.04),
    ("url", 0.03),
    ("intrusion-set", 0.03),
    ("vulnerability", 0.03),
    ("threat-actor", 0.02),
    ("campaign", 0.02),
)
_SCO_KINDS: Final = frozenset({"ipv4-addr", "domain-name", "file", "url"})

# First objects of every stream, so that later objects always have something to refer to.
_PREAMBLE: Final[tuple[str, ...]] = (
    "identity",
    "identity",
    "identity",
    "threat-actor",
    "intrusion-set",
    "malware",
    "attack-pattern",
    "vulnerability",
    "campaign",
    "ipv4-addr",
    "domain-name",
    "url",
)

# (source kind, relationship type, target kinds, weight); all pairs are ones STIX 2.1 suggests.
_RELATIONSHIP_SHAPES: Final[tuple[tuple[str, str, tuple[str, ...], float], ...]] = (
    ("indicator", "indicates", ("malware", "intrusion-set", "campaign", "threat-actor"), 4.0),
    ("intrusion-set", "uses", ("malware", "attack-pattern"), 2.0),
    ("malware", "uses", ("attack-pattern",), 1.0),
    ("intrusion-set", "attributed-to", ("threat-actor",), 0.7),
    ("campaign", "attributed-to", ("intrusion-set",), 0.7),
    ("intrusion-set", "targets", ("identity", "vulnerability"), 1.0),
    ("malware", "exploits", ("vulnerability",), 0.5),
    ("malware", "communicates-with", ("ipv4-addr", "domain-name", "url"), 1.0),
    ("campaign", "uses", ("malware", "attack-pattern"), 0.6),
)

# Percent of objects per marking; most shared threat data is GREEN or AMBER.
_MARKING_TABLE: Final[tuple[str, ...]] = (
    (TLP_CLEAR,) * 15
    + (TLP_GREEN,) * 50
    + (TLP_AMBER,) * 25
    + (TLP_AMBER_STRICT,) * 7
    + (TLP_RED,) * 3
)

_ADJECTIVES: Final = (
    "Amber", "Ashen", "Cobalt", "Copper", "Crimson", "Frozen", "Gilded", "Hollow", "Iron",
    "Jade", "Lunar", "Misty", "Obsidian", "Pale", "Quiet", "Rusty", "Silent", "Silver",
    "Stone", "Velvet", "Winter", "Wandering", "Hidden", "Northern",
)  # fmt: skip
_NOUNS: Final = (
    "Heron", "Kestrel", "Lynx", "Magpie", "Marten", "Otter", "Panther", "Raven", "Sparrow",
    "Tiger", "Viper", "Wolf", "Crane", "Badger", "Falcon", "Finch", "Hare", "Ibis", "Jackal",
    "Moth", "Newt", "Orca", "Pika", "Shrike",
)  # fmt: skip
_MALWARE_PARTS: Final = (
    "Loom", "Spark", "Drift", "Shade", "Hook", "Latch", "Pulse", "Veil", "Burrow", "Fang",
    "Quill", "Rift", "Snare", "Thorn", "Wisp", "Cinder", "Glint", "Tangle",
)  # fmt: skip
_ORG_PREFIXES: Final = (
    "Namsan", "Hangang", "Baekdu", "Jeju", "Incheon", "Daegu", "Cascade", "Harbor", "Summit",
    "Prairie", "Lakeshore", "Redwood", "Bluegrass", "Mesa", "Gyeongju", "Ulsan",
)  # fmt: skip
_ORG_KINDS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("Semiconductor", ("technology", "manufacturing")),
    ("Telecom", ("telecommunications",)),
    ("Battery Materials", ("manufacturing", "energy")),
    ("Power Engineering", ("energy", "nuclear")),
    ("Aerospace", ("aerospace", "defense")),
    ("Medical Center", ("healthcare",)),
    ("Securities", ("financial-services",)),
    ("Shipbuilding", ("manufacturing", "transportation")),
    ("Ministry Cyber Office", ("government-national",)),
    ("Water Authority", ("water", "utilities")),
)
_ORG_SUFFIXES: Final = ("Co., Ltd.", "Inc.", "Corporation", "Holdings", "Group", "LLC")
_SENTENCES: Final = (
    "Observed during incident response at a member organisation.",
    "Shared by a partner CERT after coordinated analysis.",
    "Infrastructure overlaps with activity reported in the previous quarter.",
    "Targets engineering staff through professional networking lures.",
    "The operators moved laterally within hours of the initial compromise.",
    "Linked to credential phishing against research institutes.",
    "No disruption was observed; the activity appears to be collection.",
    "Payloads are staged on compromised small-office routers.",
    "Telemetry from two carriers shows the same beacon interval.",
    "The lure documents are written in fluent Korean and English.",
    "Samples share a custom string-encryption routine.",
    "Exploitation began within days of the public disclosure.",
    "The same registrant details appear on several look-alike domains.",
    "Exfiltration used a public cloud storage account.",
    "Confidence is moderate pending confirmation from a second source.",
    "Related to supply-chain tampering of a vendor update channel.",
)  # fmt: skip
_WORDS: Final = (
    "secure", "login", "update", "cdn", "portal", "mail", "drive", "docs", "cloud", "auth",
    "news", "careers", "vendor", "support", "static", "api", "files", "sync", "account",
    "verify", "recruit", "office", "share", "media",
)  # fmt: skip
_TLDS: Final = ("example", "test", "example.com", "example.net", "example.org")
_PATHS: Final = (
    "index.php", "login", "wp-content/uploads/img.jpg", "api/v2/upload", "board/view.php",
    "download/setup.exe", "assets/app.js", "update/check", "auth/callback", "files/report.hwp",
)  # fmt: skip
_FILE_NAMES: Final = (
    "invoice_2026.pdf.exe", "update.exe", "setup.msi", "roadmap.hwp", "salary_table.xlsm",
    "libcurl.dll", "version.dll", "readme.lnk", "install.sh", "job_offer.docx", "report.chm",
    "vpnclient.exe",
)  # fmt: skip
_SUBJECTS: Final = (
    "Invitation to policy forum", "Updated job description", "Invoice overdue",
    "Security notice for your account", "Interview schedule", "Conference programme",
)  # fmt: skip
_DOC_NETWORKS: Final = ("192.0.2", "198.51.100", "203.0.113")


class _Stream:
    """State of one synthetic stream: a random source, a clock and bounded recent history."""

    def __init__(self, seed: int, indicator_share: float) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
        self.now = _SYNTH_START_MS
        self.stamp = _timestamp(self.now)
        self.indicator_share = indicator_share
        self.recent: dict[str, list[StixObject]] = {}
        self.slot: dict[str, int] = {}
        self.any_ids: list[str] = []
        self.serial = 0  # objects remembered so far; makes generated names unique
        self.sco_serial = 0
        self.kinds = [kind for kind, _ in _MIX]
        self.kind_bounds = _cumulative([weight for _, weight in _MIX])
        total = sum(weight for _, weight in _MIX)
        versionable = indicator_share + (1 - indicator_share) * sum(
            weight / total for kind, weight in _MIX if kind not in _SCO_KINDS
        )
        self.version_rate = min(1.0, _VERSION_SHARE / versionable)
        self.shape_bounds = _cumulative([shape[3] for shape in _RELATIONSHIP_SHAPES])
        self.builders: dict[str, Callable[[], StixObject]] = {
            "indicator": self.indicator,
            "relationship": self.relationship,
            "sighting": self.sighting,
            "malware": self.malware,
            "intrusion-set": self.intrusion_set,
            "threat-actor": self.threat_actor,
            "campaign": self.campaign,
            "identity": self.identity,
            "attack-pattern": self.attack_pattern,
            "vulnerability": self.vulnerability,
            "report": self.report,
            "note": self.note,
            "ipv4-addr": self.ipv4_sco,
            "domain-name": self.domain_sco,
            "url": self.url_sco,
            "file": self.file_sco,
        }

    # -- small helpers (hot path: keep them cheap) --

    def tick(self) -> None:
        """Advance the clock 1 ms … 5 s, so (id, modified) never repeats within a stream."""
        self.now += 1 + int(self.rng.random() * 5000)
        self.stamp = _timestamp(self.now)

    def uuid4(self) -> str:
        n = self.rng.getrandbits(128)
        n = (n & ~(0xF000 << 64)) | (0x4000 << 64)
        n = (n & ~(0xC000 << 48)) | (0x8000 << 48)
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def pick(self, items: tuple[str, ...]) -> str:
        return items[int(self.rng.random() * len(items))]

    def sentences(self, low: int, high: int) -> str:
        count = low + int(self.rng.random() * (high - low + 1))
        return " ".join(self.pick(_SENTENCES) for _ in range(count))

    def marking(self) -> list[str]:
        return [_MARKING_TABLE[int(self.rng.random() * 100)]]

    def remember(self, kind: str, obj: StixObject) -> None:
        ring = self.recent.setdefault(kind, [])
        if len(ring) < _RECENT:
            ring.append(obj)
        else:
            slot = self.slot.get(kind, 0)
            ring[slot] = obj
            self.slot[kind] = (slot + 1) % _RECENT
        if len(self.any_ids) < 4 * _RECENT:
            self.any_ids.append(obj["id"])
        else:
            self.any_ids[self.serial % (4 * _RECENT)] = obj["id"]
        self.serial += 1

    def recent_id(self, kind: str) -> str | None:
        ring = self.recent.get(kind)
        if not ring:
            return None
        return str(ring[int(self.rng.random() * len(ring))]["id"])

    def sdo(self, stix_type: str) -> StixObject:
        """Common properties of a new SDO/SRO, created now by a recent identity."""
        obj: StixObject = {
            "type": stix_type,
            "spec_version": "2.1",
            "id": f"{stix_type}--{self.uuid4()}",
        }
        creator = self.recent_id("identity")
        if creator is not None:
            obj["created_by_ref"] = creator
        obj["created"] = self.stamp
        obj["modified"] = self.stamp
        return obj

    def ipv4(self) -> str:
        if self.rng.random() < 0.5:
            return f"{self.pick(_DOC_NETWORKS)}.{1 + int(self.rng.random() * 254)}"
        n = self.rng.getrandbits(17)  # 198.18.0.0/15, the benchmarking range
        return f"198.{18 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}"

    def domain(self) -> str:
        number = int(self.rng.random() * 10_000)
        return f"{self.pick(_WORDS)}-{self.pick(_WORDS)}{number}.{self.pick(_TLDS)}"

    def url(self) -> str:
        return f"https://{self.domain()}/{self.pick(_PATHS)}"

    def sha256(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    # -- object kinds --

    def indicator(self) -> StixObject:
        obj = self.sdo("indicator")
        r = self.rng.random()
        if r < 0.30:
            value = self.ipv4()
            pattern, name = f"[ipv4-addr:value = '{value}']", f"Malicious IP {value}"
        elif r < 0.55:
            value = self.domain()
            pattern, name = f"[domain-name:value = '{value}']", f"Malicious domain {value}"
        elif r < 0.80:
            value = self.sha256()
            pattern, name = f"[file:hashes.'SHA-256' = '{value}']", f"Malicious file {value[:12]}"
        elif r < 0.92:
            value = self.url()
            pattern, name = f"[url:value = '{value}']", f"Malicious URL {value}"
        else:
            pattern, name = self.compound_pattern()
        obj["name"] = name
        obj["description"] = self.sentences(1, 3)
        obj["indicator_types"] = [
            "malicious-activity" if self.rng.random() < 0.8 else "anomalous-activity"
        ]
        obj["pattern"] = pattern
        obj["pattern_type"] = "stix"
        obj["pattern_version"] = "2.1"
        obj["valid_from"] = self.stamp
        if self.rng.random() < 0.5:
            obj["valid_until"] = _timestamp(
                self.now + (30 + int(self.rng.random() * 335)) * _MS_PER_DAY
            )
        obj["confidence"] = 30 + int(self.rng.random() * 71)
        obj["labels"] = [self.pick(_WORDS)]
        obj["object_marking_refs"] = self.marking()
        return obj

    def compound_pattern(self) -> tuple[str, str]:
        shape = int(self.rng.random() * 6)
        if shape == 0:
            ip, dom = self.ipv4(), self.domain()
            return f"[ipv4-addr:value = '{ip}'] OR [domain-name:value = '{dom}']", f"C2 {dom}"
        if shape == 1:
            name = self.pick(_FILE_NAMES)
            return (
                f"[file:hashes.'SHA-256' = '{self.sha256()}' AND file:name = '{name}']",
                f"Malicious file {name}",
            )
        if shape == 2:
            md5 = f"{self.rng.getrandbits(128):032x}"
            return (
                f"[file:hashes.MD5 = '{md5}' OR file:hashes.'SHA-256' = '{self.sha256()}']",
                f"Malicious file {md5[:12]}",
            )
        if shape == 3:
            ip, port = self.ipv4(), self.pick(("443", "8443", "8080", "53", "22"))
            return (
                "[network-traffic:dst_ref.type = 'ipv4-addr' AND "
                f"network-traffic:dst_ref.value = '{ip}' AND network-traffic:dst_port = {port}]",
                f"Traffic to {ip}:{port}",
            )
        if shape == 4:
            net = self.pick(_DOC_NETWORKS)
            return f"[ipv4-addr:value ISSUBSET '{net}.0/24']", f"Hostile range {net}.0/24"
        sender = f"{self.pick(_WORDS)}@{self.domain()}"
        subject = self.pick(_SUBJECTS)
        return (
            f"[email-message:from_ref.value = '{sender}' AND "
            f"email-message:subject = '{subject}'] AND [url:value = '{self.url()}']",
            f"Phishing from {sender}",
        )

    def relationship(self) -> StixObject:
        start = bisect.bisect_right(self.shape_bounds, self.rng.random())
        for offset in range(len(_RELATIONSHIP_SHAPES)):
            source_kind, rel_type, target_kinds, _ = _RELATIONSHIP_SHAPES[
                (start + offset) % len(_RELATIONSHIP_SHAPES)
            ]
            source = self.recent_id(source_kind)
            target = self.recent_id(self.pick(target_kinds))
            if source is not None and target is not None:
                break
        else:  # unreachable after the preamble; keeps short streams well-formed
            return self.malware()
        obj = self.sdo("relationship")
        obj["relationship_type"] = rel_type
        if self.rng.random() < 0.3:
            obj["description"] = self.sentences(1, 2)
        obj["source_ref"] = source
        obj["target_ref"] = target
        obj["confidence"] = 20 + int(self.rng.random() * 81)
        obj["object_marking_refs"] = self.marking()
        return obj

    def sighting(self) -> StixObject:
        seen = self.recent_id("indicator") or self.recent_id("malware")
        obj = self.sdo("sighting")
        first = self.now - int(self.rng.random() * 14 * _MS_PER_DAY)
        obj["first_seen"] = _timestamp(first)
        obj["last_seen"] = self.stamp
        obj["count"] = 1 + int(self.rng.random() * self.rng.random() * 500)
        obj["sighting_of_ref"] = seen
        where = {self.recent_id("identity") for _ in range(1 + int(self.rng.random() * 2))}
        obj["where_sighted_refs"] = sorted(ref for ref in where if ref is not None)
        obj["object_marking_refs"] = self.marking()
        return obj

    def malware(self) -> StixObject:
        obj = self.sdo("malware")
        obj["name"] = f"{self.pick(_NOUNS)}{self.pick(_MALWARE_PARTS)}"
        obj["description"] = self.sentences(1, 3)
        obj["malware_types"] = [
            self.pick(("backdoor", "remote-access-trojan", "downloader", "ransomware", "spyware"))
        ]
        obj["is_family"] = True
        obj["object_marking_refs"] = self.marking()
        return obj

    def intrusion_set(self) -> StixObject:
        obj = self.sdo("intrusion-set")
        obj["name"] = f"{self.pick(_ADJECTIVES)} {self.pick(_NOUNS)}"
        obj["description"] = self.sentences(2, 3)
        obj["aliases"] = [f"{self.pick(_ADJECTIVES)} {self.pick(_NOUNS)}", f"UNC{self.serial}"]
        obj["first_seen"] = _timestamp(self.now - int(self.rng.random() * 1500) * _MS_PER_DAY)
        obj["resource_level"] = "government"
        obj["primary_motivation"] = "organizational-gain"
        obj["object_marking_refs"] = self.marking()
        return obj

    def threat_actor(self) -> StixObject:
        obj = self.sdo("threat-actor")
        obj["name"] = f"{self.pick(_ADJECTIVES)} {self.pick(_NOUNS)} operators"
        obj["description"] = self.sentences(1, 2)
        obj["threat_actor_types"] = [self.pick(("nation-state", "crime-syndicate", "spy"))]
        obj["sophistication"] = self.pick(("advanced", "expert", "strategic"))
        obj["object_marking_refs"] = self.marking()
        return obj

    def campaign(self) -> StixObject:
        obj = self.sdo("campaign")
        obj["name"] = f"Operation {self.pick(_ADJECTIVES)} {self.pick(_NOUNS)}"
        obj["description"] = self.sentences(1, 3)
        obj["first_seen"] = _timestamp(self.now - int(self.rng.random() * 90) * _MS_PER_DAY)
        obj["object_marking_refs"] = self.marking()
        return obj

    def identity(self) -> StixObject:
        obj = self.sdo("identity")
        kind, sectors = _ORG_KINDS[int(self.rng.random() * len(_ORG_KINDS))]
        prefix = self.pick(_ORG_PREFIXES)
        obj["name"] = f"{prefix} {kind} {self.pick(_ORG_SUFFIXES)} #{self.serial}"
        obj["description"] = "Fictional member organisation generated for benchmarks."
        obj["identity_class"] = "organization"
        obj["sectors"] = list(sectors)
        obj["contact_information"] = f"security@{prefix.lower()}{self.serial}.example"
        obj["object_marking_refs"] = [TLP_GREEN]
        return obj

    def attack_pattern(self) -> StixObject:
        technique = _TECHNIQUES[int(self.rng.random() * len(_TECHNIQUES))]
        obj = self.sdo("attack-pattern")
        obj["name"] = technique.name
        obj["description"] = technique.description
        obj["kill_chain_phases"] = [
            {"kill_chain_name": "mitre-attack", "phase_name": phase} for phase in technique.phases
        ]
        obj["external_references"] = [_attack_reference(technique.attack_id)]
        obj["object_marking_refs"] = [TLP_CLEAR]
        return obj

    def vulnerability(self) -> StixObject:
        # Synthetic advisories, never CVE ids: a random CVE number would describe a real flaw
        # wrongly.
        advisory = f"ASA-2026-{self.serial:06d}"
        obj = self.sdo("vulnerability")
        obj["name"] = advisory
        obj["description"] = (
            f"{self.pick(_SUBJECTS)} handler in a {self.pick(_WORDS)} appliance allows remote "
            "code execution. " + self.sentences(0, 1)
        ).strip()
        obj["external_references"] = [
            {
                "source_name": "allyshare-synthetic-advisory",
                "external_id": advisory,
                "url": f"https://advisories.example/{advisory}",
            }
        ]
        obj["object_marking_refs"] = self.marking()
        return obj

    def report(self) -> StixObject:
        obj = self.sdo("report")
        obj["name"] = f"{self.pick(_ADJECTIVES)} {self.pick(_NOUNS)} activity update"
        obj["description"] = self.sentences(2, 3)
        obj["report_types"] = ["threat-report"]
        obj["published"] = self.stamp
        refs = {self.pick_any() for _ in range(3 + int(self.rng.random() * 8))}
        obj["object_refs"] = sorted(refs)
        obj["object_marking_refs"] = self.marking()
        return obj

    def note(self) -> StixObject:
        obj = self.sdo("note")
        obj["abstract"] = self.pick(_SENTENCES)
        obj["content"] = self.sentences(2, 4)
        obj["authors"] = ["Threat analysis team"]
        obj["object_refs"] = sorted(
            {self.pick_any() for _ in range(1 + int(self.rng.random() * 3))}
        )
        obj["object_marking_refs"] = self.marking()
        return obj

    def pick_any(self) -> str:
        return self.any_ids[int(self.rng.random() * len(self.any_ids))]

    def ipv4_sco(self) -> StixObject:
        # SCOs must not repeat (a store would merge them and the benchmark count would be off),
        # so walk 198.18.0.0/15 in a scrambled but bijective order: unique for 131,072 SCOs.
        n = (self.sco_serial * 0x9E3B + 0x1234) & 0x1FFFF
        self.sco_serial += 1
        value = f"198.{18 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}"
        return {
            "type": "ipv4-addr",
            "spec_version": "2.1",
            "id": sco_id("ipv4-addr", {"value": value}),
            "value": value,
            "object_marking_refs": self.marking(),
        }

    def domain_sco(self) -> StixObject:
        value = f"{self.pick(_WORDS)}-{self.pick(_WORDS)}-{self.serial}.{self.pick(_TLDS)}"
        return {
            "type": "domain-name",
            "spec_version": "2.1",
            "id": sco_id("domain-name", {"value": value}),
            "value": value,
            "object_marking_refs": self.marking(),
        }

    def url_sco(self) -> StixObject:
        value = f"https://{self.pick(_WORDS)}-{self.serial}.{self.pick(_TLDS)}/{self.pick(_PATHS)}"
        return {
            "type": "url",
            "spec_version": "2.1",
            "id": sco_id("url", {"value": value}),
            "value": value,
            "object_marking_refs": self.marking(),
        }

    def file_sco(self) -> StixObject:
        hashes = {"SHA-256": self.sha256()}
        name = self.pick(_FILE_NAMES)
        return {
            "type": "file",
            "spec_version": "2.1",
            "id": sco_id("file", {"hashes": hashes, "name": name}),
            "hashes": hashes,
            "name": name,
            "size": 4096 + int(self.rng.random() * 4_000_000),
            "object_marking_refs": self.marking(),
        }

    def revise(self, kind: str) -> StixObject | None:
        """A new version of a recent object of ``kind``, or None if there is none yet."""
        ring = self.recent.get(kind)
        if not ring:
            return None
        index = int(self.rng.random() * len(ring))
        version = dict(ring[index])
        version["modified"] = self.stamp
        if kind == "sighting":
            version["count"] = version["count"] + 1 + int(self.rng.random() * 20)
            version["last_seen"] = self.stamp
        elif "confidence" in version:
            version["confidence"] = min(100, version["confidence"] + int(self.rng.random() * 15))
        if "description" in version:
            version["description"] = self.sentences(1, 3)
        if self.rng.random() < 0.1:
            version["revoked"] = True
            # A revoked object gets no further versions: drop it from the ring.
            ring[index] = ring[-1]
            ring.pop()
        else:
            ring[index] = version
        return version

    def make(self, kind: str, *, fresh: bool = False) -> StixObject:
        """Next object of ``kind``: sometimes a new version of a recent one, unless ``fresh``."""
        if not fresh and kind not in _SCO_KINDS and self.rng.random() < self.version_rate:
            version = self.revise(kind)
            if version is not None:
                return version
        obj = self.builders[kind]()
        self.remember(obj["type"], obj)
        return obj

    def run(self, count: int) -> Iterator[StixObject]:
        for index in range(count):
            self.tick()
            if index < len(_PREAMBLE):
                yield self.make(_PREAMBLE[index], fresh=True)
            elif self.rng.random() < self.indicator_share:
                yield self.make("indicator")
            else:
                yield self.make(
                    self.kinds[bisect.bisect_right(self.kind_bounds, self.rng.random())]
                )


def _cumulative(weights: list[float]) -> list[float]:
    """Cumulative bounds for ``bisect``; the last is above 1 so that float error cannot miss."""
    total = sum(weights)
    bounds: list[float] = []
    running = 0.0
    for weight in weights:
        running += weight / total
        bounds.append(running)
    bounds[-1] = 2.0
    return bounds


def synthetic_objects(
    count: int, seed: int = 0, indicator_share: float = 0.4
) -> Iterator[dict[str, Any]]:
    """Stream ``count`` plausible STIX 2.1 objects for benchmarks, in constant memory.

    ``indicator_share`` of the objects are indicators (IPv4, domain, SHA-256 and URL patterns
    plus some compound ones); the rest are a mix of relationships, sightings, SDOs, reports,
    notes and SCOs. About 5 % are new versions (same id, later ``modified``) of recent objects,
    because stores must handle version history at scale; nothing else repeats (SCO values are
    unique for the first 131,072 IPv4 SCOs, far beyond a million objects), so a store holds as
    many versions as the stream yields. Every reference points at an object earlier in the
    stream or at a TLP 2.0 marking definition (which the stream does not contain). Timestamps
    advance monotonically from 2026-01-01. Deterministic per ``seed``.

    A yielded object's nested lists may be shared with a later version of it; copy before
    mutating them.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if not 0.0 <= indicator_share <= 1.0:
        raise ValueError("indicator_share must be between 0 and 1")
    return _Stream(seed, indicator_share).run(count)
