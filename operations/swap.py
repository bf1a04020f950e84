"""Swap off now and after reboot (kubelet keeps its default failSwapOn: true)."""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import operation

from facts.swap import SwapState

FSTAB_PREFIX = "# disabled by goldentooth: "
_DPHYS = "dphys-swapfile.service"


@operation()
def disabled(container: bool = False):
    """
    Turn every swap source off and keep it off.

    + container: the host is a container, which sees the machine's swap but may not change it:
      ``swapoff`` is skipped with a warning; files are still edited

    Active swap is turned off (``swapoff -a``); Raspberry Pi OS's ``dphys-swapfile`` is turned off,
    uninstalled (its file deleted), disabled and masked; every uncommented ``/etc/fstab`` line with
    third field ``swap`` is commented out with the prefix ``# disabled by goldentooth: ``.

    **Examples:**

    .. code:: python

        swap.disabled(
            name="Turn swap off and keep it off",
        )
    """
    state = host.get_fact(SwapState)
    changed = False
    if state["dphys_swapfile"] not in ("not-found", "masked"):
        changed = True
        yield "dphys-swapfile swapoff && dphys-swapfile uninstall"
        yield f"systemctl disable --now {_DPHYS} && systemctl mask {_DPHYS}"
    if state["fstab"]:
        changed = True
        yield (
            "awk -v prefix='" + FSTAB_PREFIX + "' "
            "'$1 !~ /^#/ && $3 == \"swap\" {print prefix $0; next} {print}' /etc/fstab > /etc/fstab.goldentooth"
            " && cat /etc/fstab.goldentooth > /etc/fstab && rm -f /etc/fstab.goldentooth"
            " && systemctl daemon-reload"
        )
    if state["active"]:
        if container:
            logger.warning(f"{host.name}: container detected, not running swapoff for {', '.join(state['active'])}")
        else:
            changed = True
            yield "swapoff -a"
    if not changed:
        host.noop("swap is off" if not state["active"] else "swap files are off (container: active swap left)")
