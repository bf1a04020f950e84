"""Lab: the checks around kubeadm init and joins, on four nodes with the kubeadm stand-ins.

- Init is refused, immediately before `kubeadm init`, when another control plane holds a control
  plane's files (a second, split cluster would be made); nothing is initialised.
- Once that is cleared, init and joins pass their gates against the real HAProxy of the load
  balancer and the etcd membership of the API double; a second run changes nothing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from goldentooth.pyinfra_run import deploy_file, pyinfra_command, run_json

from .conftest import LabRun, booted_lab

NODES = ("allyrion", "bettley", "cargyll", "erenford")
NODE_PATH = ("load_balancer", "containerd", "kubernetes_packages")
SPLIT = ("/etc/kubernetes/admin.conf", "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/manifests/kube-apiserver.yaml")


def ssh(lab: LabRun, node: str, command: str) -> str:
    return subprocess.run(["ssh", "-F", str(lab.ssh_config), node, command], capture_output=True, text=True, check=True).stdout


def kubeadm_calls(lab: LabRun, node: str) -> list[dict]:
    return [json.loads(line) for line in ssh(lab, node, "cat /var/log/kubeadm-double.log 2>/dev/null || true").splitlines()]


@pytest.fixture(scope="module")
def lab() -> Iterator[LabRun]:
    with booted_lab("g", NODES) as run:
        for deploy in NODE_PATH:
            report = run_json(run.inventory, deploy_file(deploy))
            assert not report.failed_hosts, f"{deploy}: {dict(report.failed)}"
        yield run


def test_init_is_refused_while_another_control_plane_holds_cluster_files(lab):
    ssh(lab, "cargyll", "mkdir -p /etc/kubernetes/manifests && touch " + " ".join(SPLIT))
    try:
        result = subprocess.run(pyinfra_command(lab.inventory, "-y", str(deploy_file("kubeadm"))),
                                capture_output=True, text=True, check=False, env=lab.env)
    finally:
        ssh(lab, "cargyll", "rm -f " + " ".join(SPLIT))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "refusing kubeadm init, a cluster may already exist: cargyll has /etc/kubernetes/admin.conf" in output
    assert "cargyll has /etc/kubernetes/manifests/kube-apiserver.yaml" in output
    assert not any(call["command"] == "init" for call in kubeadm_calls(lab, "bettley"))
    assert ssh(lab, "bettley", "ls /etc/kubernetes/admin.conf 2>/dev/null || echo absent").strip() == "absent"


def test_joins_pass_their_gates_and_a_second_run_changes_nothing(lab):
    first = run_json(lab.inventory, deploy_file("kubeadm"))
    assert not first.failed_hosts, dict(first.failed)
    joins = {name: [call for call in kubeadm_calls(lab, name) if call["command"] == "join"] for name in ("cargyll", "erenford")}
    assert all(len(calls) == 1 and calls[0]["exit"] == 0 for calls in joins.values()), joins
    backends = ssh(lab, "allyrion", "sed -n 's/^ *stats auth \\(.*\\)$/user = \"\\1\"/p' /etc/haproxy/haproxy.cfg"
                                    " | curl -sf -K - 'http://127.0.0.1:8404/stats;csv' | cut -d, -f1,2,18")
    assert {"k8s-api-server,bettley,UP", "k8s-api-server,cargyll,UP"} <= set(backends.split())
    second = run_json(lab.inventory, deploy_file("kubeadm"))
    assert not second.failed_hosts and second.change_count == 0, dict(second.changed)
