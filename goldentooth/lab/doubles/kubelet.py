"""kubelet double: reports its version; anything else fails, as a kubelet cannot run in the lab.

Lab nodes are containers (read-only cgroups, no /dev/kmsg), so the unit keeps failing and
restarting exactly like a kubelet without a usable host; deploys detect the lab and say so.
"""

from __future__ import annotations

import sys

from .common import Flags, UsageError


def main(argv: list[str], version: str) -> int:
    try:
        values, _ = Flags({"version": ("bool", False)}).parse([a for a in argv if a.startswith("--version")])
    except UsageError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    if values["version"]:
        print(f"Kubernetes v{version}")
        return 0
    print("E0000 kubelet double: a kubelet cannot run inside a lab node (container: read-only cgroups, "
          "no /dev/kmsg)", file=sys.stderr)
    return 1
