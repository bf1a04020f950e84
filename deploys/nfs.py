"""NFS: exports on the servers, systemd automounts on every other host (spec 70-nfs.md).

Usable alone (`pyinfra inventory.py deploys/nfs.py`), within `deploys/storage.py`, or composed by
other entry files (`nfs_clients()`, `nfs_server()`).
"""

from __future__ import annotations

import re

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import apt, files, systemd
from pyinfra.operations.util import any_changed

from facts.nfs import MountedFilesystem
from goldentooth import storage_files
from goldentooth.container import kernel_refuses
from goldentooth.inventory import current
from goldentooth.nfs import ClientShare, client_shares, export_mount_problem, fstab_line, own_shares
from operations import guard, nfs, text_files
from deploys import run_as_entry

UNIT_DIR = "/etc/systemd/system"
NFS_SERVER_UNIT = nfs.NFS_SERVER_UNIT


def _bre(text: str) -> str:
    """Escape text for a grep/sed basic regular expression."""
    return re.sub(r"([.\[\]*^$\\])", r"\\\1", text)


def _export_ready(export: dict) -> bool:
    """Steps 2-4 of §3.5 for one export; False when the host was refused (mount-point guard).

    The mount directory is only touched while nothing is mounted there, so a wrong filesystem
    found at the path is refused without changing its root.
    """
    path = export["path"]
    line = fstab_line(export)
    if line:
        files.line(
            name=f"Mount {path} at boot by UUID (/etc/fstab)",
            path="/etc/fstab",
            line=rf"^[^#[:space:]]*[[:space:]]\+{_bre(path)}[[:space:]]",
            replace=line,
        )
    mounted = host.get_fact(MountedFilesystem, path=path)
    problem = export_mount_problem(export, mounted)
    if problem and mounted is None and line:
        files.directory(name=f"Mount point {path}", path=path, user="root", group="root", mode="755")
        nfs.filesystem_mounted(
            name=f"Mount {path} and check it is the expected filesystem",
            path=path, fs_type=export["fs_type"], fs_uuid=export["fs_uuid"],
        )
    elif problem:
        guard.refuse(name=f"Refuse to export {path}", message=problem)
        return False
    files.directory(name=f"Export root {path} is root:root 0755", path=path, user="root", group="root", mode="755")
    return True


@deploy("NFS server")
def nfs_server() -> None:
    """Export this host's `nfs_exports` to the cluster network, only from mounted filesystems."""
    exports = host.data.get("nfs_exports") or []
    if not exports:
        return
    apt.packages(name="Install the NFS server packages", packages=["nfs-kernel-server", "nfs-common"])
    for export in exports:
        if not _export_ready(export):
            return
    exports_file = text_files.present(
        name="Write /etc/exports",
        path="/etc/exports",
        content=storage_files.exports_file(exports),
    )
    kernel_only = kernel_refuses(f"exportfs -ra and starting {NFS_SERVER_UNIT}")
    if not kernel_only:
        nfs.reexport(name="Re-export after /etc/exports changed", _if=exports_file.did_change)
    systemd.service(
        name=f"Enable and start {NFS_SERVER_UNIT}",
        service=NFS_SERVER_UNIT, enabled=True, running=None if kernel_only else True,
    )


def _client_units(share: ClientShare, kernel_only: bool) -> None:
    """§4.5 for one share: directory, units, reload on change, automount enabled and active."""
    files.directory(name=f"Mount point {share.where}", path=share.where, user="root", group="root", mode="755")
    mount = text_files.present(
        name=f"Write {share.mount_unit}",
        path=f"{UNIT_DIR}/{share.mount_unit}",
        content=storage_files.mount_unit(share.share, share.server_address),
    )
    automount = text_files.present(
        name=f"Write {share.automount_unit}",
        path=f"{UNIT_DIR}/{share.automount_unit}",
        content=storage_files.automount_unit(share.share),
    )
    changed = any_changed(mount, automount)
    was_active = host.get_fact(SystemdStatus, services=[share.automount_unit]).get(share.automount_unit)
    systemd.daemon_reload(name="Reload systemd after a mount unit changed", _if=changed)
    systemd.service(
        name=f"Enable and start {share.automount_unit}",
        service=share.automount_unit, enabled=True, running=None if kernel_only else True,
    )
    if was_active and not kernel_only:
        systemd.service(name=f"Stop {share.mount_unit} to apply the new unit", service=share.mount_unit, running=False, _if=changed)
        systemd.service(
            name=f"Restart {share.automount_unit} to apply the new unit",
            service=share.automount_unit, running=True, restarted=True, _if=changed,
        )


def _no_client_units(share: ClientShare, exported: set[str]) -> None:
    """§4.6: a share's server never mounts its own export; stale units are stopped and removed.

    Only unit files this project would have written are touched. The `.mount` is not stopped
    where the path is one of this host's exports: there the active mount is the local
    filesystem (same unit name from /etc/fstab) and stopping it would unmount the export.
    """
    paths = {unit: f"{UNIT_DIR}/{unit}" for unit in (share.automount_unit, share.mount_unit)}
    if not any(host.get_fact(File, path=path) for path in paths.values()):
        return
    systemd.service(name=f"Stop and disable {share.automount_unit}", service=share.automount_unit, running=False, enabled=False)
    if share.where not in exported:
        systemd.service(name=f"Stop {share.mount_unit}", service=share.mount_unit, running=False)
    removed = [files.file(name=f"Remove {unit}", path=path, present=False) for unit, path in paths.items()]
    systemd.daemon_reload(name="Reload systemd after removing mount units", _if=any_changed(*removed))


@deploy("NFS clients")
def nfs_clients() -> None:
    """Automount every share served by another host; remove client units for this host's own shares."""
    cluster = current()
    shares = client_shares(cluster, host.name)
    if shares:
        apt.packages(name="Install the NFS client package", packages=["nfs-common"])
        kernel_only = kernel_refuses("starting and restarting NFS automounts")
        for share in shares:
            _client_units(share, kernel_only)
    exported = {export["path"] for export in host.data.get("nfs_exports") or []}
    for share in own_shares(cluster, host.name):
        _no_client_units(share, exported)


run_as_entry(globals(), nfs_clients, nfs_server)
