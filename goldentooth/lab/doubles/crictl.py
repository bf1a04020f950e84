"""crictl double: version, and container listings of a node where no container can run.

In the lab no kubelet runs, so the node has no containers: `crictl ps` prints an empty list.
"""

from __future__ import annotations

import sys

from .common import Flags, UsageError

PS = Flags({"quiet": ("bool", False), "name": ("str", ""), "all": ("bool", False), "state": ("str", ""),
            "output": ("str", "table")}, {"q": "quiet", "a": "all", "o": "output"})
HEADER = "CONTAINER  IMAGE  CREATED  STATE  NAME  ATTEMPT  POD ID  POD"


def main(argv: list[str], version: str) -> int:
    if argv in (["--version"], ["-v"]):
        print(f"crictl version v{version}")
        return 0
    if argv[:1] == ["ps"]:
        try:
            options, _ = PS.parse(argv[1:])
        except UsageError as error:
            print(f"crictl: {error}", file=sys.stderr)
            return 1
        if not options["quiet"]:
            print(HEADER)
        return 0
    print(f"crictl lab double: unsupported command {' '.join(argv)!r} (only --version and ps)", file=sys.stderr)
    return 1
