"""X.509 helpers for the kubeadm PKI: discovery CA hash and certificate expiry.

Certificates are read from hosts by facts (public material only: `*.crt` files and the
`client-certificate-data` of kubeconfigs, never keys) and parsed here with `cryptography`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CA_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def load_certificate(pem: str | bytes) -> x509.Certificate:
    """The first certificate of a PEM text (ValueError when there is none)."""
    text = pem.decode() if isinstance(pem, bytes) else pem
    match = PEM_BLOCK.search(text)
    if not match:
        raise ValueError("no PEM certificate found")
    return x509.load_pem_x509_certificate(match.group(0).encode())


def ca_cert_hash(pem: str | bytes) -> str:
    """kubeadm's discovery pin: `sha256:` + hex SHA-256 of the CA's DER SubjectPublicKeyInfo.

    Equals `openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum`.
    """
    spki = load_certificate(pem).public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def not_after(pem: str | bytes) -> datetime:
    """The certificate's notAfter, timezone-aware UTC."""
    return load_certificate(pem).not_valid_after_utc


def pem_from_base64(data: str) -> str:
    """Decode a kubeconfig `client-certificate-data` value (base64 of PEM); ValueError if invalid."""
    try:
        return base64.b64decode(data.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError(f"client-certificate-data is not base64 PEM: {error}") from error


def days_left(expiry: datetime, now: datetime) -> int:
    """Whole days from `now` until `expiry` (negative once expired)."""
    return int((expiry - now).total_seconds() // 86400)


def utc_from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)
