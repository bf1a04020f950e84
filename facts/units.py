"""The running and enabled states of named systemd units, both from one `systemctl show`."""

from __future__ import annotations

import re
from typing import Any

from pyinfra.api import FactBase, QuoteString, StringCommand

#: A unit name with its type suffix (`chrony.service`, `syncoid@erenford.timer`).
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\@-]+\.(service|socket|timer|path|mount|automount|target)$")
#: What pyinfra's SystemdStatus and SystemdEnabled count as running and as enabled.
RUNNING_SUBSTATES = ("running", "waiting", "exited", "listening", "mounted")
ENABLED_FILE_STATES = ("enabled", "static")


class UnitStates(FactBase[dict[str, dict[str, bool]]]):
    """
    Per unit: whether it runs (SubState running, waiting, exited, listening or mounted) and
    whether it is enabled (UnitFileState enabled or static), the answers of pyinfra's
    ``SystemdStatus`` and ``SystemdEnabled`` from one command instead of two.

    .. code:: python

        {"containerd.service": {"running": True, "enabled": True},
         "chrony.service": {"running": False, "enabled": True}}
    """

    default = dict

    def requires_command(self, units: list[str]) -> str:
        return "systemctl"

    def command(self, units: list[str]) -> StringCommand:
        invalid = [unit for unit in units if not UNIT_NAME.match(unit)]
        if invalid:
            raise ValueError(f"invalid systemd unit name(s): {', '.join(map(repr, invalid))}")
        return StringCommand(
            "systemctl", "show", "--property", "Id", "--property", "SubState", "--property", "UnitFileState", "--",
            *(QuoteString(unit) for unit in units),
        )

    def process(self, output: list[str]) -> dict[str, dict[str, bool]]:
        states: dict[str, dict[str, Any]] = {}
        current: dict[str, Any] | None = None
        for line in output:
            key, sep, value = line.strip().partition("=")
            if not sep:
                current = None
            elif key == "Id":
                current = states.setdefault(value, {"running": False, "enabled": False})
            elif current is not None and key == "SubState":
                current["running"] = value in RUNNING_SUBSTATES
            elif current is not None and key == "UnitFileState":
                current["enabled"] = value in ENABLED_FILE_STATES
        return states
