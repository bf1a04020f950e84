"""SSH access for Syncoid replication: the source logs in to each replica as root (spec 80-zfs.md §8.3).

Interim seam until the SSH-certificates capability provides the `zfs-replication` principal:
* source: a dedicated ed25519 key generated on the source (`zfs_replication_ssh_key`, never
  copied off the node) and the replicas' host keys in root's known_hosts (read over the
  operator's verified connections), so syncoid's StrictHostKeyChecking=yes succeeds;
* replicas: the source's public key in root's authorized_keys, restricted with
  `from="<source address>",restrict`.
The seam: where the inventory sets `ssh_replication_principal`, the SSH-certificates capability
generates this key, signs it for that principal and writes the replicas' principals line and the
`@cert-authority` trust, so `replication()` does nothing. The replica side of the interim needs
the source key to exist: on a brand-new source it is authorised by the following run (a warning
says so).
"""

from __future__ import annotations

from pyinfra import host, logger, state
from pyinfra.facts.files import FileContents
from pyinfra.operations import files

from goldentooth.model import Cluster
from operations import ssh_keys

HOST_KEY = "/etc/ssh/ssh_host_ed25519_key.pub"


def _remote_key(name: str, path: str) -> str | None:
    """`<type> <base64>` of a public key file on another inventory host (None when absent)."""
    other = state.inventory.get_host(name)
    lines = other.get_fact(FileContents, path=path) if other is not None else None
    if not lines or len(lines[0].split()) < 2:
        return None
    key_type, blob = lines[0].split()[:2]
    return f"{key_type} {blob}"


def _source_side(cluster: Cluster) -> None:
    key = host.data.zfs_replication_ssh_key
    files.directory(name="root's SSH directory", path="/root/.ssh", user="root", group="root", mode="700")
    ssh_keys.keypair(name="Generate the ZFS replication key", path=key, comment=f"zfs-replication@{host.name}")
    for replica in cluster.zfs_replicas:
        address = cluster.host(replica).address
        host_key = _remote_key(replica, HOST_KEY)
        if host_key is None:
            logger.warning(f"{host.print_prefix}no ed25519 host key read from {replica}; syncoid cannot verify it yet")
            continue
        files.line(
            name=f"Trust {replica}'s host key for replication",
            path="/root/.ssh/known_hosts",
            line=f"^{replica},{address} ",
            replace=f"{replica},{address} {host_key}",
        )


def _replica_side(cluster: Cluster) -> None:
    source = str(cluster.zfs_source)
    public = _remote_key(source, f"{host.data.zfs_replication_ssh_key}.pub")
    files.directory(name="root's SSH directory", path="/root/.ssh", user="root", group="root", mode="700")
    if public is None:
        logger.warning(f"{host.print_prefix}{source} has no replication key yet; it is authorised on the next run")
        return
    files.line(
        name=f"Let {source}'s replication key log in as root from {source} only",
        path="/root/.ssh/authorized_keys",
        line=f" zfs-replication@{source}$",
        replace=f'from="{cluster.host(source).address}",restrict {public} zfs-replication@{source}',
    )


def replication(cluster: Cluster, host_role: str) -> None:
    """The SSH side of replication for this host's role (`source` or `replica`)."""
    if host.data.get("ssh_replication_principal"):
        return
    if host_role == "source":
        _source_side(cluster)
    else:
        _replica_side(cluster)
