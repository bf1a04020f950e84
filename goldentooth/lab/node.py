"""Lab nodes: an overlay root with its own identity, booted by systemd-nspawn in the node's namespace.

A node is a real systemd (PID 1 of its own) with sshd. It is started detached (own session,
stdin from /dev/null, console to a log file) and stopped by the PID the lab recorded, never by name.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cgroup
from .command import run
from .errors import LabError
from .network import namespace_inode, netns_path
from .state import NodeRecord, Process

CGROUP_JOIN = Path(cgroup.__file__)
READY_TIMEOUT = 60.0
#: Host key types generated per node. No RSA: a 3072-bit key costs about a second of CPU per node
#: (sshd just notes the absent RSA key); every client here negotiates ed25519.
HOST_KEY_TYPES = ("ed25519", "ecdsa")
STOP_TIMEOUT = 10.0
#: nspawn would otherwise copy the host's resolv.conf and timezone into nodes and link journals.
NSPAWN_OPTIONS = ("--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=read-only")


@dataclass(frozen=True)
class Identity:
    """What makes a node itself: written into its overlay before boot."""

    hostname: str
    hosts_file: str
    authorized_key: str
    apt_sources: str
    apt_keyring: bytes | None


def mount_overlay(image_root: Path, directory: Path) -> Path:
    """A fresh overlay of the read-only image at `<directory>/root` (upper and work beside it)."""
    shutil.rmtree(directory, ignore_errors=True)
    for part in ("upper", "work", "root"):
        (directory / part).mkdir(parents=True)
    root = directory / "root"
    options = f"lowerdir={image_root},upperdir={directory / 'upper'},workdir={directory / 'work'}"
    run(["mount", "-t", "overlay", "overlay", "-o", options, str(root)])
    return root


def write_identity(root: Path, identity: Identity) -> list[str]:
    """Machine id, hostname, hosts, fresh SSH host keys, operator key, apt sources; returns the host public keys."""
    (root / "etc" / "machine-id").write_text(uuid.uuid4().hex + "\n")
    (root / "etc" / "hostname").write_text(identity.hostname + "\n")
    (root / "etc" / "hosts").write_text(identity.hosts_file)
    resolv = root / "etc" / "resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.write_text("# lab nodes have no DNS server: names resolve through /etc/hosts\n")
    for keytype in HOST_KEY_TYPES:
        key = root / "etc" / "ssh" / f"ssh_host_{keytype}_key"
        run(["ssh-keygen", "-q", "-t", keytype, "-N", "", "-C", f"root@{identity.hostname}", "-f", str(key)])
    ssh_dir = root / "root" / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(identity.authorized_key.strip() + "\n")
    authorized.chmod(0o600)
    (root / "etc" / "apt" / "sources.list").write_text(identity.apt_sources)
    if identity.apt_keyring is not None:
        keyrings = root / "etc" / "apt" / "keyrings"
        keyrings.mkdir(parents=True, exist_ok=True)
        (keyrings / "goldentooth-lab.asc").write_bytes(identity.apt_keyring)
    return [path.read_text().strip() for path in sorted((root / "etc" / "ssh").glob("ssh_host_*_key.pub"))]


def export_binds(directory: Path, exports: Sequence[Mapping[str, Any]]) -> list[tuple[Path, str]]:
    """One fresh directory per NFS export path, to be bind-mounted there: the export's filesystem.

    A real mount at the export path is what the export guard demands; in the lab it is this
    directory of the node (`<node dir>/exports/<n>`), removed with the node.
    """
    binds = []
    for index, export in enumerate(exports):
        source = directory / "exports" / str(index)
        source.mkdir(parents=True, mode=0o755)
        binds.append((source, str(export["path"])))
    return binds


def boot(record: NodeRecord, root: Path, log_path: Path, cgroups: list[Path],
         binds: Sequence[tuple[Path, str]] = ()) -> Process:
    """Start systemd-nspawn detached, inside the node's own cgroups, with `binds` (source, path) mounted."""
    argv = [
        sys.executable, "-I", "-S", str(CGROUP_JOIN), *map(str, cgroups), "--", "systemd-nspawn", "-q", "-D", str(root), "-b", "-M", record.name, "--register=no", "--keep-unit",
        f"--network-namespace-path={netns_path(record.netns)}", *NSPAWN_OPTIONS,
        *(f"--bind={source}:{path}" for source, path in binds),
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Process.of(process.pid)


def container_init(nspawn_pid: int) -> int:
    """PID of the node's systemd: the child of nspawn living in a new PID namespace (0 until it exists).

    nspawn first forks a helper in its own PID namespace, which then starts the real init; the
    helper is not the node and soon exits.
    """
    try:
        children = Path(f"/proc/{nspawn_pid}/task/{nspawn_pid}/children").read_text(encoding="utf-8").split()
        own = os.stat(f"/proc/{nspawn_pid}/ns/pid").st_ino
    except OSError:
        return 0
    for child in children:
        try:
            if os.stat(f"/proc/{child}/ns/pid").st_ino != own:
                return int(child)
        except OSError:
            continue
    return 0


def wait_ready(record: NodeRecord, log_path: Path, deadline: float) -> int:
    """Wait until the node's systemd reports a finished boot; return the PID of its init."""
    assert record.nspawn is not None
    while time.monotonic() < deadline:
        if not record.nspawn.alive():
            raise LabError(f"node {record.name} exited during boot; console log {log_path}:\n{_tail(log_path)}")
        init_pid = container_init(record.nspawn.pid)
        if init_pid:
            left = max(1, int(deadline - time.monotonic()))
            result = run(["timeout", str(left), "nsenter", "-t", str(init_pid), "-a",
                          "systemctl", "is-system-running", "--wait"], check=False)
            status = result.stdout.strip()
            if status == "running":
                return init_pid
            if status == "degraded":
                raise LabError(f"node {record.name} booted degraded:\n{_failed_units(init_pid)}")
        time.sleep(0.2)
    raise LabError(f"node {record.name} did not finish booting in {READY_TIMEOUT:.0f}s; console log {log_path}")


def _failed_units(init_pid: int) -> str:
    """`systemctl status` of the node's failed units (with their last log lines)."""
    enter = ["nsenter", "-t", str(init_pid), "-a", "systemctl"]
    listing = run([*enter, "--failed", "--no-legend", "--plain"], check=False).stdout
    units = [line.split()[0] for line in listing.splitlines() if line.strip()]
    return run([*enter, "status", "--no-pager", "--lines=8", *units], check=False).stdout.strip()


def system_state(record: NodeRecord) -> str:
    """`systemctl is-system-running` inside the node, or why it cannot be asked."""
    if record.nspawn is None or not record.nspawn.alive():
        return "stopped"
    pid = container_init(record.nspawn.pid)
    if not pid:
        return "starting"
    result = run(["nsenter", "-t", str(pid), "-a", "systemctl", "is-system-running"], check=False)
    return result.stdout.strip() or "unknown"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _reap(pid: int) -> None:
    """Collect the exit status when the node was started by this very process (no zombie left)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def signal_stop(record: NodeRecord) -> None:
    """End a node: SIGKILL to its init ends every process of the node at once, and nspawn then exits.

    Nodes are disposable (their overlay is deleted next), so there is nothing to shut down
    cleanly; an orderly power-off only makes `lab down` slow on a busy machine.
    """
    if record.nspawn is not None and record.nspawn.alive():
        init_pid = container_init(record.nspawn.pid)
        if init_pid:
            kill(init_pid)
        else:
            kill(record.nspawn.pid, signal.SIGTERM)


def wait_stopped(record: NodeRecord, deadline: float) -> None:
    """Wait for the node's nspawn to exit, then kill it and anything still in its namespace."""
    process = record.nspawn
    while process is not None and time.monotonic() < deadline:
        _reap(process.pid)
        if not process.alive():
            break
        time.sleep(0.1)
    if process is not None and process.alive():
        kill(process.pid)
    for pid in pids_in_namespace(record.netns):
        kill(pid)
    while process is not None and process.alive():
        _reap(process.pid)
        time.sleep(0.05)


def kill(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a process the lab identified (by recorded PID or by its namespace); gone is fine."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_process(process: Process, timeout: float = 3.0) -> None:
    """Stop a recorded helper process: SIGTERM, then SIGKILL after `timeout`."""
    if process.alive():
        kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process.alive() and time.monotonic() < deadline:
        _reap(process.pid)
        time.sleep(0.05)
    if process.alive():
        kill(process.pid)
    _reap(process.pid)


def pids_in_namespace(namespace: str) -> list[int]:
    """Every process whose network namespace is this node's (only the node's own processes)."""
    inode = namespace_inode(namespace)
    if inode is None:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.stat(entry / "ns" / "net").st_ino == inode:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def unmount(root: Path) -> None:
    """Unmount a node's overlay (retrying while the last processes let go of it)."""
    for _ in range(50):
        if not is_mounted(root):
            return
        if run(["umount", str(root)], check=False).returncode == 0:
            return
        time.sleep(0.1)
    run(["umount", str(root)])


def is_mounted(path: Path) -> bool:
    target = str(path)
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        return any(line.split()[1] == target for line in mounts)


def mounts_under(directory: Path) -> list[Path]:
    """Mount points at or below a directory (a lab's overlays), deepest first."""
    prefix = str(directory).rstrip("/") + "/"
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1] for line in mounts]
    return [Path(point) for point in sorted(points, reverse=True) if point.startswith(prefix)]
