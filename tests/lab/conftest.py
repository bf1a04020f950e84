"""A lab of three nodes shared by the lab tests: booted once through the CLI, removed at the end.

The lab gets its own state directory and name, so it never meets a lab the developer has up in
the same checkout. It serves a small repository tree, so the gateway's HTTP server is exercised.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from goldentooth import PROJECT_ROOT

NODES = ("allyrion", "bettley", "cargyll")
MARKER = "served from the lab gateway\n"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = None
    if platform.system() != "Linux":
        reason = "lab tests need Linux (network namespaces, systemd-nspawn)"
    elif os.geteuid() != 0:
        reason = "lab tests need root (network namespaces, mounts, systemd-nspawn)"
    here = Path(__file__).parent
    for item in (item for item in items if item.path.is_relative_to(here)):
        item.add_marker(pytest.mark.lab)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass(frozen=True)
class LabRun:
    """A lab's state directory and environment, and a way to run `goldentooth` against it."""

    dir: Path
    env: dict[str, str]

    @property
    def name(self) -> str:
        return self.env["GOLDENTOOTH_LAB_NAME"]

    @property
    def ssh_config(self) -> Path:
        return self.dir / "ssh_config"

    @property
    def inventory(self) -> Path:
        return self.dir / "inventory.py"

    def goldentooth(self, *args: str, inventory: Path = PROJECT_ROOT / "inventory.py") -> subprocess.CompletedProcess[str]:
        """`goldentooth -i <inventory> ARGS` in the lab's environment (the repository's inventory by default)."""
        command = [str(Path(sys.executable).with_name("goldentooth")), "-i", str(inventory), *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)


def make_lab(directory: Path, name: str) -> LabRun:
    env = {**os.environ, "GOLDENTOOTH_LAB_DIR": str(directory), "GOLDENTOOTH_LAB_NAME": name}
    return LabRun(directory, env)


@pytest.fixture(scope="session")
def repo_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("repository")
    (tree / "lab-archive-key.asc").write_text("lab key placeholder for the runtime tests\n")
    (tree / "marker.txt").write_text(MARKER)
    return tree


@contextmanager
def lab_directory(tag: str) -> Iterator[tuple[Path, str]]:
    """A fresh state directory and lab name, outside pytest's temporary tree (which other runs prune)."""
    directory = Path(tempfile.mkdtemp(prefix=f"goldentooth-lab-{tag}-", dir="/var/tmp"))
    try:
        yield directory, f"t{tag}{os.getpid() % 100000}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def booted_lab(tag: str, hosts: Iterable[str], *up_options: str) -> Iterator[LabRun]:
    """A fresh lab of `hosts`, taken down (and checked to be down) when the block ends."""
    with lab_directory(tag) as (directory, name):
        run = make_lab(directory, name)
        up = run.goldentooth("lab", "up", "--hosts", ",".join(hosts), *up_options)
        try:
            assert up.returncode == 0, up.stderr + up.stdout
            yield run
        finally:
            down = run.goldentooth("lab", "down")
            assert down.returncode == 0, down.stderr + down.stdout


@pytest.fixture(scope="session")
def lab(repo_tree: Path) -> Iterator[LabRun]:
    with booted_lab("s", NODES, "--repo", str(repo_tree)) as run:
        yield run
