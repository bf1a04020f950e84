"""Narrow ZFS facts: pools, datasets, chosen dataset properties, snapshot names (spec 80-zfs.md §6).

pyinfra's own `zfs.ZfsDatasets` reads every property of every dataset and snapshot on every use;
these facts ask only for the columns the deploy needs. All use `-H` (TAB-separated, no header)
and `-p` (exact numbers). Without the zfs command or the kernel module they return their default.
"""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand
from pyinfra.api.exceptions import FactProcessError

#: Run the command only while the zfs module is loaded (the CLI fails without it).
_MODULE_LOADED = ("if", "[", "-d", "/sys/module/zfs", "];", "then")


def _guarded(*command) -> StringCommand:
    return StringCommand(*_MODULE_LOADED, *command, ";", "fi")


def _rows(output: list[str], width: int) -> list[list[str]]:
    rows = [line.split("\t") for line in output if line.strip()]
    for row in rows:
        if len(row) != width:
            raise FactProcessError(f"expected {width} TAB-separated fields, got {row!r}")
    return rows


class ZfsModule(FactBase[dict]):
    """
    The loaded zfs kernel module: its version and the live ``zfs_arc_max`` tunable in bytes;
    empty when the module is not loaded.

    .. code:: python

        {"version": "2.3.2-1~bpo12+1", "zfs_arc_max": 1073741824}
    """

    default = dict

    def command(self) -> str:
        return (
            "if [ -d /sys/module/zfs ]; then "
            "cat /sys/module/zfs/version /sys/module/zfs/parameters/zfs_arc_max; fi"
        )

    def process(self, output: list[str]) -> dict:
        lines = [line.strip() for line in output if line.strip()]
        if not lines:
            return {}
        return {"version": lines[0], "zfs_arc_max": int(lines[1])}


class ZfsPools(FactBase[dict]):
    """
    Imported pools with size, allocation, free space (bytes) and health.

    .. code:: python

        {"rpool": {"size": 118111600640, "allocated": 577536, "free": 118111023104, "health": "ONLINE"}}
    """

    default = dict

    def requires_command(self) -> str:
        return "zpool"

    def command(self) -> StringCommand:
        return _guarded("zpool", "list", "-H", "-p", "-o", "name,size,allocated,free,health")

    def process(self, output: list[str]) -> dict:
        return {
            name: {"size": int(size), "allocated": int(allocated), "free": int(free), "health": health}
            for name, size, allocated, free, health in _rows(output, 5)
        }


class ZfsDatasets(FactBase[dict]):
    """
    Filesystems and volumes (never snapshots) with type, mountpoint, mounted, used and available.

    .. code:: python

        {"rpool/data": {"type": "filesystem", "mountpoint": "/data", "mounted": True,
                        "used": 54272, "available": 115964116992}}

    Volumes have ``mountpoint`` None and ``mounted`` False.
    """

    default = dict

    def requires_command(self) -> str:
        return "zfs"

    def command(self) -> StringCommand:
        return _guarded(
            "zfs", "list", "-H", "-p", "-t", "filesystem,volume", "-o", "name,type,mountpoint,mounted,used,available",
        )

    def process(self, output: list[str]) -> dict:
        return {
            name: {
                "type": kind,
                "mountpoint": None if mountpoint == "-" else mountpoint,
                "mounted": mounted == "yes",
                "used": int(used),
                "available": int(available),
            }
            for name, kind, mountpoint, mounted, used, available in _rows(output, 6)
        }


class ZfsDatasetProperties(FactBase[dict]):
    """
    Chosen properties of one existing dataset: value and source of each.

    .. code:: python

        {"mountpoint": {"value": "/data", "source": "local"},
         "compression": {"value": "lz4", "source": "inherited from rpool"}}

    Ask only for a dataset the ``ZfsDatasets`` fact lists: zfs exits 1 for a missing one.
    """

    default = dict

    def requires_command(self, dataset: str, properties: list[str]) -> str:
        return "zfs"

    def command(self, dataset: str, properties: list[str]) -> StringCommand:
        return _guarded(
            "zfs", "get", "-H", "-p", "-o", "name,property,value,source",
            QuoteString(",".join(properties)), QuoteString(dataset),
        )

    def process(self, output: list[str]) -> dict:
        return {prop: {"value": value, "source": source} for _, prop, value, source in _rows(output, 4)}


class ZfsSnapshots(FactBase[dict]):
    """
    Snapshot names with creation time (seconds since the epoch) and used bytes, oldest first.
    Only names, creation and space are read, never every property of every snapshot.

    .. code:: python

        {"rpool/data@autosnap_2025-07-18_18:13:17_hourly": {"creation": 1752862397, "used": 0}}
    """

    default = dict

    def requires_command(self) -> str:
        return "zfs"

    def command(self) -> StringCommand:
        return _guarded("zfs", "list", "-H", "-p", "-t", "snapshot", "-o", "name,creation,used", "-s", "creation")

    def process(self, output: list[str]) -> dict:
        return {name: {"creation": int(creation), "used": int(used)} for name, creation, used in _rows(output, 3)}
