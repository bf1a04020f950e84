"""Systemd units kept running and enabled, from one `systemctl show` per unit.

pyinfra's `systemd.service` reads `SystemdStatus` and `SystemdEnabled`, two round trips, for a
unit that is both kept running and enabled; `units.service` reads both states at once. Restarts
and reloads stay with `systemd.service(..., _if=...)`, which reads nothing when its guard is false.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation

from facts.units import UNIT_NAME, UnitStates


@operation()
def service(unit: str, running: bool | None = True, enabled: bool | None = True):
    """
    Start or stop, enable or disable one systemd unit, only where its state differs.

    + unit: full unit name with its type, e.g. ``containerd.service``
    + running: ``True`` start it if it is not running, ``False`` stop it if it runs, ``None`` leave it
    + enabled: ``True`` enable it if it is not enabled (or static), ``False`` disable it, ``None`` leave it

    **Examples:**

    .. code:: python

        units.service(
            name="Keep containerd running",
            unit="containerd.service",
            running=True,
            enabled=True,
        )
    """
    if not UNIT_NAME.match(unit):
        raise OperationError(f"units.service: {unit!r} is not a systemd unit name with its type")
    state = host.get_fact(UnitStates, units=[unit]).get(unit, {"running": False, "enabled": False})
    changed = False
    for wanted, key, on, off in ((running, "running", "start", "stop"), (enabled, "enabled", "enable", "disable")):
        if wanted is not None and state[key] != wanted:
            changed = True
            yield StringCommand("systemctl", on if wanted else off, QuoteString(unit))
    if not changed:
        host.noop(f"unit {unit} is {'running' if state['running'] else 'not running'} and "
                  f"{'enabled' if state['enabled'] else 'not enabled'} as wanted")
