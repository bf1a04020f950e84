"""OpenSSH certificates: what to issue, when to re-sign, and signing with the operator's CAs.

`needs_signing` is the pure renewal rule of spec 90 §4; `Issuer` signs with
`cryptography`'s SSHCertificateBuilder (random non-zero 64-bit serial, `valid_after` backdated
300 s, principals in order, extensions and critical options only for user certificates) and
appends every certificate it hands out to `issued.jsonl`.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import ssh

from .sshca import CADirectory

#: Seconds `valid_after` is set before the signing time, against clock skew between machines.
BACKDATE = 300
KINDS = {"host": ssh.SSHCertificateType.HOST, "user": ssh.SSHCertificateType.USER}
#: Extensions OpenSSH defines for user certificates.
USER_EXTENSIONS = frozenset(
    {"permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-pty", "permit-user-rc"}
)
CRITICAL_OPTIONS = frozenset({"force-command", "source-address", "verify-required"})
#: The renewal reason that also means the clocks disagree (the deploy warns).
CLOCK_SKEW = "certificate is valid only in the future (check the clocks)"


class RequestError(ValueError):
    """A certificate request that must never be signed."""


@dataclass(frozen=True)
class CertificateRequest:
    """Everything that defines a certificate except its subject key, serial, nonce and times."""

    kind: str
    key_id: str
    principals: tuple[str, ...]
    validity: int
    critical_options: Mapping[str, str] = field(default_factory=dict)
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "principals", tuple(self.principals))
        object.__setattr__(self, "extensions", tuple(sorted(self.extensions)))
        object.__setattr__(self, "critical_options", dict(sorted(self.critical_options.items())))
        if self.kind not in KINDS:
            raise RequestError(f"certificate kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not self.principals or any(not principal or "," in principal for principal in self.principals):
            raise RequestError(f"{self.key_id}: principals must be non-empty names, got {list(self.principals)}")
        if not self.key_id:
            raise RequestError("a certificate needs a key id")
        if not isinstance(self.validity, int) or self.validity <= 0:
            raise RequestError(f"{self.key_id}: validity must be a positive number of seconds")
        if self.kind == "host" and (self.critical_options or self.extensions):
            raise RequestError(f"{self.key_id}: host certificates carry no critical options or extensions")
        unknown = set(self.extensions) - USER_EXTENSIONS | set(self.critical_options) - CRITICAL_OPTIONS
        if unknown:
            raise RequestError(f"{self.key_id}: unknown extension or critical option {sorted(unknown)}")


def fingerprint(key_line: str) -> str:
    """`SHA256:…` fingerprint of an OpenSSH public key line, as ssh-keygen prints it."""
    blob = base64.b64decode(key_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _key_line(key: Any) -> str:
    """`<type> <base64>` of a public key object."""
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def parse(text: str | bytes) -> ssh.SSHCertificate:
    """Parse one certificate line; ValueError when it is not an OpenSSH certificate."""
    data = text.encode() if isinstance(text, str) else text
    identity = ssh.load_ssh_public_identity(data.strip())
    if not isinstance(identity, ssh.SSHCertificate):
        raise ValueError("a plain public key, not a certificate")
    return identity


def describe(cert: ssh.SSHCertificate) -> dict[str, Any]:
    """The fields of a certificate as plain data (facts, status output, checks)."""
    return {
        "kind": "host" if cert.type == ssh.SSHCertificateType.HOST else "user",
        "key_id": cert.key_id.decode(),
        "serial": cert.serial,
        "principals": [principal.decode() for principal in cert.valid_principals],
        "valid_after": cert.valid_after,
        "valid_before": cert.valid_before,
        "critical_options": {k.decode(): v.decode() for k, v in sorted(cert.critical_options.items())},
        "extensions": sorted(name.decode() for name in cert.extensions),
        "public_key": _key_line(cert.public_key()),
        "signature_key": _key_line(cert.signature_key()),
    }


def needs_signing(
    certificate: str | None,
    subject_key: str,
    authority_key: str,
    request: CertificateRequest,
    now: int,
) -> str | None:
    """Why a certificate must be (re-)signed, or None to keep it (spec 90 §4, rules 1–6).

    `subject_key` and `authority_key` are OpenSSH public key lines; `now` is the run's time.
    """
    if not certificate:
        return "certificate missing"
    try:
        cert = parse(certificate)
    except ValueError as error:
        return f"certificate does not parse ({error})"
    fields = describe(cert)
    if fields["kind"] != request.kind:
        return f"certificate is a {fields['kind']} certificate, not {request.kind}"
    if fields["signature_key"].split()[:2] != authority_key.split()[:2]:
        return f"certificate is signed by another CA ({fingerprint(fields['signature_key'])})"
    try:
        cert.verify_cert_signature()
    except InvalidSignature:
        return "certificate signature does not verify"
    if fields["public_key"].split()[:2] != subject_key.split()[:2]:
        return "certificate is for another key (the key was regenerated)"
    if fields["principals"] != list(request.principals):
        return f"principals {fields['principals']} differ from {list(request.principals)}"
    if fields["critical_options"] != dict(request.critical_options) or fields["extensions"] != list(request.extensions):
        return "critical options or extensions differ"
    if fields["valid_after"] > now + BACKDATE:
        return CLOCK_SKEW
    total = fields["valid_before"] - fields["valid_after"]
    left = fields["valid_before"] - now
    if left * 3 < total:
        return "expired" if left <= 0 else f"less than a third of its validity left ({left // 86400} days)"
    return None


class Issuer:
    """Signs certificates with one CA directory's keys at one fixed `now` (one deploy run).

    Deploys sign through `sign_once` (pyinfra evaluates an operation twice: both passes must
    upload the same certificate) and call `record_once` after the upload, so `issued.jsonl`
    lists only certificates that were installed.
    """

    def __init__(self, ca_dir: CADirectory, now: int):
        self.ca_dir = ca_dir
        self.now = now
        self._signed: dict[tuple[str, str], tuple[str, str]] = {}
        self._recorded: set[tuple[str, str]] = set()

    def authority_key(self, kind: str) -> str:
        return self.ca_dir.authority(kind).public_line()

    def sign(self, request: CertificateRequest, subject_key: str, comment: str = "") -> str:
        """Sign `subject_key` (public key line) and return the certificate line."""
        subject = serialization.load_ssh_public_key(subject_key.encode())
        serial = 0
        while serial == 0:
            serial = secrets.randbits(64)
        builder = (
            ssh.SSHCertificateBuilder()
            .public_key(subject)
            .serial(serial)
            .type(KINDS[request.kind])
            .key_id(request.key_id.encode())
            .valid_principals([principal.encode() for principal in request.principals])
            .valid_after(self.now - BACKDATE)
            .valid_before(self.now + request.validity)
        )
        for name, value in request.critical_options.items():
            builder = builder.add_critical_option(name.encode(), value.encode())
        for name in request.extensions:
            builder = builder.add_extension(name.encode(), b"")
        cert = builder.sign(self.ca_dir.authority(request.kind).private_key())
        return f"{cert.public_bytes().decode()} {comment}".rstrip()

    def sign_once(self, scope: str, request: CertificateRequest, subject_key: str, comment: str = "") -> str:
        """Sign at most once per (scope, key id) in this run and return the same line again."""
        cache_key = (scope, request.key_id)
        if cache_key not in self._signed:
            self._signed[cache_key] = (self.sign(request, subject_key, comment), subject_key)
        return self._signed[cache_key][0]

    def record_once(self, scope: str, key_id: str) -> None:
        """Log a certificate signed by `sign_once` after it was installed (once)."""
        cache_key = (scope, key_id)
        if cache_key in self._signed and cache_key not in self._recorded:
            self.record(*self._signed[cache_key])
            self._recorded.add(cache_key)

    def record(self, certificate: str, subject_key: str) -> None:
        """Append one issued certificate to `issued.jsonl` (the input for a future KRL)."""
        fields = describe(parse(certificate))
        entry = {
            "serial": fields["serial"],
            "type": fields["kind"],
            "key_id": fields["key_id"],
            "principals": fields["principals"],
            "valid_after": fields["valid_after"],
            "valid_before": fields["valid_before"],
            "subject_fingerprint": fingerprint(subject_key),
            "issued_at": datetime.datetime.fromtimestamp(self.now, datetime.timezone.utc).isoformat(),
        }
        fd = os.open(self.ca_dir.issued_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")


@functools.cache
def run_issuer(ca_dir: str) -> Issuer:
    """The Issuer of this process, i.e. of one deploy run: `now` is taken once, at the first call."""
    return Issuer(CADirectory.at(ca_dir), int(time.time()))
