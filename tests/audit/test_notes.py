"""C2SP signed notes, checkpoints and cosignatures: the published examples, the exact bytes
signed, round trips, and notes that stop opening when anything in them changes."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from allyshare.audit.notes import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    NoteError,
    Signature,
    Verifier,
    cosign,
    cosigner_key,
    open_note,
    parse_verifier_key,
    sign_note,
    verifier_key,
    verify_cosignature,
)

# c2sp.org/signed-note, "Verifier keys" example: this key verifies this note.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKu"
    "wHjG1Yu72IneyaQM=\n"
)

# golang.org/x/mod sumdb/note/note_test.go: a private key (0x01 || seed), its vkey, a second
# signer's vkey, and the note both signed.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb"
    "6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33W"
    "Wd1RvMc+QQ=\n"
)
# Its malformed verifier keys: a key of the wrong length, and an unknown signature type (each
# with the key id its name and bytes give).
GO_BAD_VKEYS = [
    "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
]

# c2sp.org/tlog-checkpoint example body, and the cosigned message c2sp.org/tlog-cosignature
# shows for it at time 1679315147.
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SPEC_COSIGNED_MESSAGE = b"cosignature/v1\ntime 1679315147\n" + SPEC_CHECKPOINT.encode()

EM_DASH_SPACE = b"\xe2\x80\x94 "


def peter_key() -> Ed25519PrivateKey:
    encoded = PETER_SKEY.split("+", 4)[4]
    raw = base64.b64decode(encoded)
    assert raw[0] == ED25519
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_the_signed_note_spec_example_opens() -> None:
    verifier = parse_verifier_key(SPEC_VKEY)
    assert (verifier.name, verifier.key_id.hex(), verifier.signature_type) == (
        "example.com/foo",
        "530d903a",
        ED25519,
    )
    assert verifier.vkey() == SPEC_VKEY
    note = open_note(SPEC_NOTE.encode(), [verifier])
    assert note.text == "This is an example message.\n"
    assert [signature.name for signature in note.verified] == ["example.com/foo"]
    assert note.unverified == ()


def test_signing_reproduces_the_go_vectors() -> None:
    key = peter_key()
    assert verifier_key("PeterNeumann", key.public_key()) == PETER_VKEY
    assert sign_note(GO_TEXT, "PeterNeumann", key) == GO_TEXT + "\n" + PETER_SIG


def test_unknown_signatures_are_kept_but_not_trusted() -> None:
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    opened = open_note(note, [peter])
    assert opened.text == GO_TEXT
    assert [(s.name, s.key_id.hex()) for s in opened.verified] == [("PeterNeumann", "c74f20a3")]
    assert [(s.name, s.key_id.hex()) for s in opened.unverified] == [("EnochRoot", "af0cfe78")]
    both = open_note(note, [enoch, peter])
    assert [s.name for s in both.verified] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(note, [])
    # Repeated lines count once.
    twice = open_note(GO_TEXT + "\n" + PETER_SIG * 2 + ENOCH_SIG * 2, [peter])
    assert (len(twice.verified), len(twice.unverified)) == (1, 1)


def test_a_known_key_with_a_bad_signature_rejects_the_note() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    # Four characters into the signature proper (past the key id): same key, wrong signature.
    broken = PETER_SIG[:60] + "ABCD" + PETER_SIG[64:]
    with pytest.raises(NoteError, match="invalid signature by known key PeterNeumann"):
        open_note(GO_TEXT + "\n" + broken, [peter])
    # Even beside a good signature from the same key.
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(GO_TEXT + "\n" + PETER_SIG + broken, [peter])


def test_go_malformed_verifier_keys_are_rejected() -> None:
    for vkey in GO_BAD_VKEYS:
        with pytest.raises(NoteError):
            parse_verifier_key(vkey)


def test_any_mangled_verifier_key_is_rejected() -> None:
    for start in range(len(PETER_VKEY)):
        for end in range(start + 1, len(PETER_VKEY) + 1):
            if (start, end) != (0, len(PETER_VKEY)):
                with pytest.raises(NoteError):
                    parse_verifier_key(PETER_VKEY[start:end])
    for position, char in enumerate(PETER_VKEY):
        mangled = PETER_VKEY[:position] + chr(ord(char) + 1) + PETER_VKEY[position + 1 :]
        with pytest.raises(NoteError):
            parse_verifier_key(mangled)
    for mangled in (PETER_VKEY.upper(), PETER_VKEY.replace("c74f20a3", "C74F20A3")):
        with pytest.raises(NoteError):
            parse_verifier_key(mangled)


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\r\n" + PETER_SIG,
        GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter Neumann"),
        GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"),
        GO_TEXT + "\n" + PETER_SIG.replace("— ", "-- "),
        GO_TEXT + "\n" + PETER_SIG.replace("— ", "—"),
        GO_TEXT + "\n" + PETER_SIG.replace("=\n", "\n"),
        GO_TEXT + "\n" + PETER_SIG.replace(" x08g", "  x08g"),
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG + "\n",
        GO_TEXT + "\n" + "— PeterNeumann x08g\n",
        GO_TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes_are_rejected(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, [parse_verifier_key(PETER_VKEY)])


def test_a_note_must_be_utf8() -> None:
    with pytest.raises(NoteError, match="UTF-8"):
        open_note(b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode(), [parse_verifier_key(PETER_VKEY)])


def test_the_exact_bytes_of_a_signed_note() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    note = sign_note("hello\n", "example.com/log", key).encode()
    key_id = hashlib.sha256(b"example.com/log\n\x01" + public).digest()[:4]
    prefix = b"hello\n\n" + EM_DASH_SPACE + b"example.com/log "
    assert note.startswith(prefix) and note.endswith(b"\n")
    raw = base64.b64decode(note[len(prefix) : -1], validate=True)
    assert raw[:4] == key_id and len(raw) == 68
    key.public_key().verify(raw[4:], b"hello\n")


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\u00a0b", "a\u2003b", "a\x00b"])
def test_invalid_key_names_are_rejected(name: str) -> None:
    key = Ed25519PrivateKey.generate()
    with pytest.raises(NoteError, match="name"):
        sign_note("text\n", name, key)
    with pytest.raises(NoteError, match="name"):
        verifier_key(name, key.public_key())


@pytest.mark.parametrize(
    "text",
    ["", "no newline", "tab\there\n", "a\rb\n", "a\n— looks like a signature\n", "\ud800\n"],
)
def test_invalid_note_text_is_rejected(text: str) -> None:
    with pytest.raises(NoteError, match="note text"):
        sign_note(text, "example.com/log", Ed25519PrivateKey.generate())


def test_a_note_text_may_hold_blank_lines() -> None:
    key = Ed25519PrivateKey.generate()
    verifier = parse_verifier_key(verifier_key("example.com/log", key.public_key()))
    text = "first\n\nsecond\n\n"
    assert open_note(sign_note(text, "example.com/log", key), [verifier]).text == text


def test_verifiers_sharing_a_name_and_key_id_are_ambiguous() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    impostor = Verifier("PeterNeumann", ED25519, bytes(32))
    # Finding a real 32-bit key id collision is too slow for a test, so this one is forged.
    object.__setattr__(impostor, "key_id", peter.key_id)
    assert open_note(GO_TEXT + "\n" + PETER_SIG, [peter, peter]).verified
    with pytest.raises(NoteError, match="share the name and key id"):
        open_note(GO_TEXT + "\n" + PETER_SIG, [peter, impostor])


LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
LOG = parse_verifier_key(verifier_key("example.com/log", LOG_KEY.public_key()))
WITNESS = parse_verifier_key(cosigner_key("example.com/witness", WITNESS_KEY.public_key()))
checkpoints = st.builds(
    Checkpoint,
    st.sampled_from(["example.com/log", "log.example/ünïcode", "o"]),
    st.integers(0, 2**64 - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(
        st.text(st.characters(min_codepoint=0x20, codec="utf-8"), min_size=1).filter(
            lambda line: not line.startswith("— ")
        ),
        max_size=2,
    ).map(tuple),
)


@settings(deadline=None)
@given(checkpoint=checkpoints)
def test_checkpoints_sign_open_and_parse_back(checkpoint: Checkpoint) -> None:
    note = sign_note(checkpoint.body(), "example.com/log", LOG_KEY)
    opened = open_note(note, [LOG])
    assert Checkpoint.parse(opened.text) == checkpoint


def test_the_checkpoint_spec_example_parses() -> None:
    checkpoint = Checkpoint.parse(SPEC_CHECKPOINT)
    assert checkpoint == Checkpoint(
        "example.com/behind-the-sofa",
        20852163,
        base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
    )
    assert checkpoint.body() == SPEC_CHECKPOINT
    with_extensions = Checkpoint.parse(SPEC_CHECKPOINT + "extension one\nextension two\n")
    assert with_extensions.extensions == ("extension one", "extension two")


def tampered_notes(note: str) -> list[str]:
    """``note`` with its size, root, text, signer name, key id or signature changed."""
    origin, size, root, rest = note.split("\n", 3)
    signature_line = rest.rsplit("\n", 2)[-2]
    dash_name, encoded = signature_line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    changed_id, changed_signature = bytearray(raw), bytearray(raw)
    changed_id[0] ^= 1
    changed_signature[-1] ^= 1
    head = "\n".join((origin, size, root)) + "\n"
    return [
        note.replace(f"\n{size}\n", f"\n{int(size) + 1}\n", 1),
        head.replace(root, base64.b64encode(bytes(32)).decode()) + rest,
        "x" + note,
        note.replace(dash_name, dash_name + "x"),
        note.replace(encoded, base64.b64encode(changed_id).decode()),
        note.replace(encoded, base64.b64encode(changed_signature).decode()),
    ]


def test_any_change_to_a_signed_checkpoint_fails() -> None:
    checkpoint = Checkpoint("example.com/log", 1234, hashlib.sha256(b"root").digest())
    note = sign_note(checkpoint.body(), "example.com/log", LOG_KEY)
    assert open_note(note, [LOG]).text == checkpoint.body()
    for tampered in tampered_notes(note):
        with pytest.raises(NoteError):
            open_note(tampered, [LOG])


def test_the_exact_bytes_a_witness_signs() -> None:
    checkpoint = Checkpoint.parse(SPEC_CHECKPOINT)
    line = cosign(checkpoint, "example.com/witness", WITNESS_KEY, 1679315147)
    assert line.startswith("— example.com/witness ") and line.endswith("\n")
    raw = base64.b64decode(line.rstrip("\n").rsplit(" ", 1)[1], validate=True)
    public = WITNESS_KEY.public_key().public_bytes_raw()
    assert raw[:4] == hashlib.sha256(b"example.com/witness\n\x04" + public).digest()[:4]
    assert int.from_bytes(raw[4:12], "big") == 1679315147
    assert len(raw) == 4 + 8 + 64
    WITNESS_KEY.public_key().verify(raw[12:], SPEC_COSIGNED_MESSAGE)
    vkey = cosigner_key("example.com/witness", WITNESS_KEY.public_key())
    encoded = base64.b64encode(b"\x04" + public).decode()
    assert vkey == f"example.com/witness+{raw[:4].hex()}+{encoded}"
    assert parse_verifier_key(vkey).signature_type == COSIGNATURE_V1


def test_cosignatures_verify_and_return_their_time() -> None:
    checkpoint = Checkpoint("example.com/log", 99, hashlib.sha256(b"root").digest(), ("ext",))
    line = cosign(checkpoint, "example.com/witness", WITNESS_KEY, 1_700_000_000)
    assert verify_cosignature(checkpoint, line, WITNESS) == 1_700_000_000
    assert verify_cosignature(checkpoint, line.rstrip("\n"), WITNESS) == 1_700_000_000
    # Appended to the log's signed note, a witness key verifies it there too.
    note = sign_note(checkpoint.body(), "example.com/log", LOG_KEY) + line
    opened = open_note(note, [LOG, WITNESS])
    assert [s.name for s in opened.verified] == ["example.com/log", "example.com/witness"]
    assert [s.name for s in open_note(note, [LOG]).unverified] == ["example.com/witness"]
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(note.replace("\n99\n", "\n100\n"), [WITNESS])


def test_a_cosignature_covers_exactly_its_checkpoint_and_time() -> None:
    checkpoint = Checkpoint("example.com/log", 99, hashlib.sha256(b"root").digest())
    line = cosign(checkpoint, "example.com/witness", WITNESS_KEY, 1_700_000_000)
    others = [
        Checkpoint("example.com/log", 100, checkpoint.root_hash),
        Checkpoint("example.com/log", 99, hashlib.sha256(b"other").digest()),
        Checkpoint("example.com/other", 99, checkpoint.root_hash),
        Checkpoint("example.com/log", 99, checkpoint.root_hash, ("ext",)),
    ]
    for other in others:
        with pytest.raises(NoteError, match="invalid cosignature"):
            verify_cosignature(other, line, WITNESS)
    raw = bytearray(base64.b64decode(line.rsplit(" ", 1)[1]))
    raw[11] ^= 1  # the timestamp's last byte
    retimed = line.rsplit(" ", 1)[0] + " " + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(NoteError, match="invalid cosignature"):
        verify_cosignature(checkpoint, retimed, WITNESS)


def test_a_cosignature_is_checked_against_the_right_key() -> None:
    checkpoint = Checkpoint("example.com/log", 99, hashlib.sha256(b"root").digest())
    line = cosign(checkpoint, "example.com/witness", WITNESS_KEY, 1)
    stranger = Ed25519PrivateKey.generate().public_key()
    other_witness = parse_verifier_key(cosigner_key("example.com/witness", stranger))
    with pytest.raises(NoteError, match="not a cosignature by"):
        verify_cosignature(checkpoint, line, other_witness)
    renamed = parse_verifier_key(cosigner_key("example.com/w2", WITNESS_KEY.public_key()))
    with pytest.raises(NoteError, match="not a cosignature by"):
        verify_cosignature(checkpoint, line, renamed)
    as_note_key = parse_verifier_key(verifier_key("example.com/witness", WITNESS_KEY.public_key()))
    with pytest.raises(NoteError, match="not a cosigner key"):
        verify_cosignature(checkpoint, line, as_note_key)
    # A note signature by the same key is not a cosignature, and the other way round.
    note_line = sign_note(checkpoint.body(), "example.com/witness", WITNESS_KEY).split("\n\n")[1]
    with pytest.raises(NoteError, match="not a cosignature by"):
        verify_cosignature(checkpoint, note_line, WITNESS)
    with pytest.raises(NoteError):
        open_note(checkpoint.body() + "\n" + line, [as_note_key])


@pytest.mark.parametrize("timestamp", [-1, 2**63])
def test_cosignature_timestamps_fit_the_format(timestamp: int) -> None:
    checkpoint = Checkpoint("example.com/log", 1, bytes(32))
    with pytest.raises(NoteError, match="timestamp"):
        cosign(checkpoint, "example.com/witness", WITNESS_KEY, timestamp)


@pytest.mark.parametrize(
    "text",
    [
        "example.com/log\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n00\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n 5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n1_000\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n\u0663\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IA\n",
        "example.com/log\n5\nAAAA\n",
        "example.com/log\n5\n\n",
        "\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nextension\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next\x07\n",
        "example.com/log\n5\n",
        "",
    ],
)
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    ("origin", "size", "root_hash", "extensions"),
    [
        ("", 1, bytes(32), ()),
        ("two\nlines", 1, bytes(32), ()),
        ("example.com/log", -1, bytes(32), ()),
        ("example.com/log", 2**64, bytes(32), ()),
        ("example.com/log", 1, bytes(31), ()),
        ("example.com/log", 1, bytes(32), ("",)),
    ],
)
def test_checkpoints_are_valid_when_made(
    origin: str, size: int, root_hash: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(NoteError):
        Checkpoint(origin, size, root_hash, extensions)


def test_signature_records_name_id_and_bytes() -> None:
    opened = open_note(GO_TEXT + "\n" + PETER_SIG, [parse_verifier_key(PETER_VKEY)])
    [signature] = opened.verified
    raw = base64.b64decode(PETER_SIG.split(" ")[2])
    assert signature == Signature("PeterNeumann", raw[:4], raw[4:])
