"""Failing a single host on purpose, with the reason in its output (safety guards).

A guard that finds a host unsafe to change (an unmounted export, a missing pool device) must
stop that host only: raising during planning would abort the whole run for every host.
"""

from __future__ import annotations

from pyinfra.api import QuoteString, StringCommand, operation


def fail_command(message: str) -> StringCommand:
    """A command that prints the message on stderr and exits 1."""
    return StringCommand("echo", QuoteString(message), ">&2;", "exit", "1")


@operation(is_idempotent=False)
def refuse(message: str):
    """
    Fail this host with the reason it must not be changed; the later operations of the
    refused capability are not planned for it.

    + message: why, e.g. ``refusing to export /mnt/usb1: not the expected mounted filesystem``

    **Examples:**

    .. code:: python

        guard.refuse(
            name="Refuse to export /mnt/usb1",
            message="refusing to export /mnt/usb1: not the expected mounted filesystem",
        )
    """
    yield fail_command(message)
