"""CNI plugin double: answers the CNI VERSION command; ADD/DEL fail (no pod networking in the lab)."""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str], version: str) -> int:
    command = os.environ.get("CNI_COMMAND", "")
    if command == "VERSION":
        print(json.dumps({"cniVersion": "1.0.0", "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]}))
        return 0
    name = os.path.basename(sys.argv[0])
    if not command:
        print(f"CNI {name} plugin v{version}")
        return 0
    print(json.dumps({"cniVersion": "1.0.0", "code": 999,
                      "msg": f"{name} lab double: {command} is not possible in a lab node"}))
    return 1
