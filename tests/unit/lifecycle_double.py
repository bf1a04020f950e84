"""In-memory executor double for lifecycle tests: a tiny model of the nodes a lifecycle command touches.

It answers the reads lifecycle commands make (kubeadm state fact, node list, kubeadm-config and
server versions, the lock ConfigMap, mirror pods, /readyz, HAProxy's stats CSV, etcd health,
clocks, containerd's version) from its model, applies the mutations it understands (package
installs, kubeadm upgrades, kubelet restarts, drain/uncordon, the lock), records every command per
host, and fails a command on request.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

import yaml

from goldentooth.lifecycle.engine import Result

STATE_FILES_CP = [
    "/etc/kubernetes/admin.conf", "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt",
    "/var/lib/kubelet/config.yaml", "/etc/kubernetes/manifests/kube-apiserver.yaml",
]
STATE_FILES_WORKER = ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt", "/var/lib/kubelet/config.yaml"]
STATIC = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
#: Commands that only read (or only record progress in the lock): everything else is a mutation.
READS = ("for f in", "if [ -f /etc/kubernetes/admin.conf ]", "get configmap", "version -o json", "get pods -o json",
         "--raw=/readyz", "| curl ", "endpoint health", "member list", "timedatectl show", "date -u", "containerd --version",
         "patch configmap goldentooth-upgrade-lock")


@dataclass
class NodeModel:
    control_plane: bool
    packages: dict[str, str]
    kubelet: str = ""  # what the API reports: the kubelet version that last started
    pods: str = ""  # the version the control-plane static pods run
    cordoned: bool = False
    ready: bool = True
    ntp: str = "yes"
    files: dict[str, str] = field(default_factory=dict)


class ClusterDouble:
    def __init__(self, control_planes: list[str], workers: list[str], version: str = "1.32.3-1.1"):
        plain = "v" + version.split("-")[0]
        self.nodes = {name: NodeModel(name in control_planes, dict.fromkeys(("kubeadm", "kubelet", "kubectl"), version),
                                      plain, plain if name in control_planes else "")
                      for name in control_planes + workers}
        self.apiserver = plain
        self.lock: dict[str, str] = {}
        self.haproxy: dict[str, str] = {name: "UP" for name in control_planes}
        self.etcd_healthy = True
        self.readyz = "ok"
        self.calls: list[tuple[str, str]] = []
        self.fail: tuple[str, str] | None = None
        self.extra: dict[str, str] = {}

    def commands(self, host: str | None = None) -> list[str]:
        return [command for who, command in self.calls if host is None or who == host]

    def mutations(self) -> list[tuple[str, str]]:
        return [(host, command) for host, command in self.calls if not any(read in command for read in READS)]

    def run(self, host: str, command: str, timeout: int | None = None) -> Result:
        self.calls.append((host, command))
        if self.fail and host == self.fail[0] and self.fail[1] in command:
            return Result(1, "", "injected failure")
        for pattern, output in self.extra.items():
            if pattern in command:
                return Result(0, output)
        node = self.nodes.get(host)
        for matcher, answer in self._reads():
            if matcher(command):
                return answer(node, command)
        self._mutate(node, command)
        return Result(0, "")

    def _reads(self):
        return [
            (lambda c: c.startswith("for f in"), self._state_fact),
            (lambda c: "get nodes -o json" in c, lambda n, c: Result(0, json.dumps({"items": [self._node_json(x) for x in self.nodes]}))),
            (lambda c: "get configmap kubeadm-config" in c, lambda n, c: Result(0, self._kubeadm_config())),
            (lambda c: c.endswith("version -o json"), lambda n, c: Result(0, json.dumps({"serverVersion": {"gitVersion": self.apiserver}}))),
            (lambda c: "get configmap goldentooth-upgrade-lock" in c, lambda n, c: Result(0, self._lock_json())),
            (lambda c: "get pods -o json" in c, lambda n, c: Result(0, json.dumps({"items": self._pods()}))),
            (lambda c: "--raw=/readyz" in c, lambda n, c: Result(0 if self.readyz == "ok" else 1, self.readyz + "\n")),
            (lambda c: "| curl " in c and ";csv" in c, lambda n, c: Result(0, self._stats())),
            (lambda c: "endpoint health --cluster" in c, self._etcd_health),
            (lambda c: "etcdctl" in c and "member list" in c, self._members),
            (lambda c: "snapshot save" in c, lambda n, c: Result(0, f"Snapshot saved at {shlex.split(c)[-1]}\n")),
            (lambda c: c.startswith("timedatectl show"), lambda n, c: Result(0, f"Timezone=UTC\nNTP=yes\nNTPSynchronized={n.ntp}\n")),
            (lambda c: c.startswith("date -u +'now %s'"), lambda n, c: Result(0, "now 1735689600\n")),
            (lambda c: "containerd --version" in c, lambda n, c: Result(0, "containerd github.com/containerd/containerd 1.7.27 abc\n")),
        ]

    def _state_fact(self, node: NodeModel, command: str) -> Result:
        files = STATE_FILES_CP if node.control_plane else STATE_FILES_WORKER
        lines = [f"file {path}" for path in files] + [f"package {p} ii {v}" for p, v in sorted(node.packages.items())]
        return Result(0, "\n".join(lines) + "\n")

    def _kubeadm_config(self) -> str:
        configuration = yaml.safe_dump({"kubernetesVersion": self.apiserver})
        return json.dumps({"data": {"ClusterConfiguration": configuration}})

    def _lock_json(self) -> str:
        return json.dumps({"kind": "ConfigMap", "data": self.lock}) if self.lock else ""

    def _pods(self) -> list[dict]:
        return [{"metadata": {"name": f"{pod}-{name}"}, "spec": {"nodeName": name, "containers": [
                    {"image": f"registry.k8s.io/{pod}:{'3.5.16-0' if pod == 'etcd' else node.pods}"}]},
                 "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
                for name, node in self.nodes.items() if node.control_plane for pod in STATIC]

    def _stats(self) -> str:
        rows = [f"k8s-api-server,{name},{status}" for name, status in self.haproxy.items()]
        return "# pxname,svname,status\n" + "\n".join(["k8s-api-server,BACKEND,UP", *rows]) + "\n"

    def _etcd_health(self, node: NodeModel, command: str) -> Result:
        members = [name for name, n in self.nodes.items() if n.control_plane]
        word = "is healthy: successfully committed proposal" if self.etcd_healthy else "is unhealthy: failed to commit proposal"
        lines = "\n".join(f"https://{name}:2379 {word}" for name in members) + "\n"
        return Result(0, lines) if self.etcd_healthy else Result(1, "", lines + "Error: unhealthy cluster\n")

    def _members(self, node: NodeModel, command: str) -> Result:
        return Result(0, "".join(f"{index:016x}, started, {name}, https://{name}:2380, https://{name}:2379, false\n"
                                 for index, (name, n) in enumerate(self.nodes.items()) if n.control_plane))

    def _mutate(self, node: NodeModel | None, command: str) -> None:
        if "create configmap goldentooth-upgrade-lock" in command:
            self.lock = dict(arg.split("=", 1)[1].split("=", 1) for arg in shlex.split(command) if arg.startswith("--from-literal="))
        elif "patch configmap goldentooth-upgrade-lock" in command:
            self.lock.update(json.loads(shlex.split(command)[-1])["data"])
        elif "delete configmap goldentooth-upgrade-lock" in command:
            self.lock = {}
        elif "apt-get install" in command:
            for package, version in re.findall(r"\b(kubeadm|kubelet|kubectl)=([0-9][^\s;]*)", command):
                node.packages[package] = version
        elif "kubeadm upgrade apply" in command:
            self.apiserver = command.split("apply ")[1].split()[0]
            node.pods = self.apiserver
        elif command == "kubeadm upgrade node" and node.control_plane:
            node.pods = self.apiserver
        elif "restart kubelet" in command:
            node.kubelet = "v" + node.packages["kubelet"].split("-")[0]
        elif " drain " in command:
            self.nodes[command.split(" drain ")[1].split()[0]].cordoned = True
        elif " uncordon " in command:
            self.nodes[command.split(" uncordon ")[1].split()[0]].cordoned = False
        elif "printf %s" in command and "> /etc/containerd/" in command:
            node.files["/etc/containerd/config.toml"] = shlex.split(command)[2]

    def _node_json(self, name: str) -> dict:
        node = self.nodes[name]
        labels = {"node-role.kubernetes.io/control-plane": ""} if node.control_plane else {}
        return {"metadata": {"name": name, "labels": labels}, "spec": {"unschedulable": node.cordoned},
                "status": {"conditions": [{"type": "Ready", "status": "True" if node.ready else "False"}],
                           "nodeInfo": {"kubeletVersion": node.kubelet}}}
