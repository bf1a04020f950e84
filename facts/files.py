"""File state for several paths in one command (content checksum, owner, group, mode).

The digest is read from stdin and the path printed with printf, so names with a backslash (systemd
escaped unit names such as `mnt-gpu\\x2dstorage.mount`) come back as they were asked.
"""

from __future__ import annotations

from typing import Any

from pyinfra.api import FactBase, QuoteString, StringCommand


class FileStates(FactBase[dict[str, Any]]):
    """
    For each given path that is a regular file: its sha256, owner, group and octal mode. Absent
    paths are missing from the result.

    .. code:: python

        {"/etc/haproxy/haproxy.cfg": {"sha256": "9f86d0...", "user": "root",
                                      "group": "haproxy", "mode": "640"}}
    """

    default = dict

    def command(self, paths: list[str]) -> StringCommand:
        return StringCommand(
            "for path in", *(QuoteString(path) for path in paths),
            '; do if [ -f "$path" ]; then',
            """printf '%s %s %s\\n' "$(sha256sum < "$path" | cut -d" " -f1)" "$(stat -c "%U %G %a" "$path")" "$path";""",
            "fi; done",
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        states: dict[str, Any] = {}
        for line in output:
            parts = line.split(" ", 4)
            if len(parts) == 5:
                sha256, user, group, mode, path = parts
                states[path] = {"sha256": sha256, "user": user, "group": group, "mode": mode}
        return states
