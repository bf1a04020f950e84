"""Kubernetes versions for upgrades: strict parsing and the one-minor-at-a-time rule (spec 50 §10)."""

from __future__ import annotations

import re

from ..errors import GoldentoothError

VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


class VersionError(GoldentoothError):
    """A malformed version or a forbidden upgrade step."""


def parse(text: str) -> tuple[int, int, int]:
    """`1.32.7` (or `v1.32.7`) -> (1, 32, 7); anything else is refused."""
    match = VERSION.match(str(text).strip())
    if not match:
        raise VersionError(f"malformed Kubernetes version {text!r}: expected MAJOR.MINOR.PATCH, e.g. 1.32.7")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def text(version: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


def minor(version: tuple[int, int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def check_upgrade(current: str, target: str) -> None:
    """Refuse a downgrade, a major change or a skipped minor; equal means resume (nothing newer)."""
    have, want = parse(current), parse(target)
    if want < have:
        raise VersionError(f"refusing to downgrade from v{text(have)} to v{text(want)}")
    if want[0] != have[0]:
        raise VersionError(f"refusing a major version change v{text(have)} -> v{text(want)}")
    if want[1] > have[1] + 1:
        raise VersionError(
            f"v{text(have)} -> v{text(want)} skips a minor: upgrade to the latest {have[0]}.{have[1] + 1}.x first"
        )


def package_version(version: str, revision: str) -> str:
    """`1.33.2` + `1.1` -> `1.33.2-1.1` (the pkgs.k8s.io Debian version)."""
    return f"{text(parse(version))}-{revision}"
