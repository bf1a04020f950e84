"""systemd path escaping (`systemd-escape --path`): the unit names of mount and automount units.

systemd refuses a `.mount` unit whose name does not match its `Where=`, so names are computed from
the path, never written by hand (spec 70-nfs.md §4.2).
"""

from __future__ import annotations

#: Bytes systemd keeps as they are inside an escaped name.
_KEEP = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.")


class PathNotNormalized(ValueError):
    """The path is relative or has `..` components; systemd refuses to escape it."""


def _escape_byte(byte: int) -> str:
    return f"\\x{byte:02x}"


def escape_path(path: str) -> str:
    """The escaped name of an absolute path, as `systemd-escape --path` prints it.

    `/mnt/gpu-storage` -> `mnt-gpu\\x2dstorage`; `/` -> `-`.
    """
    if not path.startswith("/"):
        raise PathNotNormalized(f"{path!r} is not an absolute path")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise PathNotNormalized(f"{path!r} has '..' components")
    if not parts:
        return "-"
    escaped: list[str] = []
    for index, byte in enumerate("/".join(parts).encode("utf-8")):
        if byte == ord("/"):
            escaped.append("-")
        elif byte == ord(".") and index == 0:
            escaped.append(_escape_byte(byte))
        elif byte in _KEEP:
            escaped.append(chr(byte))
        else:
            escaped.append(_escape_byte(byte))
    return "".join(escaped)


def unit_name(path: str, suffix: str) -> str:
    """The unit name for a path: `unit_name("/mnt/nfs", "automount")` -> `mnt-nfs.automount`."""
    return f"{escape_path(path)}.{suffix}"
