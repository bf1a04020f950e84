"""The front half every lifecycle command shares: gather node and cluster facts over the executor.

Facts are the same classes converge uses (facts/kubeadm.py, facts/kubernetes.py): their command
runs on the host through the executor and their `process` parses the output, so a lifecycle
command and a deploy read state the same way.
"""

from __future__ import annotations

import shlex
from typing import Any

from pyinfra.api import StringCommand

from facts.kubeadm import KubeadmNodeState
from facts.kubernetes import ClusterNodes
from ..errors import GoldentoothError
from .engine import Context, Phase



def sh(*argv: str) -> str:
    """A shell command line from separate arguments, each quoted."""
    return shlex.join(argv)


def fact(ctx: Context, host: str, fact_class: type, *args: Any) -> Any:
    """Run a pyinfra fact's command on `host` through the executor and parse it with the fact."""
    instance = fact_class()
    command = instance.command(*args)
    text = command if isinstance(command, str) else StringCommand(command).get_raw_value()
    return instance.process(ctx.read(host, text).stdout.splitlines())


def kubectl(*args: str) -> str:
    return sh("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", *args)


class GatherState(Phase):
    """Read every Kubernetes node's kubeadm state and the API's node list from the admin host."""

    title = "Gather cluster facts"

    def run(self, ctx: Context) -> None:
        cluster = ctx.cluster
        nodes = {name: fact(ctx, name, KubeadmNodeState) for name in cluster.names("k8s_cluster")}
        admin = next(
            (name for name in cluster.names("k8s_control_plane") if "/etc/kubernetes/admin.conf" in nodes[name]["files"]),
            None,
        )
        if admin is None:
            raise GoldentoothError("no control plane has /etc/kubernetes/admin.conf: is the cluster initialised?")
        ctx.state.update(nodes=nodes, admin=admin, api_nodes=fact(ctx, admin, ClusterNodes))

    dry_run = run
