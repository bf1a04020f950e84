"""Where a lab keeps its files and what it records about the kernel objects and processes it made.

A lab lives in a state directory (`<repo>/.lab/` by default, $GOLDENTOOTH_LAB_DIR overrides) and
has a short name ($GOLDENTOOTH_LAB_NAME, else derived from the directory) that prefixes every
namespace it creates, so several labs (one per git worktree) run side by side. Everything the lab
starts or creates is recorded in state.json *before* it is relied on, so `lab down` (and the
clean-up after a failed `lab up`) removes exactly what exists.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import PROJECT_ROOT
from .errors import LabError


def state_dir() -> Path:
    """$GOLDENTOOTH_LAB_DIR, else `.lab/` in the project."""
    return Path(os.environ.get("GOLDENTOOTH_LAB_DIR") or PROJECT_ROOT / ".lab").resolve()


def lab_name(directory: Path) -> str:
    """$GOLDENTOOTH_LAB_NAME, else `<dir of the state dir>-<hash>` cut to 16 safe characters."""
    explicit = os.environ.get("GOLDENTOOTH_LAB_NAME")
    if explicit:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,15}", explicit):
            raise LabError(f"GOLDENTOOTH_LAB_NAME={explicit!r} must be 1-16 of a-z, 0-9 and '-'")
        return explicit
    base = re.sub(r"[^a-z0-9-]+", "-", directory.parent.name.lower()).strip("-")[:11] or "lab"
    return f"{base}-{hashlib.sha256(str(directory).encode()).hexdigest()[:4]}"


@dataclass
class Process:
    """A process the lab started, identified by PID and kernel start time (PIDs are reused)."""

    pid: int
    start_time: str

    @classmethod
    def of(cls, pid: int) -> Process:
        return cls(pid, read_start_time(pid) or "")

    def alive(self) -> bool:
        return bool(self.start_time) and read_start_time(self.pid) == self.start_time


def read_start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks); None when the process is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


@dataclass
class NodeRecord:
    """One node: its namespace, overlay and processes."""

    name: str
    address: str
    netns: str
    mounted: str = ""
    nspawn: Process | None = None
    init_pid: int = 0


@dataclass
class LabState:
    """What one lab has made; persisted as JSON after every change."""

    name: str
    inventory: str = ""
    hosts: list[str] = field(default_factory=list)
    cidr: str = ""
    gateway: str = ""
    image: str = ""
    fabric: str = ""
    httpd: Process | None = None
    repository: str = ""
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    ready: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        raw: dict[str, Any] = json.loads(text)
        raw["httpd"] = Process(**raw["httpd"]) if raw.get("httpd") else None
        nodes = {}
        for name, node in raw.get("nodes", {}).items():
            node["nspawn"] = Process(**node["nspawn"]) if node.get("nspawn") else None
            nodes[name] = NodeRecord(**node)
        raw["nodes"] = nodes
        return cls(**raw)


class Lab:
    """The files of one lab's state directory."""

    def __init__(self, directory: Path | None = None):
        self.dir = directory or state_dir()
        self.name = lab_name(self.dir)
        self.state_file = self.dir / "state.json"
        self.ssh_config = self.dir / "ssh_config"
        self.known_hosts = self.dir / "known_hosts"
        self.key = self.dir / "id_ed25519"
        self.inventory = self.dir / "inventory.py"
        self.secrets = self.dir / "secrets.yaml"
        self.ssh_ca = self.dir / "ssh-ca"
        self.nodes_dir = self.dir / "nodes"
        self.logs_dir = self.dir / "logs"
        #: Control sockets live in /run: a socket path must stay under ~100 bytes.
        self.run_dir = Path("/run/goldentooth/lab") / self.name

    @property
    def prefix(self) -> str:
        """Prefix of this lab's namespace names."""
        return f"gt-{self.name}"

    def load(self) -> LabState | None:
        if not self.state_file.is_file():
            return None
        return LabState.from_json(self.state_file.read_text(encoding="utf-8"))

    def save(self, state: LabState) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        scratch = self.state_file.with_suffix(".tmp")
        scratch.write_text(state.to_json(), encoding="utf-8")
        scratch.replace(self.state_file)

    def forget(self) -> None:
        self.state_file.unlink(missing_ok=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold this lab's lock: one `up`/`down` at a time per lab."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "lock", "w", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
