"""The import pipeline as a library call, as the API and the UI will use it: as any actor,
with progress told per file and per batch, files that are not STIX skipped and named."""

from __future__ import annotations

import shutil
from pathlib import Path

from allyshare.config import Settings
from allyshare.interchange import import_into
from allyshare.service import Node


def test_a_member_imports_a_mixed_directory(tmp_path: Path, shared_data: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("attack/index.json", "attack-flow/corpus/sony-malware.json"):
        shutil.copy(shared_data / name, folder / Path(name).name)
    node = Node.open(Settings(data_dir=tmp_path, country="USA"))
    try:
        cert = node.add_organization("CERT", country="USA", kind="cert")
        node.add_user("analyst", organization=cert, roles=["contributor"])
        found = node.user("analyst")
        collection = node.add_collection("Imported").id
        told: list[tuple[str, int]] = []

        summary = import_into(
            node,
            found,
            collection,
            [folder],
            lambda file, stored: told.append((file.name, stored)),
        )

        assert summary["stored"] == 63 and summary["rejected"] == 0
        assert [line.split(":")[0] for line in summary.skipped] == [str(folder / "index.json")]
        assert ("sony-malware.json", 63) in told
        assert ("index.json", 0) in told
    finally:
        node.close()
