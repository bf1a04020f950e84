"""Clock settings through timedatectl, changed only when the current value differs."""

from __future__ import annotations

import re

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation

from facts.timedate import TimeDateState

ZONE = re.compile(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")


@operation()
def timezone(zone: str):
    """
    Set the system timezone.

    + zone: an IANA zone name (``America/New_York``)

    **Examples:**

    .. code:: python

        timedate.timezone(
            name="Set the timezone",
            zone="America/New_York",
        )
    """
    if not ZONE.match(zone):
        raise OperationError(f"timedate.timezone: invalid zone name {zone!r}")
    if host.get_fact(TimeDateState).get("Timezone") == zone:
        host.noop(f"timezone is {zone}")
        return
    yield StringCommand("timedatectl", "set-timezone", QuoteString(zone))


@operation()
def ntp():
    """
    Enable network time synchronisation (``timedatectl set-ntp true``) for systemd-timesyncd.

    **Examples:**

    .. code:: python

        timedate.ntp(
            name="Enable network time synchronisation",
        )
    """
    if host.get_fact(TimeDateState).get("NTP") == "yes":
        host.noop("network time synchronisation is enabled")
        return
    yield "timedatectl set-ntp true"
