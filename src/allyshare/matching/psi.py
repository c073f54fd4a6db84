"""Both sides of private set intersection, over OpenMined's ECDH PSI on P-256
(``openmined-psi``), as serialized messages so that each side may run on its own node.

The holder commits its values once in a setup (its values under its secret key, as a
Golomb-compressed set from ten thousand values on) and answers each request (the seeker's
values under the seeker's key) by applying its key; the seeker finds which of its values are
in the setup. The holder never sees the
seeker's values, and the seeker learns of the holder's only those it holds itself (up to the
set's false-positive rate, ``FALSE_POSITIVES`` over a whole request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import private_set_intersection.python as psi

__all__ = [
    "FALSE_POSITIVES",
    "MAX_REQUEST",
    "Holder",
    "Seeker",
    "element",
    "parse_request",
    "request_size",
]

FALSE_POSITIVES = 1e-9
MAX_REQUEST = 10_000
"""The most values one request may hold; the setup is sized for it."""
_COMPRESS_FROM = 10_000


def element(kind: str, value: str) -> str:
    """An observable as the set holds it: its type and normalized value."""
    return f"{kind}\x00{value}"


@dataclass(frozen=True)
class Holder:
    """The holder's side: its key and the setup message for one set of values."""

    key: bytes
    setup: bytes
    size: int

    @classmethod
    def of(cls, values: Sequence[str]) -> Holder:
        server = psi.server.CreateWithNewKey(True)
        # The compressed set is a sixth of the plain one's size, but the library cannot build
        # it for a handful of values; below this a plain set is small anyway.
        structure = (
            psi.DataStructure.GCS if len(values) >= _COMPRESS_FROM else psi.DataStructure.RAW
        )
        setup = server.CreateSetupMessage(FALSE_POSITIVES, MAX_REQUEST, list(values), structure)
        return cls(server.GetPrivateKeyBytes(), setup.SerializeToString(), len(values))

    def answer(self, request: bytes) -> bytes:
        """The response to a seeker's request: its values, under this holder's key too."""
        server = psi.server.CreateFromKey(self.key, True)
        return bytes(server.ProcessRequest(parse_request(request)).SerializeToString())


def parse_request(request: bytes) -> Any:
    """A seeker's request as the library reads it; ValueError when it is not one, or holds
    more than `MAX_REQUEST` values."""
    message = psi.Request()
    try:
        message.ParseFromString(request)
    except Exception as exc:  # the protobuf runtime raises its own DecodeError
        raise ValueError(f"not a private matching request: {exc}") from None
    if len(message.encrypted_elements) > MAX_REQUEST:
        raise ValueError(f"a request holds at most {MAX_REQUEST:,} values")
    if not message.encrypted_elements:
        raise ValueError("a request holds at least one value")
    return message


def request_size(request: bytes) -> int:
    """How many values a request holds (all the holder learns of it)."""
    return len(parse_request(request).encrypted_elements)


class Seeker:
    """The seeker's side for one request: its key, which never leaves it, and its values."""

    def __init__(self, values: Sequence[str]) -> None:
        if len(values) > MAX_REQUEST:
            raise ValueError(f"a request holds at most {MAX_REQUEST:,} values")
        self._client = psi.client.CreateWithNewKey(True)
        self._values = list(values)

    def request(self) -> bytes:
        return bytes(self._client.CreateRequest(self._values).SerializeToString())

    def matched(self, setup: bytes, response: bytes) -> list[int]:
        """The positions of this seeker's values the holder's set holds."""
        server_setup = psi.ServerSetup()
        server_setup.ParseFromString(setup)
        answer = psi.Response()
        answer.ParseFromString(response)
        return sorted(self._client.GetIntersection(server_setup, answer))
