"""Partners witness each other's audit logs during sync (real node processes): a checkpoint
that only grew is cosigned and the cosignature handed back; a log rewritten after its partner
cosigned a checkpoint is caught by that partner and flagged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from support.federation import federated_pair, indicator, ok
from support.processes import cli, pinned_context

GUARDED = ("audit_entries", "audit_about", "audit_nodes", "audit_checkpoints")


def rewrite_history(data_dir: Path) -> None:
    """What an operator with the database's keys could do: drop the guards, start over."""
    with sqlite3.connect(data_dir / "allyshare.db") as database:
        for table in GUARDED:
            database.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            database.execute(f"DELETE FROM {table}")


def test_partners_cosign_a_growing_log_and_catch_a_rewritten_one(tmp_path: Path) -> None:
    with federated_pair(tmp_path) as pair:
        pair.post([indicator(1), indicator(2)])
        synced = ok(cli(pair.kor.data_dir, "sync"))
        assert "usa: audit log checkpoint" in synced and "witnessed and cosigned" in synced

        cosigned = ok(cli(pair.usa.data_dir, "audit", "cosignatures"))
        assert "cosigned by kor" in cosigned
        assert "the log is intact" in ok(cli(pair.usa.data_dir, "audit", "verify"))

        pair.post([indicator(3)])
        synced = ok(cli(pair.kor.data_dir, "sync"))
        assert "witnessed and cosigned" in synced
        assert cosigned.count("cosigned by kor") < ok(
            cli(pair.usa.data_dir, "audit", "cosignatures")
        ).count("cosigned by kor")

        rewrite_history(pair.usa.data_dir)
        verified = cli(pair.usa.data_dir, "audit", "verify")
        assert verified.returncode == 1
        assert "cosignature of checkpoint" in verified.stderr

        pair.post([indicator(4)])
        caught = cli(pair.kor.data_dir, "sync")
        assert caught.returncode == 1, caught.stdout + caught.stderr
        assert "usa: its audit log is inconsistent" in caught.stdout
        peers = ok(cli(pair.kor.data_dir, "peer", "list"))
        assert "AUDIT LOG INCONSISTENT" in peers

        admin = (pair.kor.data_dir / "admin.token").read_text().strip()
        listed = httpx.get(
            f"{pair.kor.url}/api/v1/peers",
            headers={"Authorization": f"Bearer {admin}"},
            verify=pinned_context(pair.kor.data_dir / "node.crt"),
        )
        assert listed.status_code == 200, listed.text
        [usa] = [peer for peer in listed.json()["peers"] if peer["name"] == "usa"]
        assert "removed" in usa["audit_log_alarm"] or "rewritten" in usa["audit_log_alarm"]
