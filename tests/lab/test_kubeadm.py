"""Lab: the kubeadm lifecycle on 13 nodes with the kubeadm/kubectl stand-ins, over real SSH.

A fresh lab is booted, the node path converged (load balancer, containerd, Kubernetes packages),
then the kubeadm deploy runs twice, a patch upgrade is interrupted on a worker and resumed, Calico
is moved to v3.30 and the cluster upgraded a minor (1.33), and the certificates are renewed.
The stand-ins log every kubeadm call to /var/log/kubeadm-double.log on each node; the tests read
those logs. Needs root, the lab runtime and the lab repository. The lab's name is
$GOLDENTOOTH_LAB_NAME when set (kadm otherwise).
"""

from __future__ import annotations

import json
import os
import re
import shlex
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
        self.env = {**os.environ, "GOLDENTOOTH_LAB_DIR": str(directory),
                    "GOLDENTOOTH_LAB_NAME": os.environ.get("GOLDENTOOTH_LAB_NAME", "kadm")}

    def goldentooth(self, *args: str, inventory: bool | Path = False) -> subprocess.CompletedProcess[str]:
        chosen = inventory if isinstance(inventory, Path) else self.dir / "inventory.py"
        prefix = ["-i", str(chosen)] if inventory else []
        command = [str(Path(sys.executable).with_name("goldentooth")), *prefix, *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)

    def ssh(self, node: str, command: str) -> str:
        return subprocess.run(["ssh", "-F", str(self.dir / "ssh_config"), node, command],
                              capture_output=True, text=True, check=True).stdout

    def calls(self, node: str) -> list[dict]:
        return [json.loads(line) for line in self.ssh(node, "cat /var/log/kubeadm-double.log 2>/dev/null || true").splitlines()]

    def deploy(self, name: str, inventory: Path | None = None):
        return run_json(inventory or self.dir / "inventory.py", deploy_file(name))

    def inventory_with(self, label: str, data: dict) -> Path:
        """The lab inventory with `data` over every host, as an operator's change of data would be."""
        text = (self.dir / "inventory.py").read_text()
        assert text.endswith("\n))\n")
        derived = self.dir / f"inventory-{label}.py"
        derived.write_text(text[: -len("))\n")] + f"    data={data!r},\n))\n")
        return derived

    def kubectl(self, *args: str) -> str:
        return self.ssh("bettley", shlex.join(["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", *args]))

    def upgrades(self, names: list[str], target: str) -> list[tuple[str, str]]:
        """Successful `kubeadm upgrade apply|node` calls for `target`, in time order."""
        calls = sorted((call["time"], name, call["argv"][1]) for name in names for call in self.calls(name)
                       if call["command"] in ("upgrade apply", "upgrade node") and call["exit"] == 0
                       and call.get("target") == target)
        return [(name, kind) for _, name, kind in calls]


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
    assert lab.upgrades(order, "v1.32.7") == [("bettley", "apply")] + [(name, "node") for name in order[1:]]
    for name in order:
        assert lab.ssh(name, "dpkg-query -W -f='${Version} ' kubeadm kubelet kubectl").split() == ["1.32.7-1.1"] * 3
        assert set(lab.ssh(name, "apt-mark showhold").split()) >= {"kubeadm", "kubelet", "kubectl"}


def printed_order(output: str) -> list[str]:
    """The node names of the plan the upgrade prints (`    N. name (kubeadm upgrade ...): ...`)."""
    return re.findall(r"^ +\d+\. (\S+) \(kubeadm upgrade", output, re.MULTILINE)


