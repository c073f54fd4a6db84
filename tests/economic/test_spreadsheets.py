"""Spreadsheet rows read as incidents and exposures: the documented header, every problem by
row and column, identities by name, and the README's example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from allyshare.economic import COERCION_EXTENSION_ID, EXPOSURE_TYPE
from allyshare.economic.spreadsheets import (
    EXPOSURE_COLUMNS,
    INCIDENT_COLUMNS,
    ReadRows,
    identities_of,
    identity_for,
    parse_markings,
    read_rows,
)
from allyshare.errors import InvalidInput
from allyshare.policy import Tlp

NOW = "2026-12-01T00:00:00.000000Z"
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
INCIDENT_HEADER = (
    "name,coercing_state,targeted_country,targeted_sectors,targeted_companies,measures,"
    "stated_pretext,believed_trigger,trigger_url,start,end,impact_currency,impact_min,"
    "impact_max,impact_basis,evidence_urls,markings"
)
EXPOSURE_HEADER = (
    "component_category,vendor,vendor_country,share,criticality,substitutes,"
    "time_to_substitute_months,as_of,markings"
)


def incidents(*rows: str, header: str = INCIDENT_HEADER) -> ReadRows:
    return read_rows("incidents", "\n".join([header, *rows]), contributor="KOR.X", now=NOW)


def test_an_incident_row_becomes_an_incident() -> None:
    read = read_rows(
        "incidents",
        INCIDENT_HEADER + "\n"
        "Tours halted,CHN,KOR,tourism; retail,Example Retail Co,tourism-restriction;boycott,"
        "fire safety,deployment decision,https://example.org/d,2017-03-15,"
        "2017-12-31T12:00:00Z,USD,5e9,1.5e10,arrivals,https://example.org/a;https://example.org/b,"
        "TLP:GREEN\n",
        contributor="KOR.X",
        now=NOW,
    )
    assert read.errors == []
    [row] = read.rows
    assert row.number == 2
    obj = row.obj
    assert obj["type"] == "incident" and obj["name"] == "Tours halted"
    assert obj["created"] == obj["modified"] == NOW
    assert obj["object_marking_refs"] == [Tlp.GREEN.marking_id]
    assert [ref["url"] for ref in obj["external_references"]] == [
        "https://example.org/a",
        "https://example.org/b",
    ]
    [company] = row.identities
    assert company["name"] == "Example Retail Co"
    assert company["object_marking_refs"] == [Tlp.GREEN.marking_id]
    assert obj["extensions"][COERCION_EXTENSION_ID] == {
        "extension_type": "property-extension",
        "coercing_state": "CHN",
        "targeted_country": "KOR",
        "targeted_sectors": ["tourism", "retail"],
        "targeted_company_refs": [company["id"]],
        "measures": ["tourism-restriction", "boycott"],
        "stated_pretext": "fire safety",
        "believed_trigger": {
            "description": "deployment decision",
            "external_reference": {
                "source_name": "believed trigger",
                "url": "https://example.org/d",
            },
        },
        "start": "2017-03-15T00:00:00Z",
        "end": "2017-12-31T12:00:00Z",
        "estimated_impact": {"currency": "USD", "min": 5e9, "max": 1.5e10, "basis": "arrivals"},
    }


def test_an_exposure_row_becomes_an_exposure() -> None:
    read = read_rows(
        "exposures",
        "vendor,component_category,vendor_country,share,criticality,substitutes,as_of\n"
        "Example Networks,5g-ran,CHN,40%,high,Other Radio;Third Radio,2026-06-30\n",
        contributor="KOR.X",
        now=NOW,
        markings=[Tlp.AMBER.marking_id],
    )
    assert read.errors == []
    [row] = read.rows
    obj = row.obj
    vendor, *substitutes = row.identities
    assert obj["type"] == EXPOSURE_TYPE
    assert obj["share"] == pytest.approx(0.4)
    assert obj["vendor_ref"] == vendor["id"] and obj["vendor_name"] == "Example Networks"
    assert obj["substitute_refs"] == [s["id"] for s in substitutes]
    assert obj["as_of"] == "2026-06-30T00:00:00Z"
    assert obj["object_marking_refs"] == [Tlp.AMBER.marking_id]
    assert "time_to_substitute_months" not in obj


def test_every_problem_comes_back_by_row_and_column() -> None:
    read = read_rows(
        "exposures",
        EXPOSURE_HEADER + "\n"
        "5g-ran,A,CHN,0.5,high,,,,\n"
        "5g-ran,B,CHN,7,high,,,,\n"
        "5G RAN,C,CHN,0.5,high,,,,\n"
        "5g-core,D,PRC,0.5,high,,,,\n"
        "5g-core,,CHN,,high,,,,\n"
        "5g-core,E,CHN,half,high,,soon,June,\n"
        "5g-core,F,CHN,0.5,severe,,,,purple\n"
        "5g-core,G,CHN,0.5,low,,,,,extra\n",
        contributor="KOR.X",
        now=NOW,
    )
    assert [row.number for row in read.rows] == [2]
    found = [(e.row, e.column) for e in read.errors]
    assert found == [
        (3, "share"),
        (4, "component_category"),
        (5, "vendor_country"),
        (6, "vendor"),
        (6, "share"),
        (7, "share"),
        (7, "time_to_substitute_months"),
        (7, "as_of"),
        (8, "markings"),
        (9, None),
    ]
    assert str(read.errors[0]) == (
        "row 3, column share: 'share' must be more than 0 and at most 1, not 7"
    )
    assert "'5G RAN' is not a vocabulary term" in read.errors[1].message
    assert read.errors[3].message == "is required"
    assert "'half' is not a number" in read.errors[5].message
    assert "not a TLP level" in read.errors[8].message
    assert "more cells than the header" in read.errors[9].message


def test_the_header_is_checked_first() -> None:
    read = incidents("x", header="name,coercing_state,measure")
    assert [(e.row, e.column, e.message) for e in read.errors][:1] == [
        (1, "measure", read.errors[0].message)
    ]
    assert "unknown column" in read.errors[0].message
    missing = {e.column for e in read.errors if e.message == "required column missing"}
    assert missing == {"targeted_country", "targeted_sectors", "measures", "start"}
    assert read_rows("incidents", "", contributor="x", now=NOW).errors[0].row == 1


def test_blank_rows_are_skipped() -> None:
    read = read_rows(
        "exposures",
        EXPOSURE_HEADER + "\n,,,,,,,,\n5g-ran,A,CHN,1,critical,,0,,\n\n",
        contributor="x",
        now=NOW,
    )
    assert read.errors == [] and [row.number for row in read.rows] == [3]
    assert read.rows[0].obj["time_to_substitute_months"] == 0


def test_identities_are_one_per_name() -> None:
    assert identity_for("Example  Networks")["id"] == identity_for(" example networks ")["id"]
    assert identity_for("Example Networks")["id"] != identity_for("Example Network")["id"]
    assert identity_for("Example  Networks")["name"] == "Example Networks"
    read = read_rows(
        "exposures",
        EXPOSURE_HEADER + "\n"
        "5g-ran,Vendor A,CHN,0.5,high,Vendor B,,,TLP:AMBER\n"
        "5g-core,vendor a,CHN,0.5,high,,,,TLP:GREEN\n",
        contributor="x",
        now=NOW,
    )
    named = identities_of(read.rows)
    assert [identity["name"] for identity in named] == ["Vendor A", "Vendor B"]
    assert named[0]["object_marking_refs"] == [Tlp.AMBER.marking_id]


def test_a_corrected_row_is_the_same_object_and_a_repeated_one_an_error() -> None:
    def ids(*rows: str) -> list[str]:
        read = read_rows("exposures", "\n".join([EXPOSURE_HEADER, *rows]), contributor="x", now=NOW)
        assert read.errors == []
        return [row.obj["id"] for row in read.rows]

    [first] = ids("5g-ran,Vendor A,CHN,0.5,high,,,,")
    assert ids("5g-ran, vendor  a ,CHN,0.6,critical,,12,2026-01-01,TLP:GREEN") == [first]
    assert ids("5g-core,Vendor A,CHN,0.5,high,,,,") != [first]
    read = read_rows(
        "exposures",
        EXPOSURE_HEADER + "\n5g-ran,Vendor A,CHN,0.5,high,,,,\n5g-ran,VENDOR A,CHN,0.2,low,,,,\n",
        contributor="x",
        now=NOW,
    )
    assert [str(error) for error in read.errors] == [
        "row 3: the same component_category and vendor as row 2"
    ]


def test_ids_are_the_contributors_row() -> None:
    row = "Tours halted,CHN,KOR,tourism,,boycott,,,,2017-03-15,,,,,,,"
    first = incidents(row).rows[0].obj["id"]
    assert incidents(row).rows[0].obj["id"] == first
    other = read_rows("incidents", INCIDENT_HEADER + "\n" + row, contributor="USA.Y", now=NOW).rows[
        0
    ]
    assert other.obj["id"] != first


def test_markings_by_tlp_name_or_id() -> None:
    custom = "marking-definition--0f3e8c6a-2b7d-4e19-8a5c-3d9f1b2e4c02"
    assert parse_markings(f"TLP:AMBER+STRICT; {custom.upper()}; amber+strict") == [
        Tlp.AMBER_STRICT.marking_id,
        custom,
    ]
    assert parse_markings("white") == [Tlp.CLEAR.marking_id]
    assert parse_markings("") == []
    with pytest.raises(InvalidInput):
        parse_markings("TLP:PURPLE")


def test_the_readme_documents_the_header_and_its_example_reads() -> None:
    section = README.split("## Economic coercion and supply chains", 1)[1].split("\n## ", 1)[0]
    for column in [*INCIDENT_COLUMNS, *EXPOSURE_COLUMNS]:
        assert f"`{column}`" in section, column
    [example] = re.findall(r"```csv\n(.*?)```", section, re.DOTALL)
    read = read_rows("incidents", example, contributor="x", now=NOW)
    assert read.errors == [] and len(read.rows) == 1
