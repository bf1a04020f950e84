"""In-memory executor double for lifecycle tests: a tiny model of the nodes a lifecycle command touches.

It answers the reads lifecycle commands make (kubeadm state fact, node list, markers, lock, API
server image) from its model, applies the mutations it understands (package installs, markers,
lock file), records every command per host, and fails a command on request.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

from goldentooth.lifecycle.engine import Result

STATE_FILES_CP = [
    "/etc/kubernetes/admin.conf", "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt",
    "/var/lib/kubelet/config.yaml", "/etc/kubernetes/manifests/kube-apiserver.yaml",
]
STATE_FILES_WORKER = ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt", "/var/lib/kubelet/config.yaml"]


@dataclass
class NodeModel:
    control_plane: bool
    packages: dict[str, str]
    markers: set[str] = field(default_factory=set)
    cordoned: bool = False


class ClusterDouble:
    def __init__(self, control_planes: list[str], workers: list[str], version: str = "1.32.3-1.1"):
        self.nodes = {name: NodeModel(name in control_planes, dict.fromkeys(("kubeadm", "kubelet", "kubectl"), version))
                      for name in control_planes + workers}
        self.apiserver = "v" + version.split("-")[0]
        self.lock = ""
        self.calls: list[tuple[str, str]] = []
        self.fail: tuple[str, str] | None = None
        self.extra: dict[str, str] = {}

    def commands(self, host: str | None = None) -> list[str]:
        return [command for who, command in self.calls if host is None or who == host]

    def run(self, host: str, command: str, timeout: int | None = None) -> Result:
        self.calls.append((host, command))
        if self.fail and host == self.fail[0] and self.fail[1] in command:
            return Result(1, "", "injected failure")
        for pattern, output in self.extra.items():
            if pattern in command:
                return Result(0, output)
        node = self.nodes.get(host)
        if command.startswith("for f in"):
            files = STATE_FILES_CP if node.control_plane else STATE_FILES_WORKER
            lines = [f"file {path}" for path in files] + [f"package {p} ii {v}" for p, v in sorted(node.packages.items())]
            return Result(0, "\n".join(lines) + "\n")
        if "get nodes -o json" in command:
            return Result(0, json.dumps({"items": [self._node_json(name) for name in self.nodes]}))
        if command.startswith("test -e /var/lib/goldentooth/upgraded-"):
            return Result(0, "done\n" if command.split()[2] in node.markers else "")
        if command.startswith("cat /var/lib/goldentooth/upgrade.lock"):
            return Result(0, self.lock)
        if "kube-apiserver:v" in command and command.startswith("grep"):
            return Result(0, f"kube-apiserver:{self.apiserver}\n")
        if "upgrade.lock" in command and "printf %s" in command:
            self.lock = shlex.split(command.split("printf %s", 1)[1].split(">")[0])[0]
        elif command.startswith("rm -f /var/lib/goldentooth/upgrade.lock"):
            self.lock = ""
        elif "apt-get install" in command:
            for package, version in re.findall(r"\b(kubeadm|kubelet|kubectl)=([0-9][^\s;]*)", command):
                node.packages[package] = version
        elif "touch /var/lib/goldentooth/upgraded-" in command:
            node.markers.add(command.split("touch ")[1].strip())
        elif "kubeadm upgrade apply" in command:
            self.apiserver = command.split("apply ")[1].split()[0]
        elif " drain " in command:
            self.nodes[command.split(" drain ")[1].split()[0]].cordoned = True
        elif " uncordon " in command:
            self.nodes[command.split(" uncordon ")[1].split()[0]].cordoned = False
        return Result(0, "")

    def _node_json(self, name: str) -> dict:
        node = self.nodes[name]
        labels = {"node-role.kubernetes.io/control-plane": ""} if node.control_plane else {}
        return {"metadata": {"name": name, "labels": labels}, "spec": {"unschedulable": node.cordoned},
                "status": {"conditions": [{"type": "Ready", "status": "True"}],
                           "nodeInfo": {"kubeletVersion": "v" + node.packages["kubelet"].split("-")[0]}}}
