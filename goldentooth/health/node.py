"""Connections to inventory hosts for health checks: testinfra hosts over OpenSSH.

Lab hosts carry `ssh_config_file` in their data (written by `goldentooth lab up`). For real hosts
an ssh_config is generated (spec 99-verification.md §3.2): root, the operator key, the host CA's
known_hosts with strict checking, and connection sharing (testinfra's ssh backend opens a new
connection per command without a ControlPath).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testinfra.backend.base import CommandResult
from testinfra.backend.ssh import SshBackend
from testinfra.host import Host as TestinfraHost

from ..model import Cluster, Host


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def ssh_ca_known_hosts() -> Path:
    """The operator's `@cert-authority` known_hosts in the SSH CA directory (spec 90 §1):
    $GOLDENTOOTH_SSH_CA_DIR, else ${XDG_DATA_HOME:-~/.local/share}/goldentooth/ssh-ca."""
    explicit = os.environ.get("GOLDENTOOTH_SSH_CA_DIR")
    directory = Path(explicit).expanduser() if explicit else _data_home() / "goldentooth" / "ssh-ca"
    return directory / "known_hosts"


def _value(text: str) -> str:
    return f'"{text}"' if any(char.isspace() for char in text) else text


def render_ssh_config(hosts: list[Host], known_hosts: Path, control_dir: Path) -> str:
    """ssh_config with one `Host` block per inventory host (pyinfra's ssh_* data keys honoured)."""
    blocks = []
    for host in hosts:
        key = Path(os.path.expanduser(str(host.get("ssh_key") or "~/.ssh/id_ed25519")))
        lines = [
            f"Host {host.name}",
            f"    HostName {host.address}",
            f"    User {host.get('ssh_user') or 'root'}",
            *([f"    Port {int(host.get('ssh_port'))}"] if host.get("ssh_port") else []),
            f"    IdentityFile {_value(str(key))}",
            "    IdentitiesOnly yes",
            f"    UserKnownHostsFile {_value(str(known_hosts))}",
            "    StrictHostKeyChecking yes",
            "    ControlMaster auto",
            f"    ControlPath {_value(str(control_dir / 'cm-%C'))}",
            "    ControlPersist 60s",
        ]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _write_once(path: Path, text: str) -> None:
    """Create a file atomically unless it exists (its name is derived from its content)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ssh_config.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def ssh_config_for(cluster: Cluster, name: str, cache: Path | None = None) -> Path:
    """The ssh_config to reach a host: its own `ssh_config_file`, else one generated for the cluster."""
    host = cluster.host(name)
    if host.get("ssh_config_file"):
        return Path(str(host.get("ssh_config_file")))
    directory = (cache or _cache_home()) / "goldentooth" / "ssh"
    generated = [each for each in cluster.hosts.values() if not each.get("ssh_config_file")]
    text = render_ssh_config(generated, ssh_ca_known_hosts(), directory)
    path = directory / f"ssh_config-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    _write_once(path, text)
    return path


@contextmanager
def _host_lock(config: str, name: str) -> Iterator[None]:
    """An exclusive lock per (ssh_config, host) shared by every process of this user."""
    directory = Path(tempfile.gettempdir()) / f"goldentooth-ssh-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    digest = hashlib.sha256(f"{config}\0{name}".encode()).hexdigest()[:16]
    with open(directory / f"{digest}.lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class SharedSshBackend(SshBackend):
    """testinfra's OpenSSH backend whose first command to a host runs under a per-host lock.

    That command opens the shared connection (ControlMaster, ControlPersist) that every later
    command reuses. Without the lock, parallel workers starting at once each open their own
    connection to the same host: dozens of simultaneous handshakes, seconds each on a busy
    controller.
    """

    shared = False

    def run(self, command: str, *args: str, **kwargs: Any) -> CommandResult:
        if self.shared:
            return super().run(command, *args, **kwargs)
        with _host_lock(str(self.ssh_config), self.host.name):
            result = super().run(command, *args, **kwargs)
        self.shared = True
        return result


@functools.cache
def _testinfra_host(name: str, ssh_config: str) -> TestinfraHost:
    backend = SharedSshBackend(name, ssh_config=ssh_config)
    host = TestinfraHost(backend)
    backend.set_host(host)
    return host


class Node:
    """A testinfra host with the inventory host it stands for.

    Everything testinfra offers (`run`, `check_output`, `file`, `service`...) is delegated;
    `name`, `inventory` (the model Host) and `data` (its merged data) come from the inventory.
    """

    def __init__(self, host: Host, backend: Any):
        self.name = host.name
        self.inventory = host
        self.data: Mapping[str, Any] = host.data
        self._testinfra = backend

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._testinfra, attribute)

    def __repr__(self) -> str:
        return f"<Node {self.name}>"


def connect(cluster: Cluster, name: str) -> Node:
    """A Node for an inventory host (no connection is made until the first command)."""
    config = ssh_config_for(cluster, name)
    return Node(cluster.host(name), _testinfra_host(name, str(config)))
