"""RFC 9162 section 2.1 Merkle trees, computed from the perfect subtrees a log stores.

A log of millions of leaves cannot rehash its leaves to answer a query. Instead it stores the
hash of every perfect subtree as it completes (`Frontier.append` hands them over), and then any
root or proof, for the current size or any earlier one, is O(log n) lookups through a
`Subtrees` accessor. The proof lists are exactly the RFC's (RFC 6962's PATH and PROOF), so any
RFC 9162 verifier accepts them, and the verifiers here are the RFC's algorithms step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Subtrees = Callable[[int, int], bytes]
"""``(level, index)`` to the hash of the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes."""

_sha256 = hashlib.sha256
_SIZE_BYTES = 8


def leaf_hash(data: bytes) -> bytes:
    """The 0x00 prefix keeps a leaf from ever hashing like an interior node (the RFC's
    second-preimage defence)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior nodes take the 0x01 prefix, for the same reason leaves take 0x00."""
    return _sha256(b"\x01" + left + right).digest()


def _split(width: int) -> int:
    """The RFC's k: the largest power of two smaller than ``width`` (``width`` >= 2)."""
    return 1 << ((width - 1).bit_length() - 1)


def _range_hash(start: int, end: int, subtrees: Subtrees) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion reaches, whose start is aligned to its
    largest perfect subtree: those subtrees, largest first, folded from the right."""
    width = end - start
    if width & (width - 1) == 0:
        level = width.bit_length() - 1
        return subtrees(level, start >> level)
    parts: list[bytes] = []
    while start < end:
        level = (end - start).bit_length() - 1
        parts.append(subtrees(level, start >> level))
        start += 1 << level
    result = parts.pop()
    while parts:
        result = node_hash(parts.pop(), result)
    return result


def root(size: int, subtrees: Subtrees) -> bytes:
    """MTH of the first ``size`` leaves; stored subtrees never change, so any past size works."""
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    return EMPTY_ROOT if size == 0 else _range_hash(0, size, subtrees)


def inclusion_proof(index: int, size: int, subtrees: Subtrees) -> list[bytes]:
    """PATH(index, D[size]) (RFC 9162 2.1.3.1), leaf's sibling first.

    Walks the RFC's recursion from the top: one side of each split is the sibling to record.
    Only the first right-hand sibling can be ragged; the rest are single lookups.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            proof.append(_range_hash(middle, end, subtrees))
            end = middle
        else:
            proof.append(_range_hash(start, middle, subtrees))
            start = middle
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, subtrees: Subtrees) -> list[bytes]:
    """PROOF(old_size, D[new_size]) (RFC 9162 2.1.4.1).

    The RFC defines it for 0 < old_size < new_size; for old_size 0 or equal sizes it is empty,
    which is what `verify_consistency` (and c2sp.org/tlog-witness for size 0) expects.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end = 0, new_size
    # SUBPROOF's b: while the range is still a prefix of the new tree, the old root is one the
    # verifier holds and is left out.
    old_root_known = True
    while old_size != end:
        middle = start + _split(end - start)
        if old_size <= middle:
            proof.append(_range_hash(middle, end, subtrees))
            end = middle
        else:
            proof.append(_range_hash(start, middle, subtrees))
            start = middle
            old_root_known = False
    if not old_root_known:
        proof.append(_range_hash(start, end, subtrees))
    proof.reverse()
    return proof


def _well_formed(hashes: Iterable[bytes]) -> bool:
    return all(len(value) == HASH_SIZE for value in hashes)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2. A malformed proof is False, never an exception: proofs come from
    whoever serves them."""
    if not 0 <= index < size or not _well_formed([leaf_hash, root, *proof]):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> bool:
    """RFC 9162 2.1.4.2, which covers 0 < old_size < new_size; the two other cases the RFC
    leaves open take an empty proof. Equal sizes must have equal roots. An empty old tree is
    consistent with any tree, but its root must be the empty tree's (c2sp.org/tlog-witness)."""
    if not 0 <= old_size <= new_size or not _well_formed([old_root, new_root, *proof]):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class Frontier:
    """The compact range of a growing tree: the roots of its perfect subtrees, largest first,
    one per set bit of the size.

    It is all a log writer keeps between appends: enough for the next append and for the
    current root, and a few hundred bytes to persist with each batch so that writing resumes
    exactly where it stopped.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count() or not _well_formed(hashes):
            raise ValueError(f"{len(hashes)} hashes are not the frontier of a tree of size {size}")
        self._size = size
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the subtrees it completes as ``(level, index, hash)``, the
        leaf itself first, for the store to keep. A leaf at an index with k trailing one bits
        completes k subtrees above it: O(log n) at worst, one on average."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf)}")
        hashes = self._hashes
        index = self._size
        level = 0
        node = leaf
        completed = [(0, index, leaf)]
        while index & 1:
            node = _sha256(b"\x01" + hashes.pop() + node).digest()
            index >>= 1
            level += 1
            completed.append((level, index, node))
        hashes.append(node)
        self._size += 1
        return completed

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        result = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            result = node_hash(left, result)
        return result

    def to_bytes(self) -> bytes:
        """The size as 8 big-endian bytes, then the hashes, largest subtree first."""
        return self._size.to_bytes(_SIZE_BYTES, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        size = int.from_bytes(data[:_SIZE_BYTES], "big")
        body = data[_SIZE_BYTES:]
        if len(data) < _SIZE_BYTES or len(body) != size.bit_count() * HASH_SIZE:
            raise ValueError("not a serialised frontier")
        return cls(size, [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)])


class MemoryTree:
    """Every leaf and completed subtree hash in memory, one list per level (each level's
    subtrees complete in index order): the stand-in, in tests and tools, for the store a log
    keeps. Call it as a `Subtrees`."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._frontier = Frontier()
        self._levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append(leaf)

    @property
    def size(self) -> int:
        return self._frontier.size

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; return its index."""
        index = self._frontier.size
        levels = self._levels
        for level, _, node in self._frontier.append(leaf):
            if level == len(levels):
                levels.append([])
            levels[level].append(node)
        return index

    def root(self) -> bytes:
        return self._frontier.root()

    def __call__(self, level: int, index: int) -> bytes:
        # Python would read a negative index from the end: a wrong hash, not an error.
        if level < 0 or index < 0:
            raise IndexError(f"no subtree at level {level}, index {index}")
        return self._levels[level][index]
