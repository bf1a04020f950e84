"""Lab: the kubeadm lifecycle on 13 nodes with the kubeadm/kubectl stand-ins, over real SSH.

A fresh lab is booted, the node path converged (load balancer, containerd, Kubernetes packages),
then the kubeadm deploy runs twice, and a patch upgrade is interrupted on a worker and resumed.
The stand-ins log every kubeadm call to /var/log/kubeadm-double.log on each node; the tests read
those logs. Needs root, the lab runtime and the lab repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from goldentooth import PROJECT_ROOT
from goldentooth.pki import x509 as pki
from goldentooth.inventory import load_inventory
from goldentooth.lifecycle.upgrade import node_order
from goldentooth.pyinfra_run import deploy_file, run_json

NODE_PATH = ("load_balancer", "containerd", "kubernetes_packages")
NEEDS = [PROJECT_ROOT / "goldentooth" / "cli" / "lab.py", PROJECT_ROOT / "goldentooth" / "lab" / "doubles" / "kubeadm.py",
         *(PROJECT_ROOT / "deploys" / f"{name}.py" for name in NODE_PATH)]
MISSING = [str(path.relative_to(PROJECT_ROOT)) for path in NEEDS if not path.exists()]
INJECT = "/var/lib/kubeadm-double/inject-failure"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="lab tests need root"),
    pytest.mark.skipif(bool(MISSING), reason=f"this checkout lacks {', '.join(MISSING)}"),
]


class Lab:
    def __init__(self, directory: Path):
        self.dir = directory
        self.env = {**os.environ, "GOLDENTOOTH_LAB_DIR": str(directory), "GOLDENTOOTH_LAB_NAME": "kadm"}

    def goldentooth(self, *args: str, inventory: bool = False) -> subprocess.CompletedProcess[str]:
        prefix = ["-i", str(self.dir / "inventory.py")] if inventory else []
        command = [str(Path(sys.executable).with_name("goldentooth")), *prefix, *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)

    def ssh(self, node: str, command: str) -> str:
        return subprocess.run(["ssh", "-F", str(self.dir / "ssh_config"), node, command],
                              capture_output=True, text=True, check=True).stdout

    def calls(self, node: str) -> list[dict]:
        return [json.loads(line) for line in self.ssh(node, "cat /var/log/kubeadm-double.log 2>/dev/null || true").splitlines()]

    def deploy(self, name: str):
        return run_json(self.dir / "inventory.py", deploy_file(name))


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    lab = Lab(Path(tempfile.mkdtemp(prefix="goldentooth-kubeadm-lab-")))
    try:
        up = lab.goldentooth("lab", "up")
        assert up.returncode == 0, up.stdout + up.stderr
        for name in NODE_PATH:
            report = lab.deploy(name)
            assert not report.failed_hosts, f"{name}: {dict(report.failed)}"
        yield lab
    finally:
        down = lab.goldentooth("lab", "down")
        shutil.rmtree(lab.dir, ignore_errors=True)
        assert down.returncode == 0, down.stdout + down.stderr


@pytest.fixture(scope="module")
def cluster(lab):
    return load_inventory(lab.dir / "inventory.py")


@pytest.fixture(scope="module")
def bootstrapped(lab):
    report = lab.deploy("kubeadm")
    assert not report.failed_hosts, dict(report.failed)
    return report


def test_bootstrap_inits_once_and_joins_pinned_to_the_real_ca(lab, cluster, bootstrapped):
    ca_hash = pki.ca_cert_hash(lab.ssh("bettley", "cat /etc/kubernetes/pki/ca.crt"))
    calls = {name: lab.calls(name) for name in cluster.names("k8s_cluster")}
    inits = [(name, call) for name, entries in calls.items() for call in entries if call["command"] == "init"]
    assert [name for name, _ in inits] == ["bettley"]
    joins = sorted((call["time"], name, call) for name, entries in calls.items() for call in entries if call["command"] == "join")
    assert {name for _, name, _ in joins} == set(cluster.names("k8s_cluster")) - {"bettley"}
    assert all(call["exit"] == 0 and call["ca_cert_hash"] == ca_hash for _, _, call in joins)
    control = [name for _, name, call in joins if call["control_plane"]]
    assert control == ["cargyll", "dalt"], "control planes join one at a time, in group order"
    first_worker = min(time for time, name, call in joins if not call["control_plane"])
    assert inits[0][1]["time"] <= min(time for time, *_ in joins) and max(
        time for time, name, call in joins if call["control_plane"]) <= first_worker
    assert not any(call["command"] == "reset" for entries in calls.values() for call in entries)
    velaryon = json.loads(lab.ssh("bettley", "kubectl --kubeconfig /etc/kubernetes/admin.conf get node velaryon -o json"))
    assert {"gpu": "true", "arch": "amd64"}.items() <= velaryon["metadata"]["labels"].items()
    assert {"key": "gpu", "value": "true", "effect": "NoSchedule"} in velaryon["spec"]["taints"]


def test_second_run_changes_nothing_and_calls_no_kubeadm(lab, cluster, bootstrapped):
    before = {name: len(lab.calls(name)) for name in cluster.names("k8s_cluster")}
    report = lab.deploy("kubeadm")
    assert not report.failed_hosts and report.change_count == 0, dict(report.changed)
    assert {name: len(lab.calls(name)) for name in cluster.names("k8s_cluster")} == before


def test_patch_upgrade_stops_at_an_injected_failure_and_resumes(lab, cluster, bootstrapped):
    order = node_order(cluster)
    lab.ssh("fenn", f"mkdir -p {Path(INJECT).parent} && echo 'upgrade node' > {INJECT}")
    stopped = lab.goldentooth("upgrade", "--to", "1.32.7", "-y", inventory=True)
    assert stopped.returncode == 1 and "stopped at fenn" in stopped.stderr, stopped.stdout + stopped.stderr
    after = order[order.index("fenn") + 1:]
    assert all(lab.ssh(name, "dpkg-query -W -f='${Version}' kubeadm") == "1.32.3-1.1" for name in after)
    lab.ssh("fenn", f"rm {INJECT}")
    resumed = lab.goldentooth("upgrade", "--to", "1.32.7", "--resume", "-y", inventory=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    upgrades = sorted((call["time"], name, call["argv"][1]) for name in order for call in lab.calls(name)
                      if call["command"] in ("upgrade apply", "upgrade node") and call["exit"] == 0)
    assert [(name, kind) for _, name, kind in upgrades] == [("bettley", "apply")] + [(name, "node") for name in order[1:]]
    for name in order:
        assert lab.ssh(name, "dpkg-query -W -f='${Version} ' kubeadm kubelet kubectl").split() == ["1.32.7-1.1"] * 3
        assert set(lab.ssh(name, "apt-mark showhold").split()) >= {"kubeadm", "kubelet", "kubectl"}
