"""NFS share topology and the export mount-point guard (spec 70-nfs.md §1-4).

Which host mounts which share, under which unit names, and whether an export path holds the
filesystem the data expects. Pure functions over the Cluster model, unit-tested without hosts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import Cluster
from .systemd_escape import unit_name


@dataclass(frozen=True)
class ClientShare:
    """One share as a client host sees it: the data, the server's address and the unit names."""

    share: Mapping[str, Any]
    server_address: str

    @property
    def where(self) -> str:
        return str(self.share["where"])

    @property
    def mount_unit(self) -> str:
        return unit_name(self.where, "mount")

    @property
    def automount_unit(self) -> str:
        return unit_name(self.where, "automount")


def _share(cluster: Cluster, share: Mapping[str, Any]) -> ClientShare:
    return ClientShare(share, cluster.host(str(share["server"])).address)


def client_shares(cluster: Cluster, host_name: str) -> list[ClientShare]:
    """The shares a host mounts: every share whose server is another host, in data order."""
    return [
        _share(cluster, share)
        for share in cluster.settings.get("nfs_mounts", []) or []
        if host_name in cluster.nfs_clients(share)
    ]


def own_shares(cluster: Cluster, host_name: str) -> list[ClientShare]:
    """The shares a host serves itself: their client units must be absent there."""
    return [
        _share(cluster, share)
        for share in cluster.settings.get("nfs_mounts", []) or []
        if host_name not in cluster.nfs_clients(share)
    ]


def export_mount_problem(export: Mapping[str, Any], mounted: Mapping[str, Any] | None) -> str | None:
    """Why an export path must not be exported now (None when the expected filesystem is mounted).

    `mounted` is the `nfs.MountedFilesystem` fact: findmnt's entry for the path, None when nothing
    is mounted there. An unmounted USB stick must never turn into an exported SD-card directory.
    """
    path = export["path"]
    prefix = f"refusing to export {path}: not the expected mounted filesystem"
    if mounted is None:
        return f"{prefix} (nothing is mounted there)"
    expected_type = export.get("fs_type")
    if expected_type and mounted.get("fstype") != expected_type:
        return f"{prefix} (found {mounted.get('fstype')} from {mounted.get('source')}, expected {expected_type})"
    expected_uuid = export.get("fs_uuid")
    if expected_uuid and mounted.get("uuid") != expected_uuid:
        return f"{prefix} (found UUID {mounted.get('uuid')}, expected {expected_uuid})"
    return None


def fstab_line(export: Mapping[str, Any]) -> str | None:
    """The /etc/fstab line of an export's filesystem, by UUID (None when no fs_uuid is recorded)."""
    if not export.get("fs_uuid"):
        return None
    return f"UUID={export['fs_uuid']} {export['path']} {export['fs_type']} defaults,nofail 0 2"
