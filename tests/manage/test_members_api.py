"""Members over the management API: a new user reads unless told otherwise, and the node
always keeps an active admin (the last one cannot be demoted, disabled or cut off with its
organization, over the API or by two administrators racing each other)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from allyshare.config import Settings
from allyshare.errors import Conflict
from allyshare.server import create_server_app
from allyshare.service import Node

API = "/api/v1"


@pytest.fixture
def node(database_url: str, tmp_path: Path) -> Iterator[Node]:
    opened = Node.open(Settings(data_dir=tmp_path, database_url=database_url))
    yield opened
    opened.close()


def call(
    client: TestClient, token: str, method: str, path: str, body: Any = None
) -> httpx2.Response:
    return client.request(
        method, API + path, headers={"Authorization": f"Bearer {token}"}, json=body
    )


def test_a_user_made_without_roles_reads(node: Node) -> None:
    root = node.add_user("admin", is_admin=True)
    with TestClient(create_server_app(node)) as client:
        cisa = {"name": "CISA", "country": "USA", "kind": "cert"}
        organization = call(client, root, "POST", "/organizations", cisa).json()["id"]
        made = call(client, root, "POST", "/users", {"name": "kim", "organization": organization})
        assert made.status_code == 201, made.text
        assert (made.json()["roles"], made.json()["is_admin"]) == (["reader"], False)
        collection = node.add_collection("Local")
        seen = call(client, made.json()["token"], "GET", "/collections").json()["collections"]
        assert [(c["id"], c["can_read"], c["can_write"]) for c in seen] == [
            (collection.id, True, False)
        ]
        chosen = call(client, root, "POST", "/users", {"name": "lee", "roles": ["contributor"]})
        assert chosen.json()["roles"] == ["contributor"]
        ops = call(client, root, "POST", "/users", {"name": "ops", "roles": ["admin"]})
        assert (ops.json()["roles"], ops.json()["is_admin"]) == (["admin"], True)


def test_the_last_admin_is_kept_over_the_api(node: Node) -> None:
    root = node.add_user("admin", is_admin=True)
    with TestClient(create_server_app(node)) as client:
        for body in ({"roles": []}, {"roles": ["reader"]}, {"disabled": True}):
            refused = call(client, root, "PATCH", "/users/admin", body)
            assert refused.status_code == 409, refused.text
            assert "last active admin" in refused.json()["description"]
        assert call(client, root, "GET", "/users").status_code == 200

        cisa = {"name": "CISA", "country": "USA", "kind": "cert"}
        organization = call(client, root, "POST", "/organizations", cisa).json()["id"]
        made = call(
            client,
            root,
            "POST",
            "/users",
            {"name": "ops", "organization": organization, "roles": ["admin"]},
        )
        ops = made.json()["token"]
        # With a second admin, the first may go; then the second is the last.
        demoted = call(client, root, "PATCH", "/users/admin", {"roles": [], "clearance": "S"})
        assert demoted.status_code == 200 and demoted.json()["is_admin"] is False
        refused = call(client, ops, "PATCH", f"/organizations/{organization}", {"disabled": True})
        assert refused.status_code == 409, refused.text
        assert (
            f"organization '{organization}' holds the node's last active admin"
            in (refused.json()["description"])
        )
        renamed = call(
            client, ops, "PATCH", f"/organizations/{organization}", {"name": "X", "disabled": True}
        )
        assert renamed.status_code == 409
        assert call(client, ops, "GET", "/me").status_code == 200
        assert [o.name for o in node.organizations()] == ["CISA"]
        assert call(client, ops, "PATCH", "/users/ops", {"disabled": True}).status_code == 409


def test_two_concurrent_demotions_cannot_both_pass(database_url: str, tmp_path: Path) -> None:
    """Two nodes on one database (as two server processes are), each demoting a different
    one of the two admins at the same moment: one is refused, an admin remains."""
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    first, second = Node.open(settings), Node.open(settings)
    try:
        for round_ in range(10):
            names = (f"a{round_}", f"b{round_}")
            for name in names:
                first.add_user(name, is_admin=True)
            for user in first.users():
                if user.is_admin and user.name not in names:
                    first.change_user(user.name, roles=[])
            start = threading.Barrier(2)
            refused: list[str] = []
            threads = [
                threading.Thread(target=demote, args=(node, name, start, refused))
                for node, name in zip((first, second), names, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(refused) == 1
            assert [u.name for u in first.users() if u.is_admin and not u.disabled] == refused
    finally:
        first.close()
        second.close()


def demote(node: Node, name: str, start: threading.Barrier, refused: list[str]) -> None:
    start.wait()
    try:
        node.change_user(name, roles=["reader"])
    except Conflict:
        refused.append(name)
