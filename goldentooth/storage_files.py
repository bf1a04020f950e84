"""Rendered storage configuration: /etc/exports, NFS mount units, sanoid.conf, syncoid units.

Pure functions over data, so the exact bytes are golden-tested and identical on every run
(spec 70-nfs.md §3.5, §4.3-4.4; 80-zfs.md §2-3, §7-8). Templates live in templates/nfs and
templates/zfs at the repository root and render through goldentooth.render.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .render import render

#: Sanoid retention keys in the order sanoid.conf lists them.
SANOID_PERIODS = ("frequently", "hourly", "daily", "weekly", "monthly", "yearly")


def exports_file(exports: Sequence[Mapping[str, Any]]) -> str:
    """/etc/exports: one `<path> <clients>(<options>)` line per export, in data order."""
    return render("nfs/exports.j2", exports=exports)


def share_source(share: Mapping[str, Any], server_address: str) -> str:
    """`What=` of a share: `<server IPv4>:<export>`."""
    return f"{server_address}:{share['export']}"


def mount_unit(share: Mapping[str, Any], server_address: str) -> str:
    """The `.mount` unit of a share (no [Install]: only its automount starts it)."""
    return render("nfs/mount.j2", share=share, what=share_source(share, server_address))


def automount_unit(share: Mapping[str, Any]) -> str:
    """The `.automount` unit of a share (wanted by remote-fs.target, idle timeout from data)."""
    return render("nfs/automount.j2", share=share)


def zfs_modprobe_conf(arc_max_bytes: int) -> str:
    """/etc/modprobe.d/zfs.conf: the ARC limit applied when the module loads."""
    return render("zfs/modprobe-zfs.conf.j2", arc_max_bytes=int(arc_max_bytes))


def sanoid_conf(role: str, dataset: str, retention: Mapping[str, int], source: str) -> str:
    """/etc/sanoid/sanoid.conf: `production` template on the source, `backup` on replicas."""
    if role not in ("source", "replica"):
        raise ValueError(f"sanoid role must be 'source' or 'replica', not {role!r}")
    ordered = [(period, int(retention[period])) for period in SANOID_PERIODS if period in retention]
    template = "production" if role == "source" else "backup"
    return render("zfs/sanoid.conf.j2", role=role, dataset=dataset, template=template, retention=ordered, source=source)


def syncoid_service(dataset: str, ssh_key: str) -> str:
    """/etc/systemd/system/syncoid@.service: one oneshot replication run to the instance host."""
    return render("zfs/syncoid@.service.j2", dataset=dataset, ssh_key=ssh_key)


def syncoid_timer(dataset: str) -> str:
    """/etc/systemd/system/syncoid@.timer: every 15 minutes, installable (WantedBy=timers.target)."""
    return render("zfs/syncoid@.timer.j2", dataset=dataset)


def backports_sources(url: str, suite: str, components: Sequence[str], signed_by: str) -> str:
    """The deb822 source for bookworm-backports (OpenZFS 2.3.x lives in contrib)."""
    return render("zfs/debian-backports.sources.j2", url=url, suite=suite, components=components, signed_by=signed_by)
