"""A cgroup of its own for every node, so nodes (of any lab) never share one.

Without a systemd on the host, nspawn (`--keep-unit`) puts the node below the cgroup of whoever
started it: every node would land in the same `/payload` cgroup, and each node's systemd would
create and remove the others' unit cgroups (units then fail with status 219/CGROUP). So each
nspawn is started in `goldentooth-lab/<lab>/<node>` of the systemd-managed hierarchies, and the
tree is removed when the lab goes down.

Run as a program (`python3 cgroup.py DIR... -- COMMAND...`), it joins the given cgroup
directories and execs COMMAND: the node's nspawn starts inside its cgroup from its first instruction.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
TOP = "goldentooth-lab"


def hierarchies() -> list[Path]:
    """Cgroup hierarchies systemd manages: the unified one, and name=systemd on hybrid hosts."""
    if (ROOT / "cgroup.controllers").exists():
        return [ROOT]
    return [ROOT / name for name in ("systemd", "unified") if (ROOT / name / "cgroup.procs").exists()]


def node_cgroups(lab: str, node: str) -> list[Path]:
    """Create (if needed) and return the node's cgroup directories."""
    directories = [hierarchy / TOP / lab / node for hierarchy in hierarchies()]
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
    return directories


def lab_cgroups(lab: str) -> list[Path]:
    """The lab's cgroup trees that exist."""
    return [hierarchy / TOP / lab for hierarchy in hierarchies() if (hierarchy / TOP / lab).is_dir()]


def remove_lab_cgroups(lab: str) -> None:
    """Remove the lab's cgroup trees, deepest first, once their last processes have left them."""
    for tree in lab_cgroups(lab):
        for directory, _, _ in sorted(os.walk(tree), key=lambda entry: entry[0].count("/"), reverse=True):
            for attempt in range(50):
                try:
                    os.rmdir(directory)
                    break
                except OSError:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)


def main(argv: list[str]) -> None:
    split = argv.index("--")
    for directory in argv[:split]:
        Path(directory, "cgroup.procs").write_text(f"{os.getpid()}\n")
    os.execvp(argv[split + 1], argv[split + 1:])


if __name__ == "__main__":
    main(sys.argv[1:])
