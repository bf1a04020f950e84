"""kubelet double: reports its version; when started as the service it posts its node status, then fails.

A kubelet cannot run inside a lab node (container: read-only cgroups, no /dev/kmsg). When the
node has joined (kubelet.conf exists), the double does what a kubelet does first: it reports its
version and readiness to the API server with its own client certificate. Then it exits 1, so the
unit keeps restarting as a kubelet on an unusable host would; deploys detect the lab and say so.
"""

from __future__ import annotations

import json
import socket
import sys

from .common import Failure, path

KUBECONFIG = "/etc/kubernetes/kubelet.conf"
NODE_FILE = "/var/lib/kubeadm-double/node.json"


def node_name() -> str:
    """The name kubeadm registered this node under (kubelet's default is the hostname)."""
    record = path(NODE_FILE)
    return json.loads(record.read_text())["name"] if record.exists() else socket.gethostname()


def main(argv: list[str], version: str) -> int:
    if argv in (["--version"], ["--version=true"]):
        print(f"Kubernetes v{version}")
        return 0
    if path(KUBECONFIG).exists():
        from . import api

        try:
            api.admin_request("node-status", {"name": node_name(), "kubeletVersion": f"v{version}"},
                              KUBECONFIG)
            print(f"I0000 kubelet double: node status posted (v{version})", file=sys.stderr)
        except Failure as error:
            print(f"E0000 kubelet double: posting node status failed: {error}", file=sys.stderr)
    print("E0000 kubelet double: a kubelet cannot run inside a lab node (container: read-only cgroups, "
          "no /dev/kmsg)", file=sys.stderr)
    return 1
