"""ZFS operations: module, ARC limit, pool, dataset (spec 80-zfs.md §3-5).

Pool creation refuses any device that holds data unless forced by host data, and never re-creates
a pool that exists on the disk but is not imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation

from facts.blockdev import BlockDeviceSignatures, BlockDeviceTree
from facts.zfs import ZfsDatasetProperties, ZfsDatasets, ZfsModule, ZfsPools
from goldentooth.zfs import PoolDeviceRefused, pool_create_force
from operations.guard import fail_command

ARC_MAX_PARAMETER = "/sys/module/zfs/parameters/zfs_arc_max"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*(/[A-Za-z0-9_.:-]+)*$")
PROPERTY = re.compile(r"^[a-z][a-z0-9_:.]*$")


def _check_name(kind: str, name: str) -> None:
    if not NAME.match(name):
        raise OperationError(f"invalid ZFS {kind} name: {name!r}")


def _options(flag: str, properties: Mapping[str, object]) -> list:
    options: list = []
    for key, value in properties.items():
        if not PROPERTY.match(str(key)):
            raise OperationError(f"invalid ZFS property name: {key!r}")
        options += [flag, QuoteString(f"{key}={value}")]
    return options


@operation()
def module_loaded():
    """
    Load the zfs kernel module; fail the host with a clear message when it does not exist.

    **Examples:**

    .. code:: python

        zfs.module_loaded(
            name="Load the zfs kernel module",
        )
    """
    module = host.get_fact(ZfsModule)
    if "version" in module:
        host.noop(f"zfs module {module['version']} is loaded")
        return
    message = "the zfs kernel module is not available for the running kernel (did the zfs-dkms build fail?)"
    yield StringCommand("modprobe", "zfs", "||", "{", "echo", QuoteString(message), ">&2;", "exit", "1;", "}")


@operation()
def arc_max(max_bytes: int):
    """
    Set the live ARC size limit (``zfs_arc_max``) of the loaded module, in bytes.

    + max_bytes: limit in bytes; the same value belongs in /etc/modprobe.d/zfs.conf for boot

    **Examples:**

    .. code:: python

        zfs.arc_max(
            name="Limit the ZFS ARC to 1 GiB now",
            max_bytes=1073741824,
        )
    """
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
        raise OperationError(f"zfs.arc_max: max_bytes must be a positive integer, not {max_bytes!r}")
    module = host.get_fact(ZfsModule)
    if "version" in module and module["zfs_arc_max"] == max_bytes:
        host.noop(f"zfs_arc_max is {max_bytes}")
        return
    yield StringCommand("echo", str(max_bytes), ">", ARC_MAX_PARAMETER)


@operation()
def pool(
    pool: str,
    device: str,
    properties: Mapping[str, object] | None = None,
    fs_properties: Mapping[str, object] | None = None,
    force: bool = False,
):
    """
    Create a single-disk pool on a blank whole disk (OpenZFS partitions it).

    + pool: pool name, e.g. ``rpool``
    + device: stable device path (``/dev/disk/by-id/...``)
    + properties: pool properties (``zpool create -o``), e.g. ``{"ashift": 12}``
    + fs_properties: root dataset properties (``-O``), e.g. ``{"compression": "lz4"}``
    + force: use ``-f`` on a disk holding other data (never when this pool is on it unimported)

    An existing pool is left alone. A missing device, or one holding a filesystem, partition
    table or pool member (unless ``force``), fails this host with the reason and changes nothing.

    **Examples:**

    .. code:: python

        zfs.pool(
            name="Create pool rpool on the data disk",
            pool="rpool",
            device="/dev/disk/by-id/usb-Samsung_SSD_870_EVO_120GB_S5Y1NJ0R123456-0:0",
            properties={"ashift": 12},
            fs_properties={"compression": "lz4", "atime": "off"},
        )
    """
    _check_name("pool", pool)
    if "/" in pool:
        raise OperationError(f"invalid ZFS pool name: {pool!r}")
    if pool in host.get_fact(ZfsPools):
        host.noop(f"pool {pool} exists")
        return
    tree = host.get_fact(BlockDeviceTree, device=device)
    if tree is None:
        yield fail_command(f"pool device missing: {device} is not a block device")
        return
    signatures = host.get_fact(BlockDeviceSignatures, device=device)
    try:
        use_force = pool_create_force(pool, device, tree, signatures, force)
    except PoolDeviceRefused as refused:
        yield fail_command(str(refused))
        return
    yield StringCommand(
        "zpool", "create", *(["-f"] if use_force else []),
        *_options("-o", properties or {}), *_options("-O", fs_properties or {}),
        QuoteString(pool), QuoteString(device),
    )


@operation()
def dataset(dataset: str, properties: Mapping[str, object] | None = None):
    """
    Create a filesystem dataset, or set the given properties on an existing one.

    + dataset: dataset name, e.g. ``rpool/data``
    + properties: properties that must hold, e.g. ``{"mountpoint": "/data"}``

    **Examples:**

    .. code:: python

        zfs.dataset(
            name="Create rpool/data mounted at /data",
            dataset="rpool/data",
            properties={"mountpoint": "/data"},
        )
    """
    _check_name("dataset", dataset)
    wanted = {str(key): str(value) for key, value in (properties or {}).items()}
    _options("-o", wanted)
    if dataset not in host.get_fact(ZfsDatasets):
        yield StringCommand("zfs", "create", *_options("-o", wanted), QuoteString(dataset))
        return
    current = host.get_fact(ZfsDatasetProperties, dataset=dataset, properties=sorted(wanted)) if wanted else {}
    changes = {key: value for key, value in sorted(wanted.items()) if current.get(key, {}).get("value") != value}
    if not changes:
        host.noop(f"dataset {dataset} exists with {', '.join(f'{k}={v}' for k, v in sorted(wanted.items())) or 'its properties'}")
        return
    for key, value in changes.items():
        yield StringCommand("zfs", "set", QuoteString(f"{key}={value}"), QuoteString(dataset))
