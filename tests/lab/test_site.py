"""The main job on the whole lab: every inventory host booted, deploys/site.py converged, the health
suites passing, and a second run that changes nothing and restarts nothing.

This is what `./scripts/lab` does, with assertions: SSH certificates, the Kubernetes cluster (node
base, load balancer, containerd, the GPU node without a driver, packages, kubeadm with its
stand-ins) and storage (NFS exports from the lab's real mounts, automounts, Sanoid and Syncoid
without ZFS packages) on 13 nodes over real SSH.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from goldentooth import PROJECT_ROOT
from goldentooth.inventory import load_inventory
from goldentooth.pyinfra_run import RunReport, deploy_file, run_json

from .conftest import LabRun, lab_directory, make_lab

#: Services whose main process a converged re-run must leave alone (present or not on a node).
SERVICES = ("containerd.service", "haproxy.service", "ssh.service")
PROBE = f"systemctl show -p Id -p ExecMainStartTimestampMonotonic {' '.join(SERVICES)}"


@dataclass(frozen=True)
class Site:
    lab: LabRun
    hosts: tuple[str, ...]
    first: RunReport


def on_node(lab: LabRun, name: str, command: str) -> str:
    result = subprocess.run(["ssh", "-F", str(lab.ssh_config), "-o", "BatchMode=yes", name, command],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{name}: {command}: {result.stderr}"
    return result.stdout.strip()


def start_times(site: Site) -> dict[str, str]:
    """Per node, `systemctl show` of the watched services' main process start times."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(site.hosts, pool.map(lambda name: on_node(site.lab, name, PROBE), site.hosts)))


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with lab_directory("site") as (directory, name):
        lab = make_lab(directory, name)
        up = lab.goldentooth("lab", "up")
        try:
            assert up.returncode == 0, up.stderr + up.stdout
            hosts = tuple(load_inventory(lab.inventory).hosts)
            yield Site(lab, hosts, run_json(lab.inventory, deploy_file("site")))
        finally:
            down = lab.goldentooth("lab", "down")
            assert down.returncode == 0, down.stderr


def test_site_converges_every_lab_node(site: Site) -> None:
    assert len(site.hosts) == 13
    assert site.first.failed_hosts == [], dict(site.first.failed)
    assert site.first.totals.get("error") == 0
    assert set(site.first.changed) == set(site.hosts)


def test_health_suites_pass(site: Site) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("goldentooth")), "-i", str(site.lab.inventory), "test"],
        env=site.lab.env, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout + result.stderr


def test_second_run_changes_nothing_and_restarts_nothing(site: Site) -> None:
    before = start_times(site)
    assert all("ExecMainStartTimestampMonotonic=" in text for text in before.values())
    second = run_json(site.lab.inventory, deploy_file("site"))
    assert second.failed_hosts == [], dict(second.failed)
    assert second.totals.get("success") == 0, dict(second.changed)
    assert start_times(site) == before
