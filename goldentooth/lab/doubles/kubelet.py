"""kubelet double: reports its version; when started as the service it posts its node status, then fails.

A kubelet cannot run inside a lab node (container: read-only cgroups, no /dev/kmsg). When the
node has joined (kubelet.conf exists), the double does what a kubelet does first: it reports its
version, readiness and the static pods of its manifest directory (shown as mirror pods) to the
API server with its own client certificate. Then it exits 1, so the unit keeps restarting (every
10 s) as a kubelet on an unusable host would; deploys detect the lab and say so. Each restart
posts again, standing in for the kubelet's periodic rereading of the manifests.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import time

import yaml

from .common import Failure, path

KUBECONFIG = "/etc/kubernetes/kubelet.conf"
NODE_FILE = "/var/lib/kubeadm-double/node.json"
STATIC_POD_PATH = "/etc/kubernetes/manifests"


def node_name() -> str:
    """The name kubeadm registered this node under (kubelet's default is the hostname)."""
    record = path(NODE_FILE)
    return json.loads(record.read_text())["name"] if record.exists() else socket.gethostname()


def static_pods() -> list[dict]:
    """One entry per Pod manifest in the static pod path, as the kubelet would run it (others skipped)."""
    directory = path(STATIC_POD_PATH)
    pods = []
    for manifest in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        text = manifest.read_bytes()
        try:
            pod = yaml.safe_load(text)
        except yaml.YAMLError:
            continue  # a kubelet logs an unparsable manifest and runs the others
        if not isinstance(pod, dict) or pod.get("kind") != "Pod" or not (pod.get("metadata") or {}).get("name"):
            continue
        seen = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(manifest.stat().st_mtime))
        pods.append({"name": pod["metadata"]["name"], "namespace": pod["metadata"].get("namespace", "default"),
                     "labels": pod["metadata"].get("labels") or {}, "hash": hashlib.sha256(text).hexdigest()[:32],
                     "seen": seen, "containers": [{"name": c["name"], "image": c["image"]}
                                                  for c in (pod.get("spec") or {}).get("containers") or []]})
    return pods


def main(argv: list[str], version: str) -> int:
    if argv in (["--version"], ["--version=true"]):
        print(f"Kubernetes v{version}")
        return 0
    if path(KUBECONFIG).exists():
        from . import api

        try:
            api.admin_request("node-status", {"name": node_name(), "kubeletVersion": f"v{version}",
                                              "staticPods": static_pods()}, KUBECONFIG)
            print(f"I0000 kubelet double: node status posted (v{version})", file=sys.stderr)
        except Failure as error:
            print(f"E0000 kubelet double: posting node status failed: {error}", file=sys.stderr)
    print("E0000 kubelet double: a kubelet cannot run inside a lab node (container: read-only cgroups, "
          "no /dev/kmsg)", file=sys.stderr)
    return 1
