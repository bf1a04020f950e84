"""Certificate issuance and the renewal rule (spec 90 §2–4, checks 19–20).

Issued certificates are parsed back twice: by OpenSSH's `ssh-keygen -L` and by `cryptography`.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from goldentooth.pki.certificates import (
    BACKDATE,
    CLOCK_SKEW,
    CertificateRequest,
    Issuer,
    RequestError,
    describe,
    fingerprint,
    needs_signing,
    parse,
)
from goldentooth.pki.sshca import CADirectory, CAError, public_line

NOW = 1_800_000_000
DAY = 86400
HOST = CertificateRequest("host", "allyrion", ("allyrion", "allyrion.nodes.goldentooth.net", "10.4.0.10"), 30 * DAY)
REPLICATION = CertificateRequest(
    "user", "zfs-replication@allyrion", ("zfs-replication",), 30 * DAY, {"source-address": "10.4.0.10/32"}
)


def new_key() -> str:
    return public_line(Ed25519PrivateKey.generate().public_key(), "test")


@pytest.fixture
def ca(tmp_path: Path) -> CADirectory:
    directory = CADirectory.at(tmp_path / "ssh-ca")
    directory.init()
    return directory


@pytest.fixture
def issuer(ca: CADirectory) -> Issuer:
    return Issuer(ca, NOW)


def keygen_list(tmp_path: Path, line: str) -> str:
    path = tmp_path / "cert-cert.pub"
    path.write_text(line + "\n")
    result = subprocess.run(
        ["ssh-keygen", "-L", "-f", str(path)], capture_output=True, text=True, check=True, env={**os.environ, "TZ": "UTC"}
    )
    return result.stdout


def keygen_fingerprint(path: Path) -> str:
    return subprocess.run(["ssh-keygen", "-l", "-f", str(path)], capture_output=True, text=True, check=True).stdout.split()[1]


def utc(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


# --- the CA directory -------------------------------------------------------------------------


def test_init_creates_two_distinct_ed25519_cas_with_private_modes(ca: CADirectory) -> None:
    assert oct(ca.path.stat().st_mode & 0o777) == "0o700"
    for kind, comment in (("host", "goldentooth-host-ca"), ("user", "goldentooth-user-ca")):
        authority = ca.authority(kind)
        assert oct(authority.key_path.stat().st_mode & 0o777) == "0o600"
        assert oct(authority.pub_path.stat().st_mode & 0o777) == "0o644"
        assert authority.key_path.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
        assert re.fullmatch(rf"ssh-ed25519 AAAA\S+ {comment}\n", authority.pub_path.read_text())
        assert authority.private_key().public_key() == authority.public_key()
    assert ca.authority("host").public_line() != ca.authority("user").public_line()


def test_init_refuses_to_overwrite(ca: CADirectory) -> None:
    before = ca.authority("host").key_path.read_bytes()
    with pytest.raises(CAError, match="refusing to overwrite"):
        ca.init()
    assert ca.authority("host").key_path.read_bytes() == before


def test_loader_refuses_a_key_others_can_read(ca: CADirectory) -> None:
    os.chmod(ca.authority("user").key_path, 0o640)
    with pytest.raises(CAError, match=r"mode 0640.*chmod go-rwx"):
        ca.authority("user").private_key()


# --- issuance ---------------------------------------------------------------------------------


def test_host_certificate_read_back_by_ssh_keygen(tmp_path: Path, ca: CADirectory, issuer: Issuer) -> None:
    subject = new_key()
    line = issuer.sign(HOST, subject, comment="allyrion")
    listing = keygen_list(tmp_path, line)
    serial = describe(parse(line))["serial"]
    assert line.startswith("ssh-ed25519-cert-v01@openssh.com AAAA") and line.endswith(" allyrion")
    assert "Type: ssh-ed25519-cert-v01@openssh.com host certificate" in listing
    assert f"Signing CA: ED25519 {keygen_fingerprint(ca.authority('host').pub_path)} (using ssh-ed25519)" in listing
    assert f"Public key: ED25519-CERT {fingerprint(subject)}" in listing
    assert 'Key ID: "allyrion"' in listing
    assert f"Serial: {serial}\n" in listing and serial != 0
    assert f"Valid: from {utc(NOW - BACKDATE)} to {utc(NOW + 30 * DAY)}" in listing
    principals = listing.split("Principals: \n")[1].split("Critical Options:")[0].split()
    assert principals == ["allyrion", "allyrion.nodes.goldentooth.net", "10.4.0.10"]
    assert "Critical Options: (none)\n" in listing and "Extensions: (none)\n" in listing


def test_host_certificate_read_back_by_cryptography(ca: CADirectory, issuer: Issuer) -> None:
    subject = new_key()
    cert = parse(issuer.sign(HOST, subject))
    cert.verify_cert_signature()
    fields = describe(cert)
    assert fields["kind"] == "host" and fields["key_id"] == "allyrion"
    assert fields["principals"] == ["allyrion", "allyrion.nodes.goldentooth.net", "10.4.0.10"]
    assert fields["valid_before"] - fields["valid_after"] == 30 * DAY + BACKDATE
    assert fields["valid_after"] == NOW - BACKDATE
    assert fields["critical_options"] == {} and fields["extensions"] == []
    assert fields["public_key"] == " ".join(subject.split()[:2])
    assert fields["signature_key"] == " ".join(ca.authority("host").public_line().split()[:2])
    assert len(cert.nonce) == 32


def test_replication_certificate_carries_source_address_and_no_extensions(tmp_path: Path, ca: CADirectory, issuer: Issuer) -> None:
    line = issuer.sign(REPLICATION, new_key())
    listing = keygen_list(tmp_path, line)
    assert "user certificate" in listing and 'Key ID: "zfs-replication@allyrion"' in listing
    assert "Critical Options: \n                source-address 10.4.0.10/32\n" in listing
    assert "Extensions: (none)" in listing
    fields = describe(parse(line))
    assert fields["signature_key"] == " ".join(ca.authority("user").public_line().split()[:2])
    assert fields["critical_options"] == {"source-address": "10.4.0.10/32"} and fields["extensions"] == []


def test_serials_are_random_and_non_zero(issuer: Issuer) -> None:
    subject = new_key()
    serials = {describe(parse(issuer.sign(HOST, subject)))["serial"] for _ in range(8)}
    assert len(serials) == 8 and 0 not in serials


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"principals": ()}, "principals must be non-empty"),
        ({"principals": ("a,b",)}, "principals must be non-empty"),
        ({"validity": 0}, "validity must be a positive"),
        ({"extensions": ("permit-pty",)}, "host certificates carry no"),
        ({"critical_options": {"source-address": "10.4.0.10/32"}}, "host certificates carry no"),
        ({"kind": "machine"}, "kind must be one of"),
    ],
)
def test_requests_that_are_never_signed(kwargs: dict, message: str) -> None:
    values = {"kind": "host", "key_id": "allyrion", "principals": ("allyrion",), "validity": DAY, **kwargs}
    with pytest.raises(RequestError, match=message):
        CertificateRequest(**values)


def test_sign_once_and_record_once(ca: CADirectory, issuer: Issuer) -> None:
    subject = new_key()
    first = issuer.sign_once("allyrion:/etc/ssh/cert", HOST, subject)
    assert issuer.sign_once("allyrion:/etc/ssh/cert", HOST, subject) == first
    assert not ca.issued_log.exists()
    issuer.record_once("allyrion:/etc/ssh/cert", "allyrion")
    issuer.record_once("allyrion:/etc/ssh/cert", "allyrion")
    entries = [json.loads(line) for line in ca.issued_log.read_text().splitlines()]
    assert oct(ca.issued_log.stat().st_mode & 0o777) == "0o600"
    assert entries == [
        {
            "issued_at": "2027-01-15T08:00:00+00:00",
            "key_id": "allyrion",
            "principals": ["allyrion", "allyrion.nodes.goldentooth.net", "10.4.0.10"],
            "serial": describe(parse(first))["serial"],
            "subject_fingerprint": fingerprint(subject),
            "type": "host",
            "valid_after": NOW - BACKDATE,
            "valid_before": NOW + 30 * DAY,
        }
    ]


# --- the renewal rule (check 19) --------------------------------------------------------------


@pytest.fixture
def current(ca: CADirectory, issuer: Issuer) -> tuple[str, str, str]:
    """A host certificate signed at NOW: (certificate, subject key, host CA line)."""
    subject = new_key()
    return issuer.sign(HOST, subject), subject, ca.authority("host").public_line()


def test_missing_certificate_is_signed(current) -> None:
    _, subject, authority = current
    assert needs_signing(None, subject, authority, HOST, NOW) == "certificate missing"


def test_unparsable_certificate_is_resigned(current) -> None:
    _, subject, authority = current
    assert needs_signing(subject, subject, authority, HOST, NOW).startswith("certificate does not parse")
    assert needs_signing("garbage", subject, authority, HOST, NOW).startswith("certificate does not parse")


def test_wrong_type_is_resigned(current, issuer: Issuer) -> None:
    _, subject, authority = current
    user_cert = issuer.sign(CertificateRequest("user", "allyrion", HOST.principals, 30 * DAY), subject)
    assert needs_signing(user_cert, subject, authority, HOST, NOW) == "certificate is a user certificate, not host"


def test_foreign_ca_is_resigned(tmp_path: Path, current) -> None:
    _, subject, authority = current
    foreign = CADirectory.at(tmp_path / "foreign")
    foreign.init()
    foreign_cert = Issuer(foreign, NOW).sign(HOST, subject)
    assert needs_signing(foreign_cert, subject, authority, HOST, NOW).startswith("certificate is signed by another CA")


def test_tampered_signature_is_resigned(current) -> None:
    cert, subject, authority = current
    kind, blob = cert.split()[:2]
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01
    tampered = f"{kind} {base64.b64encode(bytes(raw)).decode()}"
    assert needs_signing(tampered, subject, authority, HOST, NOW) == "certificate signature does not verify"


def test_regenerated_host_key_is_resigned(current) -> None:
    cert, _, authority = current
    assert needs_signing(cert, new_key(), authority, HOST, NOW) == "certificate is for another key (the key was regenerated)"


def test_changed_principals_are_resigned(current) -> None:
    cert, subject, authority = current
    reordered = CertificateRequest("host", "allyrion", tuple(reversed(HOST.principals)), 30 * DAY)
    assert needs_signing(cert, subject, authority, reordered, NOW).startswith("principals ")


def test_changed_options_are_resigned(ca: CADirectory, issuer: Issuer) -> None:
    subject = new_key()
    cert = issuer.sign(REPLICATION, subject)
    moved = CertificateRequest("user", REPLICATION.key_id, REPLICATION.principals, 30 * DAY, {"source-address": "10.4.0.11/32"})
    assert needs_signing(cert, subject, ca.authority("user").public_line(), moved, NOW) == "critical options or extensions differ"
    assert needs_signing(cert, subject, ca.authority("user").public_line(), REPLICATION, NOW) is None


def test_nine_days_left_of_thirty_is_resigned(current) -> None:
    cert, subject, authority = current
    assert needs_signing(cert, subject, authority, HOST, NOW + 21 * DAY).startswith("less than a third")


def test_eleven_days_left_of_thirty_is_kept(current) -> None:
    cert, subject, authority = current
    assert needs_signing(cert, subject, authority, HOST, NOW + 19 * DAY) is None
    assert needs_signing(cert, subject, authority, HOST, NOW) is None


def test_expired_is_resigned(current) -> None:
    cert, subject, authority = current
    assert needs_signing(cert, subject, authority, HOST, NOW + 31 * DAY) == "expired"


def test_certificate_from_the_future_is_resigned(current) -> None:
    cert, subject, authority = current
    assert needs_signing(cert, subject, authority, HOST, NOW - 3600) == CLOCK_SKEW


def test_no_private_key_is_tracked_in_the_repository() -> None:
    """CA (or any) private keys never enter the repository; test CAs are made in temporary dirs."""
    root = Path(__file__).resolve().parents[2]
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout.split(b"\0")
    key_material = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=]{40,}")
    offenders = [
        name.decode()
        for name in tracked
        if name and (root / name.decode()).is_file() and key_material.search((root / name.decode()).read_bytes())
    ]
    assert offenders == []
