"""Real X.509 material for the kubeadm double, made with the openssl CLI (present on lab nodes).

Certificates follow kubeadm's layout and profiles: RSA-2048 keys, CAs valid ten years, leaves one
year, the same subjects, key usages and SANs. The discovery hash is kubeadm's: sha256 of the CA's
DER-encoded SubjectPublicKeyInfo.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from .common import Failure

CA_DAYS = 3650
LEAF_DAYS = 365


def openssl(*args: str, data: bytes | None = None) -> bytes:
    result = subprocess.run(["openssl", *args], input=data, capture_output=True)
    if result.returncode != 0:
        raise Failure(f"openssl {args[0]} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def new_key(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key_file))
    os.chmod(key_file, 0o600)


def make_ca(base: Path, common_name: str) -> None:
    """``base``.crt/.key: a self-signed CA (keyCertSign, digitalSignature, keyEncipherment)."""
    key, cert = base.with_suffix(".key"), base.with_suffix(".crt")
    new_key(key)
    openssl("req", "-x509", "-new", "-key", str(key), "-subj", f"/CN={common_name}", "-days", str(CA_DAYS),
            "-sha256", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
            "-out", str(cert))
    os.chmod(cert, 0o644)


def sign(ca_base: Path, csr: bytes, usage: str, sans: list[str] | None = None, days: int = LEAF_DAYS) -> bytes:
    """Sign ``csr`` with the CA at ``ca_base``; ``usage`` is serverAuth, clientAuth or both."""
    extensions = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
                  f"extendedKeyUsage={usage}", "authorityKeyIdentifier=keyid"]
    if sans:
        extensions.append("subjectAltName=" + ",".join(sans))
    with tempfile.TemporaryDirectory() as scratch:
        extfile = Path(scratch) / "ext.cnf"
        extfile.write_text("\n".join(extensions) + "\n")
        request = Path(scratch) / "req.csr"
        request.write_bytes(csr)
        return openssl("x509", "-req", "-in", str(request), "-CA", str(ca_base.with_suffix(".crt")),
                       "-CAkey", str(ca_base.with_suffix(".key")), "-set_serial",
                       str(int.from_bytes(os.urandom(8), "big")), "-days", str(days), "-sha256",
                       "-extfile", str(extfile))


def csr_for(key_file: Path, subject: str) -> bytes:
    return openssl("req", "-new", "-key", str(key_file), "-subj", subject)


def make_leaf(ca_base: Path, base: Path, subject: str, usage: str, sans: list[str] | None = None,
              keep_key: bool = False) -> None:
    """``base``.crt/.key signed by the CA at ``ca_base``; ``keep_key`` reuses an existing key (renewal)."""
    key = base.with_suffix(".key")
    if not (keep_key and key.exists()):
        new_key(key)
    cert = base.with_suffix(".crt")
    cert.write_bytes(sign(ca_base, csr_for(key, subject), usage, sans))
    os.chmod(cert, 0o644)


def make_keypair(base: Path) -> None:
    """sa.key / sa.pub: the service-account signing key pair."""
    new_key(base.with_suffix(".key"))
    public = openssl("pkey", "-in", str(base.with_suffix(".key")), "-pubout")
    base.with_suffix(".pub").write_bytes(public)
    os.chmod(base.with_suffix(".pub"), 0o644)


def ca_cert_hash(cert_file: Path) -> str:
    """kubeadm's discovery hash: ``sha256:`` + hex sha256 of the DER SubjectPublicKeyInfo."""
    public = openssl("x509", "-in", str(cert_file), "-noout", "-pubkey")
    der = openssl("pkey", "-pubin", "-outform", "DER", data=public)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def ca_hash_of_pem(pem: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".crt") as handle:
        handle.write(pem)
        handle.flush()
        return ca_cert_hash(Path(handle.name))


def not_after(pem_file: Path) -> datetime:
    text = openssl("x509", "-in", str(pem_file), "-noout", "-enddate").decode().strip()
    return datetime.strptime(text.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z").replace(tzinfo=timezone.utc)


def encrypt(key_hex: str, payload: bytes) -> bytes:
    """AES-256-CTR with the certificate key, plus an HMAC so a wrong key is detected."""
    iv = os.urandom(16)
    cipher = openssl("enc", "-aes-256-ctr", "-K", key_hex, "-iv", iv.hex(), data=payload)
    tag = hashlib.sha256(bytes.fromhex(key_hex) + iv + cipher).digest()
    return iv + tag + cipher


def decrypt(key_hex: str, blob: bytes) -> bytes:
    iv, tag, cipher = blob[:16], blob[16:48], blob[48:]
    if hashlib.sha256(bytes.fromhex(key_hex) + iv + cipher).digest() != tag:
        raise Failure("error downloading the secret: error decoding secret data with provided key: "
                      "cipher: message authentication failed")
    return openssl("enc", "-d", "-aes-256-ctr", "-K", key_hex, "-iv", iv.hex(), data=cipher)
