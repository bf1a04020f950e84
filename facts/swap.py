"""Swap state: active swap areas, fstab swap entries and Raspberry Pi OS's dphys-swapfile."""

from __future__ import annotations

from typing import Any

from pyinfra.api import FactBase


class SwapState(FactBase[dict[str, Any]]):
    """
    Every source of swap on the host, in one command.

    ``active`` lists the devices in ``/proc/swaps``; ``fstab`` the uncommented ``/etc/fstab``
    lines whose third field is ``swap``; ``dphys_swapfile`` is the ``LoadState`` of
    ``dphys-swapfile.service`` (``not-found`` where it does not exist, ``masked`` once disabled).

    .. code:: python

        {"active": ["/var/swap"], "fstab": [], "dphys_swapfile": "loaded"}
    """

    default = dict

    def command(self) -> str:
        return (
            "awk 'NR > 1 {print \"active \" $1}' /proc/swaps; "
            "awk '$1 !~ /^#/ && $3 == \"swap\" {print \"fstab \" $0}' /etc/fstab 2>/dev/null; "
            "echo \"dphys $(systemctl show -p LoadState --value dphys-swapfile.service 2>/dev/null)\""
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        state: dict[str, Any] = {"active": [], "fstab": [], "dphys_swapfile": "not-found"}
        for line in output:
            kind, _, value = line.partition(" ")
            if kind in ("active", "fstab") and value.strip():
                state[kind].append(value.strip())
            elif kind == "dphys" and value.strip():
                state["dphys_swapfile"] = value.strip()
        return state
