"""Facts about the virtualisation a host runs in."""

from __future__ import annotations

from pyinfra.api import FactBase


class Container(FactBase[str | None]):
    """
    The container technology this host runs in (``systemd-detect-virt --container``), or None on
    bare metal and virtual machines.

    .. code:: python

        "systemd-nspawn"

    The command prints ``none`` and exits 1 outside a container; that is the None case.
    """

    def requires_command(self) -> str:
        return "systemd-detect-virt"

    def command(self) -> str:
        return "systemd-detect-virt --container || true"

    def process(self, output: list[str]) -> str | None:
        value = output[0].strip() if output else ""
        return None if value in ("", "none") else value
