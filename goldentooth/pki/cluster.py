"""The cluster's SSH identities and trust files, derived from the inventory (spec 90 §3, §5, §7, §10).

Pure functions of the Cluster model: which certificate each host gets, the `@cert-authority`
line, the client configuration block and the principal files. Deploys and the CLI share them.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature

from ..model import Cluster, Host
from .certificates import CertificateRequest, describe, parse

HOST_KEY = "/etc/ssh/ssh_host_ed25519_key.pub"
HOST_CERTIFICATE = "/etc/ssh/ssh_host_ed25519_key-cert.pub"
MANAGED = "# Managed by goldentooth. Local edits are overwritten.\n"
SSHD_DROPIN = (
    MANAGED
    + f"HostCertificate {HOST_CERTIFICATE}\n"
    + "TrustedUserCAKeys /etc/ssh/ssh_user_ca.pub\n"
    + "AuthorizedPrincipalsFile /etc/ssh/auth_principals/%u\n"
)


def host_principals(host: Host) -> tuple[str, ...]:
    """`<name>`, `<name>.<node_domain>`, `<ipv4>`, in this order."""
    return (host.name, host.fqdn, host.address)


def host_request(host: Host) -> CertificateRequest:
    return CertificateRequest("host", host.name, host_principals(host), int(host.get("ssh_host_cert_validity")))


def replication_request(cluster: Cluster) -> CertificateRequest | None:
    """The replication source's user certificate, or None when the cluster has no ZFS replicas."""
    source = cluster.zfs_source
    if not source or not cluster.zfs_replicas:
        return None
    host = cluster.host(source)
    principal = str(host.get("ssh_replication_principal"))
    return CertificateRequest(
        "user",
        f"{principal}@{source}",
        (principal,),
        int(host.get("ssh_host_cert_validity")),
        critical_options={"source-address": f"{host.address}/32"},
    )


def host_patterns(cluster: Cluster) -> list[str]:
    """`*.<node_domain>`, every short name, every IPv4 address, in inventory order (never `*`)."""
    hosts = list(cluster.hosts.values())
    return [f"*.{cluster.settings['node_domain']}"] + [h.name for h in hosts] + [h.address for h in hosts]


def cert_authority_line(cluster: Cluster, host_ca_line: str) -> str:
    """The known_hosts file content trusting the host CA for the cluster's names only."""
    return f"@cert-authority {','.join(host_patterns(cluster))} {host_ca_line.strip()}\n"


def client_config(cluster: Cluster) -> str:
    """/etc/ssh/ssh_config.d/10-goldentooth.conf: strict host key checking for cluster names."""
    return f"{MANAGED}Host {' '.join(host_patterns(cluster))}\n    StrictHostKeyChecking yes\n"


def principals_file(cluster: Cluster, host: Host, user: str) -> str:
    """/etc/ssh/auth_principals/<user>: the user's name; on replicas root also admits replication."""
    lines = [user]
    source = cluster.zfs_source
    if user == "root" and host.name in cluster.zfs_replicas and source:
        principal = host.get("ssh_replication_principal")
        lines.append(f'from="{cluster.host(source).address}",restrict {principal}')
    return "\n".join(lines) + "\n"


def host_certificate_problems(certificate: str, host: Host, host_ca_line: str, now: int) -> list[str]:
    """What is wrong with a host certificate seen on the wire or on disk (empty list: it is good)."""
    try:
        cert = parse(certificate)
        cert.verify_cert_signature()
    except (ValueError, InvalidSignature) as error:
        return [f"unusable certificate: {error or 'bad signature'}"]
    fields = describe(cert)
    problems = []
    if fields["kind"] != "host":
        problems.append("not a host certificate")
    if fields["signature_key"].split()[:2] != host_ca_line.split()[:2]:
        problems.append("not signed by the host CA")
    if fields["principals"] != list(host_principals(host)):
        problems.append(f"principals {fields['principals']} != {list(host_principals(host))}")
    if not fields["valid_after"] <= now < fields["valid_before"]:
        problems.append("not valid now")
    return problems


def days_left(fields: dict[str, Any], now: int) -> float:
    return (fields["valid_before"] - now) / 86400

