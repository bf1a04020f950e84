"""Facts for NFS exports: what is mounted at an export path (spec 70-nfs.md §3.3)."""

from __future__ import annotations

import json

from pyinfra.api import FactBase, QuoteString, StringCommand


class MountedFilesystem(FactBase[dict | None]):
    """
    The filesystem mounted exactly at a path (findmnt), or None when nothing is mounted there.

    .. code:: python

        {"target": "/mnt/usb1", "source": "/dev/sda1", "fstype": "ext4", "uuid": "0b7c..."}

    findmnt exits 1 with no output when the path is not a mount point; that is the None case.
    Any other failure fails the host.
    """

    def requires_command(self, path: str) -> str:
        return "findmnt"

    def command(self, path: str) -> StringCommand:
        return StringCommand(
            "findmnt", "-J", "-o", "TARGET,SOURCE,FSTYPE,UUID", "--mountpoint", QuoteString(path),
            "||", "[", "$?", "-eq", "1", "]",
        )

    def process(self, output: list[str]) -> dict | None:
        if not output:
            return None
        filesystems = json.loads("\n".join(output)).get("filesystems") or []
        if not filesystems:
            return None
        # Several entries mean stacked mounts; the last one is on top and is what NFS exports.
        return dict(filesystems[-1])
