"""Facts about a block device before it is given to a new pool (spec 80-zfs.md §4, §6.6)."""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase, QuoteString, StringCommand

LSBLK_COLUMNS = "PATH,TYPE,FSTYPE,PTTYPE,LABEL"


class BlockDeviceTree(FactBase[list | None]):
    """
    lsblk's rows for a device and its partitions, or None when the path is not a block device.

    .. code:: python

        [{"PATH": "/dev/sda", "TYPE": "disk", "FSTYPE": "", "PTTYPE": "", "LABEL": ""}]
    """

    def requires_command(self, device: str) -> str:
        return "lsblk"

    def command(self, device: str) -> StringCommand:
        return StringCommand(
            "if", "[", "-b", QuoteString(device), "];", "then",
            "lsblk", "-n", "-P", "-o", LSBLK_COLUMNS, QuoteString(device), ";",
            "else", "echo", "NOT_A_BLOCK_DEVICE;", "fi",
        )

    def process(self, output: list[str]) -> list | None:
        if output == ["NOT_A_BLOCK_DEVICE"]:
            return None
        rows = []
        for line in output:
            if line.strip():
                rows.append(dict(pair.split("=", 1) for pair in shlex.split(line)))
        return rows


class BlockDeviceSignatures(FactBase[dict]):
    """
    Signatures blkid finds on a device by low-level probing (filesystem, partition table, RAID,
    pool member); empty when blkid finds none (it exits 2 with no output).

    .. code:: python

        {"PTTYPE": "gpt", "PTUUID": "5e1c..."}
    """

    default = dict

    def requires_command(self, device: str) -> str:
        return "blkid"

    def command(self, device: str) -> StringCommand:
        return StringCommand("blkid", "-p", "-o", "export", QuoteString(device), "||", "[", "$?", "-eq", "2", "]")

    def process(self, output: list[str]) -> dict:
        return dict(line.split("=", 1) for line in output if "=" in line)
