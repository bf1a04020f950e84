"""What the lab needs on the controller, how to check it, and how to install it (Debian packages)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from .errors import LabError

#: Debian package -> a command it provides (present means installed), for booting nodes.
RUNTIME: dict[str, str] = {
    "debootstrap": "debootstrap",
    "systemd-container": "systemd-nspawn",
    "iproute2": "ip",
    "util-linux": "nsenter",
    "openssh-client": "ssh-keygen",
    "coreutils": "timeout",
}
#: The same for building the lab apt repository. Extend additively.
REPOSITORY: dict[str, str] = {
    "dpkg-dev": "dpkg-scanpackages",
    "apt-utils": "apt-ftparchive",
    "gnupg": "gpg",
}
PACKAGES: dict[str, str] = {**RUNTIME, **REPOSITORY}
#: Kernel limits every node's systemd draws on (each one holds several inotify instances); the
#: defaults (128 instances per user) run out after a dozen nodes across all labs on the machine.
KERNEL_MINIMUMS: dict[str, int] = {
    "fs/inotify/max_user_instances": 8192,
    "fs/inotify/max_user_watches": 524288,
}


def missing(packages: dict[str, str] = PACKAGES) -> list[str]:
    """Packages whose command is not on PATH (sbin included: the lab runs as root)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [package for package, command in packages.items() if shutil.which(command, path=path) is None]


def install(packages: list[str], echo) -> None:
    """apt-get install the packages (after apt-get update), saying what it installs."""
    echo(f"installing: {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]):
        result = subprocess.run(argv, env=env, check=False)
        if result.returncode != 0:
            raise LabError(f"`{' '.join(argv)}` failed (exit {result.returncode})")


def require_root_linux() -> None:
    """The lab creates namespaces and mounts and runs systemd-nspawn: root on Linux only."""
    if platform.system() != "Linux":
        raise LabError("the lab runs on Linux only (network namespaces, overlayfs, systemd-nspawn)")
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, overlay mounts, systemd-nspawn): run it as root")


def require_tools(packages: dict[str, str] = RUNTIME) -> None:
    """Stop with the packages to install when a tool the lab uses is missing."""
    absent = missing(packages)
    if absent:
        commands = ", ".join(PACKAGES[package] for package in absent)
        raise LabError(
            f"missing {commands} (Debian packages: {' '.join(absent)}); install them with "
            f"`apt-get install {' '.join(absent)}` or run `goldentooth lab prerequisites --install`"
        )


def raise_kernel_limits(echo) -> None:
    """Raise the kernel limits below KERNEL_MINIMUMS (never lowers one), saying what changes."""
    for key, minimum in KERNEL_MINIMUMS.items():
        path = Path("/proc/sys") / key
        current = int(path.read_text().strip())
        if current < minimum:
            echo(f"raising {key.replace('/', '.')} from {current} to {minimum} (nodes run systemd)")
            path.write_text(f"{minimum}\n")
