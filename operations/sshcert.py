"""OpenSSH certificates and key pairs on hosts, signed by the operator's CAs.

The CA private key is read on the operator's machine only; hosts receive certificates, never a
CA key. Whether to (re-)sign is decided by `goldentooth.pki.certificates.needs_signing`.
"""

from __future__ import annotations

import datetime
import posixpath
from io import StringIO

from pyinfra import host, logger
from pyinfra.api import FileUploadCommand, OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.files import File
from pyinfra.operations.util.files import chmod, chown

from facts.sshcert import Certificate, PublicKey
from goldentooth.errors import GoldentoothError
from goldentooth.pki.certificates import CLOCK_SKEW, CertificateRequest, RequestError, needs_signing, run_issuer


def _request(
    kind: str,
    key_id: str,
    principals: list[str],
    validity: int,
    critical_options: dict[str, str] | None,
    extensions: list[str] | None,
) -> CertificateRequest:
    try:
        return CertificateRequest(kind, key_id, tuple(principals), validity, critical_options or {}, tuple(extensions or ()))
    except RequestError as error:
        raise OperationError(f"sshcert.certificate: {error}") from None


def _until(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@operation()
def certificate(
    path: str,
    key_path: str,
    ca_dir: str,
    kind: str,
    key_id: str,
    principals: list[str],
    validity: int,
    critical_options: dict[str, str] | None = None,
    extensions: list[str] | None = None,
    now: int | None = None,
):
    """
    Keep an OpenSSH certificate for a key on the host, signed by the operator's host or user CA.

    + path: certificate file on the host (written ``root:root`` ``0644``)
    + key_path: the subject public key on the host (read, never changed)
    + ca_dir: the operator's CA directory (``host_ca``/``user_ca`` and their ``.pub``)
    + kind: ``host`` or ``user``
    + key_id: key id (sshd logs it on every certificate login)
    + principals: valid principals, in order (never empty)
    + validity: seconds the certificate is valid after signing
    + critical_options: user certificates only, e.g. ``{"source-address": "10.4.0.10/32"}``
    + extensions: user certificates only, e.g. ``["permit-pty"]``
    + now: the time to judge the current certificate by (default: the run's time)

    Re-signs only when the certificate is missing, unusable, from another CA, for another key,
    for other principals/options, or has less than a third of its validity left.

    **Examples:**

    .. code:: python

        sshcert.certificate(
            name="Sign the host key of allyrion with the host CA",
            path="/etc/ssh/ssh_host_ed25519_key-cert.pub",
            key_path="/etc/ssh/ssh_host_ed25519_key.pub",
            ca_dir="/home/ops/.local/share/goldentooth/ssh-ca",
            kind="host",
            key_id="allyrion",
            principals=["allyrion", "allyrion.nodes.goldentooth.net", "10.4.0.10"],
            validity=2592000,
        )
    """
    request = _request(kind, key_id, principals, validity, critical_options, extensions)
    issuer = run_issuer(ca_dir)
    try:
        authority = issuer.authority_key(kind)
    except GoldentoothError as error:
        raise OperationError(f"sshcert.certificate: {error}") from None
    subject = host.get_fact(PublicKey, path=key_path)
    if subject is None:
        host.noop(f"certificate {path} waits for its key {key_path}")
        return
    current = host.get_fact(Certificate, path=path)
    reason = needs_signing(current["line"] if current else None, subject, authority, request, issuer.now if now is None else now)
    if reason is None:
        host.noop(f"certificate {path} is valid until {_until(current['valid_before'])}")
        return
    if reason == CLOCK_SKEW:
        logger.warning(f"{host.name}: {path}: {reason}")
    line = issuer.sign_once(f"{host.name}:{path}", request, subject, comment=key_id)
    yield FileUploadCommand(StringIO(line + "\n"), path, remote_temp_filename=host.get_temp_filename(path))
    yield chown(path, "root", "root")
    yield chmod(path, "644")
    issuer.record_once(f"{host.name}:{path}", key_id)


@operation()
def keypair(path: str, comment: str):
    """
    Generate an ed25519 key pair on the host when its private key is absent (never replaced).

    + path: private key path; the public key is ``<path>.pub``
    + comment: the key's comment

    The private key is made on the host and never leaves it.

    **Examples:**

    .. code:: python

        sshcert.keypair(
            name="Generate the ZFS replication key on allyrion",
            path="/root/.ssh/id_ed25519_zfs_replication",
            comment="zfs-replication@allyrion",
        )
    """
    if not posixpath.isabs(path):
        raise OperationError(f"sshcert.keypair: {path!r} is not an absolute path")
    if host.get_fact(File, path=path):
        host.noop(f"key pair {path} exists")
        return
    yield StringCommand("install", "-d", "-m", "0700", QuoteString(posixpath.dirname(path)))
    yield StringCommand(
        "ssh-keygen", "-q", "-t", "ed25519", "-N", QuoteString(""), "-C", QuoteString(comment), "-f", QuoteString(path)
    )


@operation()
def host_keys():
    """
    Create sshd's missing host keys (``ssh-keygen -A``) when the ed25519 host key is absent.

    **Examples:**

    .. code:: python

        sshcert.host_keys(name="Ensure sshd's host keys exist")
    """
    if host.get_fact(File, path="/etc/ssh/ssh_host_ed25519_key"):
        host.noop("host key /etc/ssh/ssh_host_ed25519_key exists")
        return
    yield "ssh-keygen -A"
