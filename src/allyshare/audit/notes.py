"""C2SP signed notes, checkpoints and Ed25519 cosignatures: the formats other logs and witnesses
speak, so the log's tree heads can be checked and cosigned by tools that are not ours.

- c2sp.org/signed-note: text, a blank line, then ``— <name> base64(key id || signature)``
  lines; a key is known by name and key id, and its verifier key is
  ``<name>+<hex key id>+base64(type || public key)``.
- c2sp.org/tlog-checkpoint: the note text ``origin``, ``size``, ``base64(root)``, extensions.
- c2sp.org/tlog-cosignature (Ed25519, type 0x04): a witness signs ``cosignature/v1``, a
  ``time`` line and the checkpoint text, and puts the timestamp in the signature.

Everything read from outside is parsed strictly; anything malformed is a `NoteError`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
SIGNATURE_TYPES = (ED25519, COSIGNATURE_V1)
# The spec asks verifiers to cap signatures, and to accept at least 16.
MAX_SIGNATURES = 100
MAX_TIMESTAMP = 2**63 - 1
MAX_TREE_SIZE = 2**64 - 1

_KEY_SIZE = 32
_SIGNATURE_SIZE = 64
_KEY_ID_SIZE = 4
_TIMESTAMP_SIZE = 8
_ROOT_SIZE = 32
_SIGNATURE_PREFIX = "\N{EM DASH} "
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")
_KEY_ID_HEX = re.compile("[0-9a-f]{8}")
_DECIMAL = re.compile("0|[1-9][0-9]*")


class NoteError(ValueError):
    """A note, checkpoint, key or signature that is malformed or does not verify."""


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _valid_name(name: str) -> bool:
    """Names are the signature line's first field, so they cannot hold a space; nor a plus,
    which separates a verifier key's parts."""
    return (
        bool(name)
        and "+" not in name
        and not any(char.isspace() for char in name)
        and not _CONTROL.search(name)
        and _encodable(name)
    )


def _b64decode(value: str) -> bytes | None:
    """Standard padded base64, and only its canonical form, so one value has one spelling."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return raw if base64.b64encode(raw).decode("ascii") == value else None


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4]: the type byte keeps one key used for two
    signature types from sharing an id."""
    material = name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key
    return hashlib.sha256(material).digest()[:_KEY_ID_SIZE]


def _cosigned_message(timestamp: int, text: bytes) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp + text


