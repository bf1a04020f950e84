"""The checks around kubeadm init and joins: their reasoning, and the function commands that read
other hosts at execution time (driven here with recorded answers instead of hosts)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from facts.haproxy import HaproxyBackends
from facts.kubeadm import KubeadmNodeState
from goldentooth import etcd, kubeadm_gates
from goldentooth.kubeadm_gates import (
    backend_problems, control_plane_gate, readiness_problems, refuse_second_cluster, second_cluster_evidence, static_pod_problems,
    worker_ready,
)

READY = {"ntp_synchronized": True, "cgroup_controllers": ["cpuset", "memory"], "containerd": "active", "cri": "ok", "container": None}
BALANCERS = {"hosts": ["allyrion"], "stats_port": 8404, "stats_uri": "/stats"}
MEMBERS = ["1f, started, bettley, https://10.4.0.11:2380, https://10.4.0.11:2379, false",
           "2e, started, cargyll, https://10.4.0.12:2380, https://10.4.0.12:2379, false"]
HEALTHY = ["https://10.4.0.11:2379 is healthy: successfully committed proposal: took = 9.6ms",
           "https://10.4.0.12:2379 is healthy: successfully committed proposal: took = 11.2ms"]


@dataclass
class Output:
    stdout_lines: list[str]


@dataclass
class FakeHost:
    """An inventory host answering facts and commands from recorded values."""

    name: str
    facts: dict = field(default_factory=dict)
    answers: list = field(default_factory=list)  # (substring, ok, lines), first match wins
    connected: bool = True
    commands: list[str] = field(default_factory=list)
    logged: list[str] = field(default_factory=list)

    def connect(self, raise_exceptions: bool = False) -> None:
        self.connected = True

    def get_fact(self, cls, *args):
        return self.facts[cls]

    def run_shell_command(self, command):
        text = command.get_raw_value()
        self.commands.append(text)
        ok, lines = next(((ok, lines) for part, ok, lines in self.answers if part in text), (False, []))
        return ok, Output(lines)

    def log_styled(self, message: str, **kwargs) -> None:
        self.logged.append(message)


class FakeState:
    def __init__(self, *hosts: FakeHost):
        self.hosts = {h.name: h for h in hosts}
        self.inventory = self

    def get_host(self, name: str) -> FakeHost:
        return self.hosts[name]


def test_a_ready_node_passes():
    assert readiness_problems(READY) == ([], [])


def test_an_unsynchronised_clock_refuses_on_hardware_and_warns_in_a_container():
    problems, warnings = readiness_problems({**READY, "ntp_synchronized": False})
    assert problems == ["the clock is not synchronised (timedatectl NTPSynchronized is not yes)"] and warnings == []
    problems, warnings = readiness_problems({**READY, "ntp_synchronized": False, "container": "systemd-nspawn"})
    assert problems == [] and "systemd-nspawn container cannot synchronise it" in warnings[0]


def test_missing_controllers_and_runtime_are_each_named():
    problems, _ = readiness_problems({**READY, "cgroup_controllers": ["cpuset"], "containerd": "failed"})
    assert problems == ["cgroup controllers missing: memory (the boot command line must enable them)",
                        "containerd is failed, not active"]


def test_no_evidence_on_a_fresh_site():
    assert second_cluster_evidence({"cargyll": [], "dalt": ["/etc/kubernetes/pki/ca.crt"]},
                                   {"allyrion": {"k8s-api-server": {"bettley": "DOWN", "cargyll": "DOWN"}}}) == []


def test_other_control_planes_files_and_live_servers_are_evidence():
    evidence = second_cluster_evidence(
        {"cargyll": ["/etc/kubernetes/kubelet.conf"], "dalt": []},
        {"allyrion": {"k8s-api-server": {"dalt": "UP 1/3", "cargyll": "DOWN"}}, "lb2": None},
    )
    assert evidence == [
        "cargyll has /etc/kubernetes/kubelet.conf",
        "HAProxy on allyrion routes to a live API server on dalt (UP 1/3)",
        "the HAProxy stats of lb2 could not be read, so a running API server cannot be ruled out",
    ]


def test_backend_rows_missing_down_or_unreadable_are_problems():
    backends = {"a": {"k8s-api-server": {"cargyll": "UP"}}, "b": {"k8s-api-server": {"cargyll": "DOWN"}}, "c": {}, "d": None}
    assert backend_problems("cargyll", backends) == [
        "HAProxy on b: k8s-api-server/cargyll is DOWN", "HAProxy on c: k8s-api-server/cargyll is not listed",
        "HAProxy on d: k8s-api-server/cargyll is not listed",
    ]


def test_etcd_membership_must_match_exactly_and_be_healthy():
    assert etcd.membership_problems(MEMBERS, HEALTHY, ["bettley", "cargyll"]) == []
    learner = MEMBERS[:1] + ["3d, unstarted, , https://10.4.0.12:2380, , false"]
    assert etcd.membership_problems(learner, HEALTHY[:1] + ["https://10.4.0.12:2379 is unhealthy: failed to commit proposal"],
                                    ["bettley", "cargyll"]) == [
        "etcd members are 3d, bettley; expected bettley, cargyll",
        "etcd member 3d is unstarted",
        "etcd endpoint not healthy: https://10.4.0.12:2379 is unhealthy: failed to commit proposal",
    ]
    assert etcd.membership_problems(MEMBERS, [], ["bettley", "cargyll"]) == ["etcd endpoint health reported nothing"]


def test_init_is_refused_with_every_reason_logged():
    bettley = FakeHost("bettley")
    state = FakeState(
        bettley,
        FakeHost("cargyll", facts={KubeadmNodeState: {"files": ["/etc/kubernetes/admin.conf"]}}),
        FakeHost("dalt", facts={KubeadmNodeState: {"files": []}}, connected=False),
        FakeHost("allyrion", facts={HaproxyBackends: {"k8s-api-server": {"bettley": "DOWN"}}}),
    )
    assert refuse_second_cluster(state, bettley, ["bettley", "cargyll", "dalt"], BALANCERS) is False
    assert bettley.logged == ["refusing kubeadm init, a cluster may already exist: cargyll has /etc/kubernetes/admin.conf"]
    assert state.get_host("dalt").connected


def test_init_goes_ahead_on_a_fresh_site():
    bettley = FakeHost("bettley")
    state = FakeState(bettley, FakeHost("cargyll", facts={KubeadmNodeState: {"files": []}}),
                      FakeHost("allyrion", facts={HaproxyBackends: {"k8s-api-server": {"bettley": "DOWN"}}}))
    assert refuse_second_cluster(state, bettley, ["bettley", "cargyll"], BALANCERS) is True
    assert bettley.logged == []


def pods(node: str, ready: dict[str, str]) -> dict:
    """`kubectl get pod ... -o json` of the named static pods of `node` and their Ready status."""
    return {"apiVersion": "v1", "kind": "List", "items": [
        {"kind": "Pod", "metadata": {"name": f"{pod}-{node}", "namespace": "kube-system"}, "spec": {"nodeName": node},
         "status": {"conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": status}]}}
        for pod, status in ready.items()]}


ALL_READY = {pod: "True" for pod in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")}


def _cargyll(members: list[str], static: dict[str, str] = ALL_READY) -> FakeHost:
    listing = json.dumps(pods("cargyll", static), indent=4).splitlines()
    return FakeHost("cargyll", answers=[("get pod", True, listing), ("member list", True, members), ("endpoint health", True, HEALTHY)])


def test_static_pods_must_all_be_listed_and_ready():
    assert static_pod_problems("cargyll", pods("cargyll", ALL_READY)) == []
    assert static_pod_problems("cargyll", pods("cargyll", {"etcd": "True", "kube-apiserver": "False"})) == [
        "static pods of cargyll: kube-apiserver not Ready", "static pods of cargyll: kube-controller-manager missing",
        "static pods of cargyll: kube-scheduler missing",
    ]
    single = pods("cargyll", {"etcd": "True"})["items"][0]
    assert static_pod_problems("cargyll", single)[0] == "static pods of cargyll: kube-apiserver missing"
    assert len(static_pod_problems("dalt", pods("cargyll", ALL_READY))) == 4, "another node's pods do not count"
    assert len(static_pod_problems("cargyll", {})) == 4, "nothing listed (kubectl printed nothing)"


def test_control_plane_gate_passes_and_lets_the_next_node_join():
    cargyll = _cargyll(MEMBERS)
    state = FakeState(cargyll, FakeHost("allyrion", facts={HaproxyBackends: {"k8s-api-server": {"cargyll": "UP"}}}))
    material = {"unfinished": "cargyll"}
    assert control_plane_gate(state, cargyll, "cargyll", ["bettley", "cargyll"], BALANCERS, 5, material) is True
    assert "unfinished" not in material
    assert cargyll.commands[0] == ("kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get pod etcd-cargyll "
                                   "kube-apiserver-cargyll kube-controller-manager-cargyll kube-scheduler-cargyll -o json --ignore-not-found")
    assert "exec etcd-cargyll -- etcdctl --endpoints=https://127.0.0.1:2379" in cargyll.commands[1]


def test_control_plane_gate_times_out_naming_what_is_wrong(monkeypatch):
    monkeypatch.setattr(kubeadm_gates, "sleep", lambda seconds: None)
    clock = iter(range(0, 1000, 100))
    monkeypatch.setattr(kubeadm_gates.time, "monotonic", lambda: next(clock))
    cargyll = _cargyll(MEMBERS[:1], {**ALL_READY, "kube-scheduler": "False"})
    state = FakeState(cargyll, FakeHost("allyrion", facts={HaproxyBackends: {"k8s-api-server": {"cargyll": "DOWN"}}}))
    material = {"unfinished": "cargyll"}
    assert control_plane_gate(state, cargyll, "cargyll", ["bettley", "cargyll"], BALANCERS, 300, material) is False
    assert material == {"unfinished": "cargyll"}
    assert cargyll.logged == [
        "cargyll joined but is not healthy after 300s: static pods of cargyll: kube-scheduler not Ready",
        "cargyll joined but is not healthy after 300s: etcd members are bettley; expected bettley, cargyll",
        "cargyll joined but is not healthy after 300s: HAProxy on allyrion: k8s-api-server/cargyll is DOWN",
    ]


@pytest.mark.parametrize(("ok", "logged"), [(True, []), (False, ["erenford joined but is not Ready after 300s: timed out"])])
def test_worker_ready_waits_on_the_admin_host(ok, logged):
    erenford, bettley = FakeHost("erenford"), FakeHost("bettley", answers=[("wait", ok, ["timed out"])])
    assert worker_ready(FakeState(erenford, bettley), erenford, "bettley", "erenford", 300) is ok
    assert bettley.commands == ["kubectl --kubeconfig /etc/kubernetes/admin.conf wait --for=condition=Ready node/erenford --timeout=300s"]
    assert erenford.logged == logged
