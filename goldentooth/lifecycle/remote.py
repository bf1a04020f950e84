"""Remote execution for lifecycle commands: OpenSSH with the inventory's connection data.

The only module that opens connections for lifecycle commands. It uses the same settings pyinfra
uses: `ssh_config_file` (the lab's generated ssh_config), `ssh_user` (default root), `ssh_port`
and `ssh_key`; strict host key checking is never relaxed.
"""

from __future__ import annotations

import subprocess

from ..model import Cluster
from .engine import Result

DEFAULT_TIMEOUT = 900


class SshExecutor:
    """Runs a shell command on an inventory host (or a named host no longer in data) over ssh."""

    def __init__(self, cluster: Cluster, ssh_binary: str = "ssh"):
        self.cluster = cluster
        self.ssh_binary = ssh_binary

    def argv(self, host: str, command: str) -> list[str]:
        # A host already removed from data (node remove) uses the connection settings of the others.
        known = self.cluster.hosts.get(host) or next(iter(self.cluster.hosts.values()))
        data = known.data
        argv = [self.ssh_binary, "-o", "BatchMode=yes"]
        if data.get("ssh_config_file"):
            argv += ["-F", str(data["ssh_config_file"])]
        if data.get("ssh_port"):
            argv += ["-p", str(data["ssh_port"])]
        if data.get("ssh_key"):
            argv += ["-i", str(data["ssh_key"])]
        argv += ["-l", str(data.get("ssh_user") or "root"), host, command]
        return argv

    def run(self, host: str, command: str, timeout: int | None = None) -> Result:
        try:
            done = subprocess.run(
                self.argv(host, command), capture_output=True, text=True, timeout=timeout or DEFAULT_TIMEOUT, check=False,
            )
        except subprocess.TimeoutExpired:
            return Result(124, "", f"timed out after {timeout or DEFAULT_TIMEOUT}s")
        return Result(done.returncode, done.stdout, done.stderr)
