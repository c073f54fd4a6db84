"""Members and agreements from the command line; disabling cuts access at once."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from allyshare.cli.main import main
from allyshare.config import load_settings
from allyshare.errors import AuthenticationFailed
from allyshare.service import Node

from support.agreements import US_ROK_TECH


def run(capsys: pytest.CaptureFixture[str], node_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--data-dir", str(node_dir)])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def test_members_agreements_and_cutting_access(
    tmp_path: Path, node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, org, _ = run(
        capsys,
        node_dir,
        "org",
        "add",
        "KrCERT",
        "--country",
        "KOR",
        "--kind",
        "cert",
        "--sector",
        "government",
    )
    assert (code, org) == (0, "KOR.KRCERT")
    code, _, err = run(
        capsys, node_dir, "org", "add", "Nowhere", "--country", "XX", "--kind", "cert"
    )
    assert code == 1 and "alpha-3" in err
    code, token, _ = run(
        capsys,
        node_dir,
        "user",
        "add",
        "kim",
        "--org",
        org,
        "--clearance",
        "S",
        "--role",
        "reader",
        "--role",
        "contributor",
    )
    assert code == 0
    code, colleague, _ = run(capsys, node_dir, "user", "add", "lee", "--org", org)
    assert code == 0
    code, _, err = run(capsys, node_dir, "user", "add", "ghost", "--org", "KOR.NONE")
    assert code == 1 and "no organization" in err

    agreement = tmp_path / "us-rok.toml"
    agreement.write_text(US_ROK_TECH)
    assert run(capsys, node_dir, "agreement", "apply", str(agreement))[1].endswith("applied")
    assert "unchanged" in run(capsys, node_dir, "agreement", "apply", str(agreement))[1]
    changed = tmp_path / "changed.toml"
    changed.write_text(US_ROK_TECH.replace('"S"', '"TS"'))
    code, _, err = run(capsys, node_dir, "agreement", "apply", str(changed))
    assert code == 1 and "version 2" in err
    code, _, err = run(capsys, node_dir, "collection", "add", "X", "--agreement", "nope")
    assert code == 1 and "no agreement" in err
    code, collection, _ = run(
        capsys,
        node_dir,
        "collection",
        "add",
        "Cyber",
        "--agreement",
        "us-rok-tech",
        "--category",
        "cyber-threat",
    )
    assert code == 0 and collection
    assert "us-rok-tech\tv1\tKOR,USA" in run(capsys, node_dir, "agreement", "list")[1]

    node = Node.open(load_settings(node_dir))
    try:
        kim = node.authenticate_token(token)
        assert (kim.organization_id, kim.nationality, kim.clearance) == ("KOR.KRCERT", "KOR", "S")
        assert kim.roles == {"reader", "contributor"}
        assert run(capsys, node_dir, "user", "disable", "kim")[0] == 0
        with pytest.raises(AuthenticationFailed):
            node.authenticate_token(token)
        node.authenticate_token(colleague)
        assert run(capsys, node_dir, "org", "disable", org)[0] == 0
        with pytest.raises(AuthenticationFailed):
            node.authenticate_token(colleague)
    finally:
        node.close()


def test_changing_members_and_explaining_a_decision(
    tmp_path: Path, node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agreement_file = tmp_path / "us-rok-tech.toml"
    agreement_file.write_text(US_ROK_TECH)
    assert run(capsys, node_dir, "agreement", "apply", str(agreement_file))[0] == 0
    _, collection, _ = run(
        capsys,
        node_dir,
        "collection",
        "add",
        "Cyber threats",
        "--agreement",
        "us-rok-tech",
        "--category",
        "cyber-threat",
    )
    _, org, _ = run(capsys, node_dir, "org", "add", "KrCERT", "--country", "KOR", "--kind", "cert")
    code, line, _ = run(capsys, node_dir, "org", "change", org, "--sector", "telecom")
    assert code == 0 and line.split("\t")[:5] == [org, "KrCERT", "KOR", "cert", "telecom"]
    run(capsys, node_dir, "user", "add", "kim", "--org", org, "--role", "reader")
    code, line, _ = run(capsys, node_dir, "user", "change", "kim", "--clearance", "S")
    assert code == 0 and line.split("\t") == ["kim", org, "KOR", "S", "reader"]
    code, _, err = run(capsys, node_dir, "user", "change", "kim", "--org", "KOR.NOBODY")
    assert code == 1 and "no organization" in err

    secret = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--44444444-4444-4444-8444-444444444444",
        "created": "2024-01-01T00:00:00.000Z",
        "extensions": {
            "extension-definition--3a65884d-005a-4290-8335-cb2d778a83ce": {
                "extension_type": "property-extension",
                "control_set": {"classification": "S", "formal_determination": ["NF"]},
            }
        },
    }
    malware = {
        "type": "malware",
        "spec_version": "2.1",
        "id": "malware--6b616fc1-1505-48e3-8b2c-0d19337bff38",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "ROKRAT",
        "is_family": True,
        "object_marking_refs": [secret["id"]],
    }
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(
        orjson.dumps({"type": "bundle", "id": "bundle--1", "objects": [secret, malware]})
    )
    code, _, err = run(capsys, node_dir, "import", str(bundle), "--collection", collection)
    assert code == 0, err
    code, out, _ = run(capsys, node_dir, "policy", "explain", malware["id"], "--as", "kim")
    assert code == 0
    assert "kim does not see it:" in out
    assert "NOFORN: releasable to USA nationals only, not to nationality KOR" in out
    assert "markings    S//NOFORN" in out
    code, _, err = run(capsys, node_dir, "policy", "explain", "malware--nothing", "--as", "kim")
    assert code == 1 and "no object" in err


def test_the_last_active_admin_stays(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The admin ``init`` made is the only one: it may be neither demoted nor disabled, and
    once another admin takes over, that one's organization may not be disabled either."""
    for command in (("change", "admin", "--role", "reader"), ("disable", "admin")):
        code, out, err = run(capsys, node_dir, "user", *command)
        assert code == 1 and not out
        assert len(err.splitlines()) == 1 and "user 'admin' is the node's last active admin" in err
    _, org, _ = run(capsys, node_dir, "org", "add", "CISA", "--country", "USA", "--kind", "cert")
    assert run(capsys, node_dir, "user", "add", "boss", "--org", org, "--admin")[0] == 0
    assert run(capsys, node_dir, "user", "change", "admin", "--role", "reader")[0] == 0
    code, _, err = run(capsys, node_dir, "org", "disable", org)
    assert code == 1 and f"organization '{org}' holds the node's last active admin" in err
    assert run(capsys, node_dir, "user", "disable", "boss")[0] == 1
    assert run(capsys, node_dir, "user", "change", "admin", "--role", "admin")[0] == 0
    assert run(capsys, node_dir, "org", "disable", org)[0] == 0
    code, users, _ = run(capsys, node_dir, "user", "list")
    assert [line.split("\t")[-1] for line in users.splitlines()] == ["admin", "admin,disabled"]