@dataclass(frozen=True)
class Verifier:
    """A known key: an Ed25519 public key, the name it signs as and the signature type it makes
    (note signatures, or timestamped checkpoint cosignatures)."""

    name: str
    signature_type: int
    public_key: bytes
    key_id: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}")
        if self.signature_type not in SIGNATURE_TYPES:
            raise NoteError(f"unsupported signature type {self.signature_type:#04x}")
        if len(self.public_key) != _KEY_SIZE:
            raise NoteError(f"an Ed25519 public key is {_KEY_SIZE} bytes")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as error:
            raise NoteError("not an Ed25519 public key") from error
        object.__setattr__(self, "key_id", key_id(self.name, self.signature_type, self.public_key))

    def vkey(self) -> str:
        encoded = _b64encode(bytes([self.signature_type]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (what follows the key id) signs the note ``text``."""
        if self.signature_type == COSIGNATURE_V1:
            if len(signature) != _TIMESTAMP_SIZE + _SIGNATURE_SIZE:
                return False
            timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
            if timestamp > MAX_TIMESTAMP:
                return False
            text = _cosigned_message(timestamp, text)
            signature = signature[_TIMESTAMP_SIZE:]
        elif len(signature) != _SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The vkey a note signer publishes."""
    return Verifier(name, ED25519, public_key.public_bytes_raw()).vkey()


def cosigner_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The vkey a witness publishes for its cosignatures (type 0x04)."""
    return Verifier(name, COSIGNATURE_V1, public_key.public_bytes_raw()).vkey()


def parse_verifier_key(vkey: str) -> Verifier:
    """A vkey of either type; its key id must be the one its name and key give."""
    name, _, rest = vkey.partition("+")
    id_hex, _, encoded = rest.partition("+")
    raw = _b64decode(encoded)
    if (
        not _KEY_ID_HEX.fullmatch(id_hex)
        or raw is None
        or len(raw) != 1 + _KEY_SIZE
        or raw[0] not in SIGNATURE_TYPES
        or not _valid_name(name)
    ):
        raise NoteError("malformed verifier key")
    verifier = Verifier(name, raw[0], raw[1:])
    if verifier.key_id.hex() != id_hex:
        raise NoteError("verifier key id does not match its name and key")
    return verifier


@dataclass(frozen=True)
class Signature:
    """One signature line: the name and key id it claims, and the signature after the id."""

    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures known keys verified (one per key), and the
    others, kept so they can be passed on."""

    text: str
    verified: tuple[Signature, ...]
    unverified: tuple[Signature, ...]


def _signature_line(name: str, signature: bytes) -> str:
    return f"{_SIGNATURE_PREFIX}{name} {_b64encode(signature)}\n"


def _parse_signature_line(line: str) -> Signature:
    """``line`` without its newline."""
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError("malformed signature line")
    name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    raw = _b64decode(encoded)
    if not _valid_name(name) or raw is None or len(raw) <= _KEY_ID_SIZE:
        raise NoteError("malformed signature line")
    return Signature(name, raw[:_KEY_ID_SIZE], raw[_KEY_ID_SIZE:])


def _check_text(text: str) -> None:
    """What the spec asks of note text, and no line that reads like a signature: a human, or a
    careless parser, could take one for a real signature."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if _CONTROL.search(text) or not _encodable(text):
        raise NoteError("note text must be UTF-8 without control characters but newline")
    if any(line.startswith(_SIGNATURE_PREFIX) for line in text.split("\n")):
        raise NoteError("note text must not hold a line that looks like a signature")


def _signer_key_id(name: str, private_key: Ed25519PrivateKey, signature_type: int) -> bytes:
    if not _valid_name(name):
        raise NoteError(f"invalid key name {name!r}")
    return key_id(name, signature_type, private_key.public_key().public_bytes_raw())


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note: ``text``, a blank line and one signature line. Cosignature lines from
    witnesses can be appended to it as they arrive."""
    _check_text(text)
    identifier = _signer_key_id(name, private_key, ED25519)
    signature = private_key.sign(text.encode("utf-8"))
    return text + "\n" + _signature_line(name, identifier + signature)


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Parse ``note`` and check it against the known keys.

    Signatures from unknown keys (name or key id not matching a known key) are kept unverified;
    a known key's signature that fails makes the whole note fail, and so does a note with no
    verified signature at all. A cosigner key (type 0x04) verifies its cosignatures here too.
    """
    known: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        if known.setdefault((verifier.name, verifier.key_id), verifier) != verifier:
            raise NoteError(f"two known keys share the name and key id of {verifier.name}")
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as error:
            raise NoteError("a note must be UTF-8") from error
    if _CONTROL.search(note) or not _encodable(note):
        raise NoteError("a note must be UTF-8 without control characters but newline")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("a note must end with a blank line and signature lines")
    text, lines = note[: split + 1], note[split + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note may carry at most {MAX_SIGNATURES} signatures")
    message = text.encode("utf-8")
    verified: dict[tuple[str, bytes], Signature] = {}
    unverified: dict[Signature, None] = {}
    for line in lines:
        signature = _parse_signature_line(line)
        identity = (signature.name, signature.key_id)
        key = known.get(identity)
        if key is None:
            unverified[signature] = None
        elif key.verify(message, signature.signature):
            verified.setdefault(identity, signature)
        else:
            raise NoteError(f"invalid signature by known key {key.vkey()}")
    if not verified:
        raise NoteError("the note carries no signature from a known key")
    return Note(text, tuple(verified.values()), tuple(unverified))


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head as note text. Extension lines are opaque; the spec advises against
    them as monitors cannot audit them."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for line in (self.origin, *self.extensions):
            if not line or "\n" in line or _CONTROL.search(line) or not _encodable(line):
                raise NoteError(f"invalid checkpoint line {line!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise NoteError(f"tree size {self.size} is out of range")
        if len(self.root_hash) != _ROOT_SIZE:
            raise NoteError(f"a root hash is {_ROOT_SIZE} bytes")

    def body(self) -> str:
        lines = (self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions)
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The text of an opened note; a size with leading zeros, a root hash in anything but
        canonical base64 of 32 bytes, or an empty line is malformed."""
        lines = text[:-1].split("\n")
        if not text.endswith("\n") or len(lines) < 3:
            raise NoteError("a checkpoint is at least three lines, each ending with a newline")
        origin, size, root, *extensions = lines
        root_hash = _b64decode(root)
        if not _DECIMAL.fullmatch(size) or root_hash is None:
            raise NoteError("malformed checkpoint")
        return cls(origin, int(size), root_hash, tuple(extensions))


def cosign(
    checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey, timestamp: int
) -> str:
    """A witness's cosignature line (with its newline) on ``checkpoint`` as of ``timestamp``
    (POSIX seconds), to append to the signed checkpoint note."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"timestamp {timestamp} is out of range")
    identifier = _signer_key_id(name, private_key, COSIGNATURE_V1)
    message = _cosigned_message(timestamp, checkpoint.body().encode("utf-8"))
    stamp = timestamp.to_bytes(_TIMESTAMP_SIZE, "big")
    return _signature_line(name, identifier + stamp + private_key.sign(message))


def verify_cosignature(checkpoint: Checkpoint, line: str, witness: Verifier) -> int:
    """The time ``witness`` cosigned ``checkpoint`` at, from its signature line (with or
    without the newline); NoteError if the line is not a valid cosignature by that witness."""
    if witness.signature_type != COSIGNATURE_V1:
        raise NoteError(f"{witness.name} is not a cosigner key")
    signature = _parse_signature_line(line.removesuffix("\n"))
    if (signature.name, signature.key_id) != (witness.name, witness.key_id):
        raise NoteError(f"not a cosignature by {witness.vkey()}")
    if not witness.verify(checkpoint.body().encode("utf-8"), signature.signature):
        raise NoteError(f"invalid cosignature by {witness.vkey()}")
    return int.from_bytes(signature.signature[:_TIMESTAMP_SIZE], "big")
