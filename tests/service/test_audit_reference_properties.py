"""Random sequences of version sets, each recorded as an entry that lists its versions, names
them as in an earlier entry of the sequence, or does so with a change set: the log must show
each entry naming exactly its set (a member: its own part of it, and only the entries with
one), the object filter must find exactly the entries naming an object, and each leaf must
be what is shown without ``objects``. On SQLite and PostgreSQL; the node lives through the
examples, each of which checks the entries it recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from allyshare.audit.entries import ObjectRefs
from allyshare.audit.merkle import leaf_hash
from allyshare.config import Settings
from allyshare.service import CONSOLE, Node
from allyshare.service.audit import derived_read
from allyshare.storage import EntryFilter, User

EXAMPLES = {"sqlite": 60, "postgresql": 12}
CISA, KISA, PSEUDONYM = "USA.CISA", "KOR.KISA", "CISA's pseudonym"  # the last filled in per node
IDS = [f"incident--{n:08d}-0000-4000-8000-000000000000" for n in range(5)]
VERSIONS = ["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"]
WITHHELD = [(), ("description",), ("description", "labels")]

Key = tuple[str, str, str]  # originator, id, version
Versions = dict[Key, tuple[str, ...]]  # each version and the properties withheld from it
Shown = set[tuple[str, str, str, tuple[str, ...]]]

version_sets = st.dictionaries(
    st.tuples(
        st.sampled_from([CISA, KISA, PSEUDONYM]), st.sampled_from(IDS), st.sampled_from(VERSIONS)
    ),
    st.sampled_from(WITHHELD),
    max_size=8,
)


@dataclass(frozen=True)
class Step:
    """``full`` lists ``versions``; ``same`` names exactly those of step ``pick``; ``changed``
    names ``versions`` as those of step ``pick`` with a change set (earlier steps of the
    example only: a first step lists its versions)."""

    kind: str
    pick: int
    versions: Versions


steps = st.lists(
    st.builds(
        Step,
        st.sampled_from(["full", "same", "changed", "changed"]),
        st.integers(0, 99),
        version_sets,
    ),
    min_size=1,
    max_size=8,
)


@dataclass
class Site:
    node: Node
    cisa: User
    backend: str


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    node = Node.open(Settings(data_dir=tmp_path, database_url=database_url, country="USA"))
    try:
        node.add_user(
            "cisa",
            organization=node.add_organization("CISA", country="USA", kind="cert"),
            roles=["reader"],
        )
        backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
        yield Site(node, node.user("cisa"), backend)
    finally:
        node.close()


def test_entries_show_the_versions_each_was_recorded_with(site: Site) -> None:
    pseudonym = site.node._audit.pseudonym(CISA)
    own = {CISA, pseudonym}

    @settings(
        max_examples=EXAMPLES[site.backend],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(steps, st.integers(1, 4), st.sampled_from(IDS))
    def check(example: list[Step], page: int, wanted: str) -> None:
        recorded: list[tuple[int, Versions]] = []
        for step in example:
            versions = {
                (pseudonym if o == PSEUDONYM else o, i, v): w
                for (o, i, v), w in step.versions.items()
            }
            if step.kind == "same" and recorded:
                seq, versions = recorded[step.pick % len(recorded)]
                refs = ObjectRefs.as_in(seq, {o for o, _, _ in versions})
            elif step.kind == "changed" and recorded:
                seq, earlier = recorded[step.pick % len(recorded)]
                refs = _changed(seq, earlier, versions)
            else:
                refs = _listed(versions)
            note(f"{step.kind}: {refs.refers_to} -> {sorted(versions.items())}")
            recorded.append((site.node._gate.record(derived_read(CONSOLE, refs, {})), versions))
        first, last = recorded[0][0], recorded[-1][0]

        shown: dict[int, dict[str, object]] = {}
        after = first - 1
        while after < last:
            found = site.node.audit_entries(CONSOLE, EntryFilter(), after=after, limit=page)
            shown.update((entry["seq"], entry) for entry in found)
            after = found[-1]["seq"]
        leaves = site.node._store.audit.subtrees([(0, seq) for seq, _ in recorded])
        for seq, versions in recorded:
            assert _shown(shown[seq]) == _as_shown(versions), seq
            leaf = {key: value for key, value in shown[seq].items() if key != "objects"}
            if "objects_as_in" not in leaf:
                leaf = shown[seq]
            assert leaf_hash(orjson.dumps(leaf, option=orjson.OPT_SORT_KEYS)) == leaves[0, seq]

        seen = {
            entry["seq"]: entry
            for entry in site.node.audit_entries(
                site.cisa, EntryFilter(), after=first - 1, limit=10_000
            )
            if entry["seq"] <= last
        }
        assert set(seen) == {
            seq for seq, versions in recorded if any(o in own for o, _, _ in versions)
        }
        for seq, entry in seen.items():
            versions = dict(recorded)[seq]
            assert _shown(entry) == _as_shown({k: w for k, w in versions.items() if k[0] in own})

        naming = site.node.audit_entries(
            CONSOLE, EntryFilter(object_id=wanted), after=first - 1, limit=10_000
        )
        assert {e["seq"] for e in naming if e["seq"] <= last} == {
            seq for seq, versions in recorded if any(i == wanted for _, i, _ in versions)
        }

    check()


def _listed(versions: Versions) -> ObjectRefs:
    refs = ObjectRefs()
    for (originator, object_id, version), withheld in versions.items():
        refs.versions_of(originator).append(
            (object_id, version, list(withheld)) if withheld else (object_id, version)
        )
    return refs


def _changed(seq: int, earlier: Versions, versions: Versions) -> ObjectRefs:
    """As entry ``seq``, less what is gone (or withholds otherwise now), plus what is new."""
    dropped = ObjectRefs.of(
        (object_id, version, originator)
        for (originator, object_id, version), withheld in earlier.items()
        if versions.get((originator, object_id, version)) != withheld
    )
    added = _listed({key: w for key, w in versions.items() if earlier.get(key) != w})
    return ObjectRefs.as_in(seq, {o for o, _, _ in versions}, added, dropped)


def _shown(entry: dict[str, object]) -> Shown:
    objects = entry.get("objects", {})
    assert isinstance(objects, dict)
    found = [
        (originator, ref[0], ref[1], tuple(ref[2]) if len(ref) > 2 else ())
        for originator, refs in objects.items()
        for ref in refs
    ]
    assert len(found) == len(set(found)), "no version named twice"
    return set(found)


def _as_shown(versions: Versions) -> Shown:
    return {(o, i, v, w) for (o, i, v), w in versions.items()}
