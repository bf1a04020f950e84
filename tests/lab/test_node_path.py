"""The Kubernetes node path on lab nodes: converge, health checks, a second run changing nothing,
and an invalid HAProxy configuration (from data) that never replaces the running one.

Boots the load balancer, one control plane and one worker from the real lab repository.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from goldentooth import PROJECT_ROOT
from goldentooth.inventory import load_inventory

from .conftest import LabRun, booted_lab

NODES = ("allyrion", "bettley", "fenn")
# The node path alone (the kubeadm phases have their own lab test): each capability's entry file.
DEPLOY = ("deploys/node_base.py", "deploys/load_balancer.py", "deploys/containerd.py", "deploys/kubernetes_packages.py")
HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"


@pytest.fixture(scope="module")
def node_lab() -> Iterator[LabRun]:
    with booted_lab("np", NODES) as run:
        yield run


def pyinfra(lab: LabRun, inventory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("pyinfra")), str(inventory), *args]
    return subprocess.run(command, env=lab.env, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)


def report(result: subprocess.CompletedProcess[str]) -> dict:
    start = result.stdout.find("{")
    assert start >= 0, result.stderr[-3000:]
    return json.loads(result.stdout[start:])


def on_node(lab: LabRun, name: str, command: str) -> str:
    result = lab.goldentooth("lab", "ssh", name, "--", command)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def converged(node_lab: LabRun) -> LabRun:
    first = pyinfra(node_lab, node_lab.inventory, "-y", "--json", *DEPLOY)
    results = report(first)["results"]
    assert first.returncode == 0 and results["failed_hosts"] == [], first.stderr[-3000:]
    assert results["totals"]["success"] > 0
    return node_lab


def test_health_suites_pass(converged: LabRun) -> None:
    if not (PROJECT_ROOT / "tests/health/conftest.py").exists():
        pytest.skip("the health check framework (tests/health/conftest.py) is not in this checkout")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/health",
               "--inventory", str(converged.inventory),
               "--capability", "node_base,haproxy,containerd,kubernetes_node"]
    result = subprocess.run(command, env=converged.env, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stdout[-5000:]
    assert re.search(r"\d+ passed", result.stdout)


def test_second_run_changes_nothing_and_restarts_nothing(converged: LabRun) -> None:
    units = "containerd.service haproxy.service"
    probe = f"systemctl show -p ExecMainStartTimestampMonotonic -p MainPID {units} 2>/dev/null"
    before = {name: on_node(converged, name, probe) for name in NODES}
    plan = report(pyinfra(converged, converged.inventory, "--dry", "--json", *DEPLOY))["plan"]
    assert [op["name"] for op in plan if op["hosts_with_change"]] == []
    second = pyinfra(converged, converged.inventory, "-y", "--json", *DEPLOY)
    results = report(second)["results"]
    assert results["failed_hosts"] == [] and results["totals"]["error"] == 0
    changed = [(op["name"], op["success"]) for op in results["operations"] if op["success"]]
    assert results["totals"]["success"] == 0, changed
    assert {name: on_node(converged, name, probe) for name in NODES} == before


def test_docker_pin_blocks_a_configured_docker_repository(converged: LabRun) -> None:
    """BASE-6 with Docker's repository present (the lab's fixture repository): no candidate for
    Docker Engine, while the same lists without the pin offer one, so the pin is what blocks it."""
    url = load_inventory(converged.inventory).host("bettley").get("docker_apt_url").format(os_id="debian")
    source = "/etc/apt/sources.list.d/docker-fixture.sources"
    setup = (f"printf 'Types: deb\\nURIs: {url}\\nSuites: bookworm\\nComponents: stable\\n"
             f"Signed-By: /etc/apt/keyrings/goldentooth-lab.asc\\n' > {source} && apt-get update -qq")
    try:
        on_node(converged, "bettley", setup)
        pinned = on_node(converged, "bettley", "apt-cache policy docker-ce docker-ce-cli")
        unpinned = on_node(converged, "bettley",
                           "mkdir -p /tmp/no-pins && apt-cache -o Dir::Etc::PreferencesParts=/tmp/no-pins policy docker-ce")
    finally:
        on_node(converged, "bettley", f"rm -f {source} && apt-get update -qq")
    assert [line.split()[-1] for line in pinned.splitlines() if "Candidate:" in line] == ["(none)", "(none)"], pinned
    assert "Candidate: (none)" not in unpinned and "Candidate:" in unpinned, unpinned


def inventory_with(lab: LabRun, tmp_path: Path, name: str, data: str) -> Path:
    """A copy of the lab inventory whose cluster-wide data has `data` (Python assignments) appended."""
    group_data = tmp_path / f"group_data-{name}"
    shutil.copytree(PROJECT_ROOT / "group_data", group_data)
    with (group_data / "all.py").open("a") as all_data:
        all_data.write(f"\n{data}\n")
    inventory = lab.dir / f"inventory-{name}.py"
    text = lab.inventory.read_text()
    inventory.write_text(re.sub(r"group_data_dir='[^']*'", f"group_data_dir='{group_data}'", text))
    return inventory


def test_changing_a_held_version_works(converged: LabRun, tmp_path: Path) -> None:
    """Data moves an unjoined node to another patch release and back; the packages stay held."""
    versions = "dpkg-query -W -f '${Package} ${Version} ${Status}\\n' kubeadm kubelet kubectl"
    for version in ("1.32.7", "1.32.3"):
        inventory = inventory_with(converged, tmp_path, f"k8s-{version}", f'kubernetes_version = "{version}"')
        try:
            result = pyinfra(converged, inventory, "-y", "--limit", "fenn", "deploys/kubernetes_packages.py")
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        finally:
            inventory.unlink()
        lines = sorted(on_node(converged, "fenn", versions).splitlines())
        assert lines == [f"{name} {version}-1.1 hold ok installed" for name in ("kubeadm", "kubectl", "kubelet")]


def test_invalid_haproxy_config_never_replaces_the_running_one(converged: LabRun, tmp_path: Path) -> None:
    # A backend option HAProxy rejects ("inter 2 s"), given through data that passes validation.
    broken = inventory_with(converged, tmp_path, "broken-haproxy", 'haproxy_check_inter = "2 s"')
    state = f"sha256sum {HAPROXY_CFG}; systemctl show -p MainPID -p ExecMainStartTimestampMonotonic haproxy.service"
    before = on_node(converged, "allyrion", state)
    try:
        result = pyinfra(converged, broken, "-y", "deploys/load_balancer.py")
        assert result.returncode != 0
        assert "haproxy" in (result.stdout + result.stderr) and "ALERT" in (result.stdout + result.stderr)
        assert on_node(converged, "allyrion", state) == before
        assert on_node(converged, "allyrion", "systemctl is-active haproxy.service") == "active"
        assert on_node(converged, "allyrion", f"test -f {HAPROXY_CFG}.candidate && echo kept") == "kept"
    finally:
        broken.unlink()
    repaired = pyinfra(converged, converged.inventory, "-y", "--json", "deploys/load_balancer.py")
    assert report(repaired)["results"]["failed_hosts"] == []
    assert on_node(converged, "allyrion", f"test -e {HAPROXY_CFG}.candidate || echo gone") == "gone"
    assert on_node(converged, "allyrion", state) == before