def test_a_user_added_without_a_role_reads_and_is_told_so(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, org, _ = run(capsys, node_dir, "org", "add", "CISA", "--country", "USA", "--kind", "cert")
    _, collection, _ = run(capsys, node_dir, "collection", "add", "Local")
    code, token, err = run(capsys, node_dir, "user", "add", "kim", "--org", org)
    assert code == 0 and err == "user kim: role reader (the default; --role chooses)"
    node = Node.open(load_settings(node_dir))
    try:
        kim = node.authenticate_token(token)
        assert kim.roles == {"reader"}
        [access] = node.collections_for(kim)
        assert (access.collection.id, access.can_read, access.can_write) == (
            collection,
            True,
            False,
        )
    finally:
        node.close()
    code, _, err = run(capsys, node_dir, "user", "add", "lee", "--org", org, "--role", "curator")
    assert code == 0 and not err
    code, _, err = run(capsys, node_dir, "user", "add", "ops", "--admin")
    assert code == 0 and not err
    code, users, _ = run(capsys, node_dir, "user", "list")
    assert [line.split("\t")[4] for line in users.splitlines()] == [
        "-",
        "reader",
        "curator",
        "-",
    ]


def test_countries_must_exist_and_agreement_organizations_be_registered(
    tmp_path: Path,
    node_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(*args: str) -> str:
        code, out, err = run(capsys, node_dir, *args)
        assert code == 1 and not out and len(err.splitlines()) == 1, (code, out, err)
        return err

    assert "'XXX' is not an ISO 3166-1 alpha-3" in refused(
        "org", "add", "Nowhere", "--country", "XXX", "--kind", "cert"
    )
    assert "nationality 'XXX'" in refused("user", "add", "kim", "--nationality", "XXX")
    assert "nationality 'ZZZ'" in refused("user", "change", "admin", "--nationality", "ZZZ")
    assert "peer country 'XXX'" in refused(
        "peer", "add", "kor", "--url", "https://127.0.0.1:1/taxii2/api/", "--country", "XXX",
        "--agreement", "us-rok-tech", "--cert-fingerprint", "00" * 32,
    )  # fmt: skip

    with_xxx = tmp_path / "xxx.toml"
    with_xxx.write_text(US_ROK_TECH.replace('"KOR"', '"XXX"'))
    assert "not ['XXX']" in refused("agreement", "apply", str(with_xxx))
    named = tmp_path / "named.toml"
    named.write_text(
        US_ROK_TECH.replace("organizations = []", 'organizations = ["KOR.KRCERT", "KOR.SAMSUNG"]')
    )
    err = refused("agreement", "apply", str(named))
    assert "['KOR.KRCERT', 'KOR.SAMSUNG'], not registered on this node" in err
    assert (
        run(capsys, node_dir, "org", "add", "KrCERT", "--country", "KOR", "--kind", "cert")[0] == 0
    )
    assert "['KOR.SAMSUNG'], not registered" in refused("agreement", "apply", str(named))
    run(capsys, node_dir, "org", "add", "Samsung", "--country", "KOR", "--kind", "company")
    assert run(capsys, node_dir, "agreement", "apply", str(named))[0] == 0
    assert run(capsys, node_dir, "agreement", "list")[1] == (
        "us-rok-tech\tv1\tKOR,KOR.KRCERT,KOR.SAMSUNG,USA"
    )

    monkeypatch.setenv("ALLYSHARE_COUNTRY", "XXX")
    assert "ALLYSHARE_COUNTRY 'XXX' is not" in refused("user", "list")
    monkeypatch.delenv("ALLYSHARE_COUNTRY")
    code, _, err = run(capsys, tmp_path / "new", "init", "--country", "XXX", "--name", "nowhere")
    assert code == 1 and "'XXX' is not an ISO 3166-1 alpha-3" in err
