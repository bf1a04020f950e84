"""Serving the lab apt repository: a small HTTP server on the gateway address, in the fabric namespace.

Nodes fetch packages from it instead of upstream registries. The tree itself is built by
goldentooth.lab.repo (`build_repository`); `lab up --no-repo` runs nodes without one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .errors import LabError
from .network import netns_path
from .state import Process

PORT = 80
KEY_FILE = "lab-archive-key.asc"
SUITE = "bookworm"
KEYRING_IN_NODE = "/etc/apt/keyrings/goldentooth-lab.asc"


def build(cache_dir: Path, arch: str, progress) -> Path:
    """Build (or reuse) the repository tree; a clear error when this checkout has no builder."""
    try:
        from .repo import build_repository  # type: ignore[import-not-found]
    except ModuleNotFoundError as error:
        if error.name != f"{__package__}.repo":
            raise
        raise LabError("this checkout has no lab repository builder (goldentooth/lab/repo.py): "
                       "pass --repo DIR to serve a built tree, or --no-repo to run nodes without one") from None
    return Path(build_repository(cache_dir, arch, progress=progress))


def check_tree(tree: Path) -> None:
    if not (tree / KEY_FILE).is_file():
        raise LabError(f"{tree} is not a lab repository tree (no {KEY_FILE} at its root)")


def debian_versions(tree: Path | None, arch: str, fallback: dict[str, str]) -> dict[str, str]:
    """Versions of packages in the tree's Debian index (deploys pin them); `fallback` without a tree."""
    versions = dict(fallback)
    index = tree / "debian" / "dists" / SUITE / "main" / f"binary-{arch}" / "Packages" if tree else None
    if index is None or not index.is_file():
        return versions
    for stanza in index.read_text(encoding="utf-8").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line[0].isspace())
        if fields.get("Package") in versions:
            versions[fields["Package"]] = fields["Version"]
    return versions


def url(gateway: str) -> str:
    return f"http://{gateway}" if PORT == 80 else f"http://{gateway}:{PORT}"


def node_sources(debian_apt_url: str | None) -> str:
    """The nodes' /etc/apt/sources.list: Debian from the lab repository, or nothing without one."""
    if debian_apt_url is None:
        return "# This lab runs without a package repository (`goldentooth lab up --no-repo`).\n"
    return f"deb [signed-by={KEYRING_IN_NODE}] {debian_apt_url} {SUITE} main\n"


def start(fabric: str, gateway: str, tree: Path, log_path: Path) -> Process:
    """Start the HTTP server inside the fabric namespace and wait until it listens."""
    argv = [
        "nsenter", f"--net={netns_path(fabric)}", sys.executable, "-I", "-m", "http.server",
        "--bind", gateway, "--directory", str(tree), str(PORT),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    record = Process.of(process.pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabError(f"the lab repository server exited: {log_path.read_text(errors='replace')[-2000:]}")
        if _listening(process.pid, gateway):
            return record
        time.sleep(0.05)
    raise LabError(f"the lab repository server did not listen on {gateway}:{PORT} within 10s")


def _listening(pid: int, gateway: str) -> bool:
    """Whether the process's namespace has a TCP listener on gateway:PORT (/proc/PID/net/tcp)."""
    octets = gateway.split(".")
    wanted = "".join(f"{int(octet):02X}" for octet in reversed(octets)) + f":{PORT:04X}"
    try:
        lines = Path(f"/proc/{pid}/net/tcp").read_text(encoding="utf-8").splitlines()[1:]
    except OSError:
        return False
    return any(line.split()[1] == wanted and line.split()[3] == "0A" for line in lines)
