"""Independent checks that a lab left nothing behind (read from the kernel, not from the lab's state)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def namespaces(name: str) -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listing.splitlines() if line.startswith(f"gt-{name}-")]


def mounts(directory: Path) -> list[str]:
    prefix = str(directory)
    return [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
            if line.split()[1].startswith(prefix)]


def processes(directory: Path) -> list[str]:
    """Processes whose command line mentions the lab's directory (its nspawns, servers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(directory) in cmdline and state != "Z":
            found.append(f"{entry.name} {cmdline.strip()}")
    return found


def route_holders(name: str) -> list[str]:
    routes = Path("/run/goldentooth/lab/routes")
    return [str(path) for path in routes.glob(f"*/{name}")] if routes.is_dir() else []


def everything(name: str, directory: Path, *served: Path) -> list[str]:
    left = namespaces(name) + mounts(directory) + processes(directory) + route_holders(name) + cgroups(name)
    for tree in served:
        left += processes(tree)
    return left


def cgroups(name: str) -> list[str]:
    return [str(path) for path in Path("/sys/fs/cgroup").glob(f"**/goldentooth-lab/{name}")]
