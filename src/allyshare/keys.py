"""The node's keys: an Ed25519 signing key and a self-signed TLS certificate.

The signing key signs node-to-node requests, approvals and audit checkpoints; the TLS
certificate is what partners pin (by its SHA-256 fingerprint, from ``allyshare node show``).
They are separate because browsers and common TLS clients do not accept Ed25519 server
certificates, so the certificate uses ECDSA P-256. Both private keys are files only the owner
can read.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from allyshare.errors import InvalidInput

NODE_KEY_FILE = "node.key"
NODE_CERT_FILE = "node.crt"
TLS_KEY_FILE = "tls.key"
CERT_VALIDITY = datetime.timedelta(days=3650)
_FINGERPRINT = re.compile(r"^(?:sha-?256[:= ]?)?([0-9a-f]{2}(?::?[0-9a-f]{2}){31})$")


def write_private_file(path: Path, content: bytes) -> None:
    """Create ``path`` with mode 0600 from the start, so the secret is never world-readable."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


def create_node_key(data_dir: Path) -> Path:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = data_dir / NODE_KEY_FILE
    write_private_file(path, pem)
    return path


def ensure_node_key(data_dir: Path) -> None:
    """Create the node key unless the data directory holds one: every node signs its audit
    log, whether made by ``init`` or opened by code."""
    if not (data_dir / NODE_KEY_FILE).exists():
        create_node_key(data_dir)


def derived_key(node_key: Ed25519PrivateKey, purpose: bytes) -> bytes:
    """A 256-bit key for one purpose (HKDF-SHA256 of the node key): the audit log's MACs, the
    sealing of contributors' identities. It exists only in memory, never in the database."""
    raw = node_key.private_bytes_raw()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(raw)


def load_signing_key(data_dir: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key((data_dir / NODE_KEY_FILE).read_bytes(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{data_dir / NODE_KEY_FILE} does not hold an Ed25519 key")
    return key


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The raw public key, base64: what a peer stores to check this node's signatures."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """The key `public_key_text` wrote; ValueError (or binascii.Error) if it is not one."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path
    private_key: Path


def tls_files(data_dir: Path) -> TlsFiles:
    return TlsFiles(data_dir / NODE_CERT_FILE, data_dir / TLS_KEY_FILE)


def ensure_tls_identity(data_dir: Path, node_name: str) -> TlsFiles:
    """The node's certificate and key, made on first use (nodes made before TLS have none)."""
    files = tls_files(data_dir)
    if files.certificate.exists() and files.private_key.exists():
        return files
    if files.certificate.exists() or files.private_key.exists():
        raise InvalidInput(
            f"{data_dir} holds only one of {NODE_CERT_FILE} and {TLS_KEY_FILE}; restore the "
            "other or remove both to make a new certificate (partners must pin it again)"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_name)])
    now = datetime.datetime.now(datetime.UTC)
    hostnames = sorted({"localhost", socket.gethostname()})
    addresses = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName(
                [*(x509.DNSName(h) for h in hostnames), *(x509.IPAddress(a) for a in addresses)]
            ),
            critical=False,
        )
        # Its own issuer and the only anchor a pinning client trusts, so it is marked as one;
        # strict verifiers (urllib3 2, Python 3.13) refuse a self-signed leaf otherwise.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    write_private_file(
        files.private_key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    # Public, but the data directory is its owner's alone, file by file too.
    write_private_file(files.certificate, certificate.public_bytes(serialization.Encoding.PEM))
    return files


def fingerprint(certificate_pem: bytes) -> str:
    """SHA-256 of the certificate's DER form, as colon-separated upper-case hex."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise InvalidInput(f"not a PEM certificate: {exc}") from None
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def parse_fingerprint(text: str) -> str:
    """A fingerprint as users paste it (any case, with or without colons or a ``SHA256``
    prefix), in the form :func:`fingerprint` gives."""
    found = _FINGERPRINT.match(text.strip().lower())
    if not found:
        raise InvalidInput(
            f"{text!r} is not a SHA-256 certificate fingerprint (64 hex digits, colons optional)"
        )
    return bytes.fromhex(found.group(1).replace(":", "")).hex(":").upper()
