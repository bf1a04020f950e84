"""NFS server operations: export filesystem guard and export table reload (spec 70-nfs.md §3)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation
from pyinfra.facts.systemd import SystemdStatus

from facts.nfs import MountedFilesystem
from operations.guard import fail_command

NFS_SERVER_UNIT = "nfs-server.service"


def _matches(mounted: dict | None, fs_type: str, fs_uuid: str | None) -> bool:
    return bool(mounted) and mounted.get("fstype") == fs_type and (not fs_uuid or mounted.get("uuid") == fs_uuid)


@operation()
def filesystem_mounted(path: str, fs_type: str, fs_uuid: str):
    """
    Mount an export's filesystem from its /etc/fstab entry and verify it is the expected one.

    + path: export path (the mount point, with a UUID line in /etc/fstab)
    + fs_type: expected filesystem type, e.g. ``ext4``
    + fs_uuid: expected filesystem UUID

    After ``mount`` the host fails unless findmnt shows exactly that type and UUID at the path,
    so an export never falls back to the directory underneath.

    **Examples:**

    .. code:: python

        nfs.filesystem_mounted(
            name="Mount the GPU storage filesystem before exporting it",
            path="/mnt/gpu-storage",
            fs_type="ext4",
            fs_uuid="5bc38d5b-a7a4-426e-acdb-e5caf0a809d9",
        )
    """
    mounted = host.get_fact(MountedFilesystem, path=path)
    if _matches(mounted, fs_type, fs_uuid):
        host.noop(f"{path} holds the {fs_type} filesystem {fs_uuid}")
        return
    refusal = fail_command(f"refusing to export {path}: not the expected mounted filesystem")
    if mounted is not None:
        yield refusal
        return
    yield StringCommand("mount", QuoteString(path))
    yield StringCommand(
        "findmnt", "-n", "--mountpoint", QuoteString(path), "-t", QuoteString(fs_type),
        "-S", QuoteString(f"UUID={fs_uuid}"), ">/dev/null", "||", "{", refusal, ";", "}",
    )


@operation(is_idempotent=False)
def reexport():
    """
    Synchronise the kernel export table with /etc/exports (``exportfs -ra``); a failure fails the host.

    Use with ``_if=`` on the /etc/exports operation. When ``nfs-server.service`` is not running
    nothing is done: starting it exports everything. Never ``systemctl reload nfs-server``, whose
    ``exportfs`` failures are ignored.

    **Examples:**

    .. code:: python

        nfs.reexport(
            name="Re-export after /etc/exports changed",
            _if=exports.did_change,
        )
    """
    status = host.get_fact(SystemdStatus, services=[NFS_SERVER_UNIT])
    if not status.get(NFS_SERVER_UNIT):
        host.noop(f"{NFS_SERVER_UNIT} is not running; starting it exports /etc/exports")
        return
    yield "exportfs -ra"
