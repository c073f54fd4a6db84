"""Members and agreements from the command line; disabling cuts access at once."""

from __future__ import annotations

from pathlib import Path

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
        capsys, node_dir, "collection", "add", "Cyber", "--agreement", "us-rok-tech"
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
