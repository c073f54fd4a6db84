"""RFC 9162 Merkle trees: published vectors, pymerkle as an independent oracle, the RFC's own
recursive definitions over plain leaf lists, and proofs that stop verifying when touched."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from allyshare.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# Vectors from github.com/transparency-dev/merkle: testonly/constants.go (leaves, node and root
# hashes) and testdata/{inclusion,consistency}/*/happy-path.json (proofs, 0-based leaf index).
LEAVES = [
    bytes.fromhex(value)
    for value in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION_PROOFS = [
    (0, 8, [NODE_HASHES[0][1], NODE_HASHES[1][1], NODE_HASHES[2][1]]),
    (5, 8, [NODE_HASHES[0][4], NODE_HASHES[1][3], NODE_HASHES[2][0]]),
    (2, 3, [NODE_HASHES[1][0]]),
    (1, 5, [NODE_HASHES[0][0], NODE_HASHES[1][1], NODE_HASHES[0][4]]),
]
CONSISTENCY_PROOFS = [
    (1, 8, [NODE_HASHES[0][1], NODE_HASHES[1][1], NODE_HASHES[2][1]]),
    (6, 8, [NODE_HASHES[1][2], NODE_HASHES[1][3], NODE_HASHES[2][0]]),
    (2, 5, [NODE_HASHES[1][1], NODE_HASHES[0][4]]),
    (6, 7, [NODE_HASHES[1][2], NODE_HASHES[0][6], NODE_HASHES[2][0]]),
]
# The same source's compact ranges: the frontier of each size, as (level, index) of NODE_HASHES.
FRONTIERS = [
    [],
    [(0, 0)],
    [(1, 0)],
    [(1, 0), (0, 2)],
    [(2, 0)],
    [(2, 0), (0, 4)],
    [(2, 0), (1, 2)],
    [(2, 0), (1, 2), (0, 6)],
    [(3, 0)],
]

SETTINGS = settings(deadline=None)


def reference_tree() -> MemoryTree:
    return MemoryTree(leaf_hash(data) for data in LEAVES)


def hashes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(value) for value in values]


def test_vectors_roots_and_subtrees() -> None:
    tree = reference_tree()
    assert bytes.fromhex(ROOTS[0]) == EMPTY_ROOT
    assert [root(size, tree) for size in range(9)] == hashes(ROOTS)
    for level, row in enumerate(NODE_HASHES):
        assert [tree(level, index) for index in range(len(row))] == hashes(row)


def test_vectors_frontiers() -> None:
    frontier = Frontier()
    for size, data in enumerate([*LEAVES, None]):
        assert frontier.size == size
        assert frontier.root() == bytes.fromhex(ROOTS[size])
        expected = [bytes.fromhex(NODE_HASHES[level][index]) for level, index in FRONTIERS[size]]
        assert list(frontier.hashes) == expected
        if data is not None:
            frontier.append(leaf_hash(data))


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_vectors_inclusion(index: int, size: int, proof: list[str]) -> None:
    tree = reference_tree()
    assert inclusion_proof(index, size, tree) == hashes(proof)
    leaf = leaf_hash(LEAVES[index])
    assert verify_inclusion(leaf, index, size, hashes(proof), bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old_size", "new_size", "proof"), CONSISTENCY_PROOFS)
def test_vectors_consistency(old_size: int, new_size: int, proof: list[str]) -> None:
    tree = reference_tree()
    assert consistency_proof(old_size, new_size, tree) == hashes(proof)
    old_root, new_root = bytes.fromhex(ROOTS[old_size]), bytes.fromhex(ROOTS[new_size])
    assert verify_consistency(old_size, new_size, hashes(proof), old_root, new_root)


# The RFC's definitions, recursive over the leaf hashes, for proofs no published vector covers.


def mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def rfc_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*rfc_path(m, leaves[:k]), mth(leaves[k:])]
    return [*rfc_path(m - k, leaves[k:]), mth(leaves[:k])]


def rfc_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    if m == len(leaves):
        return [] if b else [mth(leaves)]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m <= k:
        return [*rfc_subproof(m, leaves[:k], b), mth(leaves[k:])]
    return [*rfc_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def test_every_proof_of_small_trees_is_the_rfc_definition() -> None:
    leaves = [leaf_hash(n.to_bytes(2, "big")) for n in range(40)]
    tree = MemoryTree(leaves)
    for n in range(1, len(leaves) + 1):
        assert root(n, tree) == mth(leaves[:n])
        for index in range(n):
            assert inclusion_proof(index, n, tree) == rfc_path(index, leaves[:n])
        for m in range(1, n):
            assert consistency_proof(m, n, tree) == rfc_subproof(m, leaves[:n], True)


@SETTINGS
@given(entries=st.lists(st.binary(max_size=12), min_size=1, max_size=300), data=st.data())
def test_roots_and_inclusion_paths_agree_with_pymerkle(
    entries: list[bytes], data: st.DataObject
) -> None:
    oracle = InmemoryTree()
    for entry in entries:
        oracle.append_entry(entry)
    tree = MemoryTree(leaf_hash(entry) for entry in entries)
    assert tree.root() == oracle.get_root()
    for size in range(len(entries) + 1):
        assert root(size, tree) == oracle.get_root(size)
    for _ in range(10):
        size = data.draw(st.integers(1, len(entries)))
        index = data.draw(st.integers(0, size - 1))
        # pymerkle counts leaves from one and puts the leaf hash itself first in its path.
        expected = oracle.prove_inclusion(index + 1, size).path
        assert [tree(0, index), *inclusion_proof(index, size, tree)] == expected


def test_a_larger_tree_agrees_with_pymerkle() -> None:
    entries = [hashlib.sha256(n.to_bytes(4, "big")).digest() for n in range(5000)]
    oracle = InmemoryTree()
    for entry in entries:
        oracle.append_entry(entry)
    tree = MemoryTree(leaf_hash(entry) for entry in entries)
    for size in (1, 2, 1023, 1024, 1025, 3333, 4096, 4999, 5000):
        assert root(size, tree) == oracle.get_root(size)
        for index in {0, size // 3, size // 2, size - 1}:
            path = [tree(0, index), *inclusion_proof(index, size, tree)]
            assert path == oracle.prove_inclusion(index + 1, size).path


def flips(proof: list[bytes]) -> list[list[bytes]]:
    """Every copy of ``proof`` with exactly one bit flipped."""
    flipped = []
    for position, value in enumerate(proof):
        for bit in range(len(value) * 8):
            changed = bytearray(value)
            changed[bit // 8] ^= 1 << (bit % 8)
            flipped.append([*proof[:position], bytes(changed), *proof[position + 1 :]])
    return flipped


def misshapen(proof: list[bytes], extra: bytes) -> list[list[bytes]]:
    """``proof`` cut short at either end, or lengthened at either end."""
    shorter = [proof[1:], proof[:-1]] if proof else []
    return [*shorter, [*proof, extra], [extra, *proof]]


trees = st.integers(1, 200).map(
    lambda size: MemoryTree(leaf_hash(n.to_bytes(2, "big")) for n in range(size))
)


@SETTINGS
@given(tree=trees, data=st.data())
def test_inclusion_proofs_verify_and_any_change_breaks_them(
    tree: MemoryTree, data: st.DataObject
) -> None:
    size = data.draw(st.integers(1, tree.size))
    index = data.draw(st.integers(0, size - 1))
    leaf, head = tree(0, index), root(size, tree)
    proof = inclusion_proof(index, size, tree)
    assert verify_inclusion(leaf, index, size, proof, head)
    for changed in [*flips(proof), *misshapen(proof, leaf)]:
        assert not verify_inclusion(leaf, index, size, changed, head)
    assert not any(verify_inclusion(other, index, size, proof, head) for [other] in flips([leaf]))
    assert not any(verify_inclusion(leaf, index, size, proof, other) for [other] in flips([head]))


@SETTINGS
@given(tree=trees, data=st.data())
def test_consistency_proofs_verify_and_any_change_breaks_them(
    tree: MemoryTree, data: st.DataObject
) -> None:
    new_size = data.draw(st.integers(0, tree.size))
    old_size = data.draw(st.integers(0, new_size))
    old_root, new_root = root(old_size, tree), root(new_size, tree)
    proof = consistency_proof(old_size, new_size, tree)
    assert verify_consistency(old_size, new_size, proof, old_root, new_root)
    for changed in [*flips(proof), *misshapen(proof, old_root)]:
        assert not verify_consistency(old_size, new_size, changed, old_root, new_root)
    for [other] in flips([old_root]):
        assert not verify_consistency(old_size, new_size, proof, other, new_root)
    if old_size:
        # From an empty tree any new root is consistent; otherwise the new root is bound.
        for [other] in flips([new_root]):
            assert not verify_consistency(old_size, new_size, proof, old_root, other)
    if 0 < old_size < new_size:
        assert not verify_consistency(old_size, new_size, proof, new_root, old_root)


@SETTINGS
@given(entries=st.lists(st.binary(max_size=4), max_size=200), data=st.data())
def test_a_resumed_frontier_continues_identically(
    entries: list[bytes], data: st.DataObject
) -> None:
    leaves = [leaf_hash(entry) for entry in entries]
    stop = data.draw(st.integers(0, len(leaves)))
    whole, first = Frontier(), Frontier()
    for leaf in leaves[:stop]:
        assert first.append(leaf) == whole.append(leaf)
    resumed = Frontier.from_bytes(first.to_bytes())
    rebuilt = Frontier(first.size, first.hashes)
    for frontier in (resumed, rebuilt):
        assert (frontier.size, frontier.hashes, frontier.root()) == (
            stop,
            first.hashes,
            first.root(),
        )
    for leaf in leaves[stop:]:
        completed = whole.append(leaf)
        assert resumed.append(leaf) == completed
        assert rebuilt.append(leaf) == completed
        assert resumed.root() == whole.root() == rebuilt.root()
    assert resumed.to_bytes() == whole.to_bytes()
    assert whole.root() == mth(leaves)


@SETTINGS
@given(size=st.integers(0, 300))
def test_append_hands_over_exactly_the_subtrees_it_completes(size: int) -> None:
    leaves = [leaf_hash(n.to_bytes(2, "big")) for n in range(size)]
    frontier = Frontier()
    seen = set()
    for index, leaf in enumerate(leaves):
        completed = frontier.append(leaf)
        assert completed[0] == (0, index, leaf)
        for level, position, value in completed:
            start = position << level
            # Complete means its last leaf is the one just added.
            assert start + (1 << level) == index + 1
            assert value == mth(leaves[start : start + (1 << level)])
            seen.add((level, position))
    expected = {
        (level, position) for level in range(size.bit_length()) for position in range(size >> level)
    }
    assert seen == expected


def test_proof_requests_outside_the_tree_are_errors() -> None:
    tree = reference_tree()
    for index, size in ((0, 0), (3, 3), (-1, 3)):
        with pytest.raises(ValueError, match="leaf index"):
            inclusion_proof(index, size, tree)
    for old_size, new_size in ((4, 3), (-1, 3)):
        with pytest.raises(ValueError, match="consistency"):
            consistency_proof(old_size, new_size, tree)
    with pytest.raises(ValueError, match="negative"):
        root(-1, tree)
    # A size the store has not reached needs subtrees it does not have.
    with pytest.raises(IndexError):
        root(9, tree)
    with pytest.raises(IndexError):
        tree(0, -1)


def test_verifiers_reject_malformed_input() -> None:
    tree = reference_tree()
    leaf, head = tree(0, 0), root(8, tree)
    proof = inclusion_proof(0, 8, tree)
    assert not verify_inclusion(leaf, 8, 8, proof, head)
    assert not verify_inclusion(leaf, -1, 8, proof, head)
    assert not verify_inclusion(leaf, 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(leaf[:31], 0, 8, proof, head)
    assert not verify_inclusion(leaf, 0, 8, [*proof[:2], proof[2] + b"\0"], head)
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    assert not verify_inclusion(leaf, 0, 1, [leaf], leaf)

    one, two = root(1, tree), root(2, tree)
    assert not verify_consistency(2, 1, [], two, one)
    assert not verify_consistency(-1, 1, [], EMPTY_ROOT, one)
    assert not verify_consistency(1, 2, [], one, two)
    assert not verify_consistency(1, 2, [tree(0, 1)[:16]], one, two)


def test_the_edges_the_rfc_leaves_open() -> None:
    tree = reference_tree()
    one, two = root(1, tree), root(2, tree)
    assert verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    assert verify_consistency(0, 2, [], EMPTY_ROOT, two)
    assert not verify_consistency(0, 0, [], EMPTY_ROOT, one)
    assert not verify_consistency(0, 2, [], one, two)
    assert not verify_consistency(0, 2, [EMPTY_ROOT], EMPTY_ROOT, two)
    assert verify_consistency(2, 2, [], two, two)
    assert not verify_consistency(2, 2, [], two, one)
    assert not verify_consistency(2, 2, [two], two, two)
    assert consistency_proof(0, 5, tree) == consistency_proof(5, 5, tree) == []


def test_frontier_rejects_what_is_not_a_frontier() -> None:
    hash_ = leaf_hash(b"")
    for size, values in ((1, []), (3, [hash_]), (2, [hash_, hash_]), (-1, []), (1, [b"x"])):
        with pytest.raises(ValueError, match="frontier"):
            Frontier(size, values)
    good = Frontier(3, [hash_, hash_]).to_bytes()
    for data in (b"", good[:7], good[:-1], good + b"\0", good[:8] + good[8:40]):
        with pytest.raises(ValueError, match="frontier"):
            Frontier.from_bytes(data)
    with pytest.raises(ValueError, match="leaf hash"):
        Frontier().append(b"short")
