"""Clock settings as systemd's timedated reports them."""

from __future__ import annotations

from pyinfra.api import FactBase


class TimeDateState(FactBase[dict[str, str]]):
    """
    ``timedatectl show`` properties: ``Timezone``, ``NTP`` (time service enabled: ``yes``/``no``)
    and ``NTPSynchronized`` (kernel clock synchronised: ``yes``/``no``).

    .. code:: python

        {"Timezone": "America/New_York", "NTP": "yes", "NTPSynchronized": "yes"}
    """

    default = dict

    def requires_command(self) -> str:
        return "timedatectl"

    def command(self) -> str:
        return "timedatectl show -p Timezone -p NTP -p NTPSynchronized"

    def process(self, output: list[str]) -> dict[str, str]:
        state: dict[str, str] = {}
        for line in output:
            key, sep, value = line.partition("=")
            if sep:
                state[key.strip()] = value.strip()
        return state
