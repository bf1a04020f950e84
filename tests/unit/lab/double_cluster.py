"""A cluster of lab doubles in temporary roots: the init node's API double on a free loopback port.

Shared by the double tests: `Node` runs a double through its real launcher below the node's root;
`cluster` (a module-scoped fixture) inits bettley and serves its API double.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from goldentooth.lab.standins import launcher

LAB = Path(__file__).resolve().parents[3] / "goldentooth/lab"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Node:
    def __init__(self, tmp: Path, name: str):
        self.root = tmp / name
        self.root.mkdir()
        lib = tmp / f"lib-{name}"
        for package in ("kubeadm", "kubectl", "kubelet"):
            (lib / package).mkdir(parents=True, exist_ok=True)
            if not (lib / package / "doubles").exists():
                (lib / package / "doubles").symlink_to(LAB / "doubles")
        self.lib = lib

    def run(self, tool: str, *args: str, version: str = "1.32.3", check: bool = True,
            stdin: str = "") -> subprocess.CompletedProcess:
        script = launcher(tool, tool, version, str(self.lib))
        env = {**os.environ, "GOLDENTOOTH_DOUBLE_ROOT": str(self.root), "GOLDENTOOTH_DOUBLE_NO_SYSTEMD": "1"}
        result = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True,
                                input=stdin)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def write(self, name: str, document: str) -> str:
        target = self.root / name.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document)
        return name

    def log(self, tool: str = "kubeadm") -> list[dict]:
        return [json.loads(line) for line in (self.root / f"var/log/{tool}-double.log").read_text().splitlines()]


INIT = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {{advertiseAddress: 127.0.0.1, bindPort: {port}}}
nodeRegistration:
  name: bettley
  kubeletExtraArgs: [{{name: node-ip, value: "127.0.0.1"}}]
bootstrapTokens: [{{ttl: "1h0m0s", description: "goldentooth init"}}]
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: goldentooth
kubernetesVersion: v1.32.3
controlPlaneEndpoint: 127.0.0.1:{port}
networking: {{serviceSubnet: 172.16.0.0/20, podSubnet: 192.168.0.0/16, dnsDomain: cluster.local}}
apiServer: {{certSANs: ["127.0.0.1"]}}
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
imageMaximumGCAge: 24h
"""


def join_config(port: int, token: str, ca_hash: str, name: str, address: str, key: str = "") -> str:
    document = {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration",
                "discovery": {"bootstrapToken": {"apiServerEndpoint": f"127.0.0.1:{port}", "token": token,
                                                 "caCertHashes": [ca_hash]}, "tlsBootstrapToken": token},
                "nodeRegistration": {"name": name, "kubeletExtraArgs": [{"name": "node-ip", "value": address}]}}
    if key:
        document["controlPlane"] = {"localAPIEndpoint": {"advertiseAddress": address, "bindPort": port},
                                    "certificateKey": key}
    return yaml.safe_dump(document)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    port = free_port()
    init = Node(tmp, "bettley")
    init.run("kubeadm", "init", "--config", init.write("/etc/kubernetes/kubeadm/init.yaml", INIT.format(port=port)))
    env = {**os.environ, "GOLDENTOOTH_DOUBLE_ROOT": str(init.root), "PYTHONPATH": str(LAB)}
    server = subprocess.Popen([sys.executable, "-m", "doubles.api", "--bind", f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield tmp, port, init
    server.terminate()
    server.wait(timeout=10)
