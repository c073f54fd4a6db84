"""Schemathesis over the whole OpenAPI document of the management API, as an admin and as a
reader, on both backends: no answer is a 5xx, and every answer keeps to the documented schema
(status codes, content types, bodies, headers), for valid and for invalid requests alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks

from allyshare.config import Settings
from allyshare.keys import create_node_key
from allyshare.server import create_server_app
from allyshare.service import Node

AGREEMENT: dict[str, Any] = {
    "name": "us-rok-tech",
    "version": 1,
    "parties": {"countries": ["USA", "KOR"], "organizations": []},
    "categories": ["cyber-threat"],
    "max_classification": "S",
    "tlp_ceiling": "AMBER",
    "propin_match_only": True,
    "aggregate_k": 3,
}


@dataclass
class Fuzzed:
    app: Any
    token: str


@pytest.fixture(params=["admin", "reader"])
def role(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def fuzzed(database_url: str, tmp_path: Path, role: str) -> Iterator[Fuzzed]:
    """A node with what the API cannot make itself (the first admin), a member to read as,
    and an agreement-bound collection; the app is fuzzed with ``role``'s token."""
    create_node_key(tmp_path)
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    node.apply_agreement(AGREEMENT)
    node.add_collection("Indicators", agreement="us-rok-tech")
    organization = node.add_organization("CISA", country="USA", kind="cert")
    tokens = {
        "admin": node.add_user("root", is_admin=True),
        "reader": node.add_user("analyst", organization=organization, roles=["reader"]),
    }
    yield Fuzzed(create_server_app(node), tokens[role])
    node.close()


CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 30


def _summary(failure: BaseException) -> str:
    """What schemathesis found, without the tracebacks around it."""
    lines = str(failure).splitlines()
    return "\n".join(line for line in lines[:40] if line.strip())


def test_the_management_api_under_fuzzing(fuzzed: Fuzzed) -> None:
    """Every operation of the document, with valid and with invalid requests; each failing
    operation is reported, not only the first."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed.app)
    headers = {"Authorization": f"Bearer {fuzzed.token}"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:
        requests = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=requests)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_by_the_document(case: Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            answers_by_the_document()
        except (Exception, BaseExceptionGroup) as failure:  # all operations are reported
            failures[operation.label] = _summary(failure)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
