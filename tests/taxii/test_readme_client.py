"""The README's taxii2-client example, run as written against a served node: it works when
the client's environment leaves its pin alone, and the warning beside it is true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import certifi

from support.processes import cli, serve

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _client_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    [example] = [block for block in blocks if "taxii2client" in block]
    return example


def test_the_readme_client_example_pins_the_node_unless_the_environment_overrides_it(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "node"
    assert cli(data_dir, "init", "--country", "USA", "--name", "usa-cert").returncode == 0
    collection = cli(data_dir, "collection", "add", "Indicators").stdout.strip()
    organization = cli(data_dir, "org", "add", "CISA", "--country", "USA", "--kind", "cert")
    organization_id = organization.stdout.strip()
    token = cli(data_dir, "user", "add", "analyst", "--org", organization_id, "--role", "reader")
    with serve(data_dir, tls=True) as node:
        script = (
            _client_example()
            .replace("https://127.0.0.1:6100", node.url)
            .replace("COLLECTION_ID", collection)
            .replace("TOKEN", token.stdout.strip())
            .replace("node/node.crt", str(data_dir / "node.crt"))
        )
        clean = {
            k: v for k, v in os.environ.items() if k not in {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}
        }

        def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-c", script],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )

        pinned = run(clean)
        assert pinned.returncode == 0, pinned.stderr
        assert pinned.stdout.strip() == "0"
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            assert variable in README
            overridden = run({**clean, variable: certifi.where()})
            assert overridden.returncode != 0
            assert "CERTIFICATE_VERIFY_FAILED" in overridden.stderr
