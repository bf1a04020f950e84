"""The installed containerd: its version decides the config format (spec 30 §2.1)."""

from __future__ import annotations

import re
from typing import Any

from pyinfra.api import FactBase

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


class ContainerdVersion(FactBase["dict[str, Any] | None"]):
    """
    The version of ``containerd`` on the host, or ``None`` when it is not installed.

    Parses both ``containerd containerd.io 1.7.27 05044ec...`` (Docker's package) and
    ``containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1`` (Debian's).

    .. code:: python

        {"version": "1.7.27", "major": 1}
    """

    def command(self) -> str:
        return "containerd --version 2>/dev/null || true"

    def process(self, output: list[str]) -> dict[str, Any] | None:
        return parse_version(" ".join(output))


def parse_version(text: str) -> dict[str, Any] | None:
    """`{"version", "major"}` from ``containerd --version`` output; None when no version is in it."""
    for token in text.split():
        match = _VERSION.match(token)
        if match:
            return {"version": ".".join(match.groups()), "major": int(match.group(1))}
    return None