def test_minor_upgrade_after_calico_switches_the_source_in_the_printed_order(lab, cluster, bootstrapped):
    order = node_order(cluster)
    inventory = lab.inventory_with("calico-v3.30", {"calico_version": "v3.30.2",
                                                    "calico_manifest": "goldentooth/lab/calico/v3.30.2/calico.yaml"})
    calico = lab.deploy("kubeadm", inventory)
    assert not calico.failed_hosts, dict(calico.failed)
    upgraded = lab.goldentooth("upgrade", "--to", "1.33.2", "-y", inventory=inventory)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert printed_order(upgraded.stdout) == order
    assert lab.upgrades(order, "v1.33.2") == [("bettley", "apply")] + [(name, "node") for name in order[1:]]
    for name in order:
        assert lab.ssh(name, "dpkg-query -W -f='${Version} ' kubeadm kubelet kubectl").split() == ["1.33.2-1.1"] * 3
        assert set(lab.ssh(name, "apt-mark showhold").split()) >= {"kubeadm", "kubelet", "kubectl"}
        assert "/core:/stable:/v1.33/deb/" in lab.ssh(name, "grep '^URIs:' /etc/apt/sources.list.d/kubernetes.sources")
    for name in cluster.names("k8s_control_plane"):
        pod = json.loads(lab.kubectl("-n", "kube-system", "get", "pod", f"kube-apiserver-{name}", "-o", "json"))
        assert pod["spec"]["containers"][0]["image"].endswith(":v1.33.2")
    assert json.loads(lab.kubectl("version", "-o", "json"))["serverVersion"]["gitVersion"] == "v1.33.2"
    assert lab.kubectl("-n", "kube-system", "get", "configmap", "goldentooth-upgrade-lock", "--ignore-not-found") == ""
    assert lab.ssh("bettley", "ls /var/lib/etcd").count("pre-upgrade-") >= 2, "one snapshot per upgrade run"


def expiry(output: str) -> dict[tuple[str, str], str]:
    """(host, certificate) -> EXPIRES from the `certs check` table."""
    return {(row[0], row[1]): row[2] for row in (line.split() for line in output.splitlines()[1:]) if len(row) >= 4}


def test_certs_renew_one_control_plane_at_a_time_shows_new_dates(lab, cluster, bootstrapped):
    before = lab.goldentooth("certs", "check", inventory=True)
    assert before.returncode == 0, before.stdout + before.stderr
    renewed = lab.goldentooth("certs", "renew", "-y", inventory=True)
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    after = lab.goldentooth("certs", "check", inventory=True)
    assert after.returncode == 0, after.stdout + after.stderr
    old, new = expiry(before.stdout), expiry(after.stdout)
    control_planes = cluster.names("k8s_control_plane")
    for name in control_planes:
        for certificate in ("/etc/kubernetes/pki/apiserver.crt", "/etc/kubernetes/pki/etcd/server.crt", "/etc/kubernetes/admin.conf"):
            assert new[(name, certificate)] > old[(name, certificate)], (name, certificate)
        assert new[(name, "/etc/kubernetes/pki/ca.crt")] == old[(name, "/etc/kubernetes/pki/ca.crt")], "CAs are not renewed"
        assert sorted(lab.ssh(name, "ls /etc/kubernetes/manifests").split()) == [
            "etcd.yaml", "kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml"]
    renewals = sorted((call["time"], name) for name in control_planes for call in lab.calls(name)
                      if call["command"] == "certs renew" and call["exit"] == 0 and call["argv"][:3] == ["certs", "renew", "all"])
    assert [name for _, name in renewals[-3:]] == control_planes[1:] + control_planes[:1], "one at a time, admin host last"


def test_converge_after_the_upgrade_changes_nothing(lab, cluster, bootstrapped):
    inventory = lab.inventory_with("v1.33", {"calico_version": "v3.30.2", "kubernetes_version": "1.33.2",
                                             "calico_manifest": "goldentooth/lab/calico/v3.30.2/calico.yaml"})
    for name in (*NODE_PATH, "kubeadm"):
        report = lab.deploy(name, inventory)
        assert not report.failed_hosts and report.change_count == 0, (name, dict(report.changed), dict(report.failed))
