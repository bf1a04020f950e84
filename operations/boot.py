"""Raspberry Pi boot files: token-level edits of the single-line kernel command line."""

from __future__ import annotations

import re
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, operation

from facts.kernel import BootCmdline

TOKEN = re.compile(r"^\S+$")


@operation()
def cmdline_tokens(path: str, present: list[str], absent: list[str] | None = None):
    """
    Make whole tokens present in (or absent from) a one-line kernel command line file.

    + path: the file (``/boot/firmware/cmdline.txt`` on Raspberry Pi OS)
    + present: tokens that must appear, appended in this order when missing
    + absent: tokens that must not appear (``cgroup_disable=memory``)

    Existing tokens keep their order, no token is duplicated, and the file ends up as exactly one
    line with one newline. A missing file fails the host (the boot partition is not mounted).

    **Examples:**

    .. code:: python

        boot.cmdline_tokens(
            name="Enable the memory cgroup on the kernel command line",
            path="/boot/firmware/cmdline.txt",
            present=["cgroup_enable=memory", "cgroup_memory=1"],
            absent=["cgroup_disable=memory"],
        )
    """
    absent = absent or []
    bad = [token for token in [*present, *absent] if not TOKEN.match(token)]
    if bad or set(present) & set(absent):
        raise OperationError(f"boot.cmdline_tokens: invalid or conflicting tokens: {bad or sorted(set(present) & set(absent))}")
    lines = host.get_fact(BootCmdline, path=path)
    if lines is None:
        raise OperationError(f"{path} does not exist (is the boot partition mounted?)")
    tokens: list[str] = []
    for token in " ".join(lines).split():
        if token not in tokens and token not in absent:
            tokens.append(token)
    tokens += [token for token in present if token not in tokens]
    wanted = " ".join(tokens) + "\n"
    if lines == [wanted.rstrip("\n")]:
        host.noop(f"{path} has the tokens {' '.join(present)}")
        return
    yield FileUploadCommand(StringIO(wanted), path, remote_temp_filename=host.get_temp_filename(path))
