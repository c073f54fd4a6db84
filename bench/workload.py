"""The benchmark's content: synthetic STIX 2.1 objects, generated once per size into a file.

The file holds one orjson-serialised object per line, so every later pass (TAXII envelopes,
the raw SQLite and orjson limits) streams the same bytes without re-encoding them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import orjson

from allyshare.demo.content import synthetic_objects


@dataclass(frozen=True)
class Workload:
    path: Path
    size: int

    def lines(self) -> Iterator[bytes]:
        """The first ``size`` objects, serialised."""
        with self.path.open("rb") as stream:
            for line in islice(stream, self.size):
                yield line.rstrip(b"\n")

    def batches(self, batch: int) -> Iterator[list[bytes]]:
        lines = self.lines()
        while chunk := list(islice(lines, batch)):
            yield chunk

    def sample_ids(self, among_first: int, count: int, seed: int) -> list[str]:
        """``count`` ids drawn at random from the first ``among_first`` objects."""
        rng = random.Random(seed)
        wanted = sorted(rng.randrange(among_first) for _ in range(count))
        found: list[str] = []
        position = 0
        for index, line in enumerate(islice(self.lines(), among_first)):
            while position < len(wanted) and wanted[position] == index:
                found.append(str(orjson.loads(line)["id"]))
                position += 1
        rng.shuffle(found)
        return found


def envelope(lines: list[bytes]) -> bytes:
    """A TAXII envelope around already-serialised objects (no JSON encoding happens here)."""
    return b'{"objects":[' + b",".join(lines) + b"]}"


def prepare(work: Path, size: int, seed: int) -> Workload:
    path = work / f"objects-{size}-seed{seed}.jsonl"
    partial = path.with_suffix(".partial")
    with partial.open("wb") as stream:
        for obj in synthetic_objects(size, seed=seed):
            stream.write(orjson.dumps(obj) + b"\n")
    partial.replace(path)
    return Workload(path, size)
