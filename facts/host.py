"""What a host is: operating system, architecture, hardware model, container or not.

One fact, one command: every deploy needs these answers and each fact costs an SSH round trip.
"""

from __future__ import annotations

from typing import Any

from pyinfra.api import FactBase

_FIELDS = ("os_id", "os_version_id", "os_codename", "arch", "model", "container")


class HostProfile(FactBase[dict[str, Any]]):
    """
    The host's identity as the deploys need it, from ``/etc/os-release``,
    ``dpkg --print-architecture``, ``/proc/device-tree/model`` and ``systemd-detect-virt``.

    ``container`` is the container technology (``systemd-nspawn``, ``lxc``...) or ``None`` on a
    real or virtual machine; ``is_raspberry_pi`` is true when the device-tree model begins with
    ``Raspberry Pi``; ``model`` is ``None`` without a device tree (x86).

    .. code:: python

        {
            "os_id": "debian", "os_version_id": "12", "os_codename": "bookworm",
            "arch": "arm64", "model": "Raspberry Pi 4 Model B Rev 1.4",
            "is_raspberry_pi": True, "container": None,
        }
    """

    default = dict

    def requires_command(self) -> str:
        return "dpkg"

    def command(self) -> str:
        return (
            "( . /etc/os-release && echo \"os_id=$ID\" && echo \"os_version_id=$VERSION_ID\""
            " && echo \"os_codename=$VERSION_CODENAME\" ); "
            "echo \"arch=$(dpkg --print-architecture)\"; "
            "echo \"model=$(tr -d '\\000' < /proc/device-tree/model 2>/dev/null)\"; "
            "echo \"container=$(systemd-detect-virt --container 2>/dev/null)\""
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {field: None for field in _FIELDS}
        for line in output:
            key, sep, value = line.partition("=")
            if sep and key in values:
                values[key] = value.strip() or None
        if values["container"] == "none":
            values["container"] = None
        values["is_raspberry_pi"] = bool(values["model"] and values["model"].startswith("Raspberry Pi"))
        return values
