"""ZFS roles, the ARC limit rule and the pool-device safety rule (spec 80-zfs.md §1, §3, §4).

Pure decisions, unit-tested without hosts: operations and deploys call them with fact values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .model import Cluster

ARC_MIN_TUNABLE = 64 * 1024 * 1024
ARC_C_MIN_FLOOR = 32 * 1024 * 1024


class PoolDeviceRefused(Exception):
    """The pool device holds data (or a pool) and must not be used as it is."""


def role(cluster: Cluster, host_name: str) -> str | None:
    """`source`, `replica`, or None for a host outside the `zfs` group."""
    if host_name not in cluster.names("zfs"):
        return None
    return "source" if host_name == cluster.zfs_source else "replica"


def arc_max_problem(arc_max: int, mem_total: int, arc_min: int | None = None) -> str | None:
    """Why OpenZFS would ignore or refuse this `zfs_arc_max` (None when it takes effect).

    OpenZFS accepts the tunable only when it is at least 64 MiB, below the RAM and above
    `arc_c_min` (default max(32 MiB, RAM/32)); otherwise it is silently ignored at module load.
    """
    if arc_max < ARC_MIN_TUNABLE:
        return f"{arc_max} is below the 64 MiB ({ARC_MIN_TUNABLE}) minimum"
    if arc_max >= mem_total:
        return f"{arc_max} is not below the memory size {mem_total}"
    c_min = arc_min if arc_min is not None else max(ARC_C_MIN_FLOOR, mem_total // 32)
    if arc_max <= c_min:
        return f"{arc_max} is not above arc_c_min {c_min} (max(32 MiB, RAM/32) for {mem_total} bytes of RAM); OpenZFS would ignore it"
    return None


def pool_create_force(
    pool: str,
    device: str,
    tree: Sequence[Mapping[str, str]],
    signatures: Mapping[str, str],
    force: bool,
) -> bool:
    """Whether `zpool create` needs `-f` for this device; raises PoolDeviceRefused when it must not run.

    `tree` is the device's lsblk rows (the disk, then its partitions), `signatures` blkid's
    probe of the disk. A blank disk is one lsblk row with no FSTYPE or PTTYPE and no blkid
    signature. A disk carrying this very pool (not imported) is never re-created, force or not.
    """
    rows = [dict(row) for row in tree]
    labelled = [*rows, {"FSTYPE": signatures.get("TYPE", ""), "LABEL": signatures.get("LABEL", "")}]
    if any(row.get("FSTYPE") == "zfs_member" and row.get("LABEL") == pool for row in labelled):
        raise PoolDeviceRefused(f"pool {pool} exists on {device} but is not imported — import it by hand")
    blank = (
        not signatures
        and len(rows) == 1
        and not rows[0].get("FSTYPE")
        and not rows[0].get("PTTYPE")
    )
    if blank:
        return False
    if force:
        return True
    found = ", ".join(
        f"{row.get('PATH', device)} {key}={row[key]}" for row in rows for key in ("FSTYPE", "PTTYPE") if row.get(key)
    ) or ", ".join(f"{key}={value}" for key, value in sorted(signatures.items()))
    raise PoolDeviceRefused(
        f"device holds data; set zfs_pool_force in host data to overwrite ({device}: {found or 'partitions present'})"
    )

