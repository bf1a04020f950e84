"""`goldentooth node remove NAME` (spec 50-kubeadm.md §12.1).

Refuses to leave an even number of control planes (or none) unless overridden. For a control
plane, the node must already be gone from k8s_control_plane in data; the load balancer is then
converged so HAProxy stops routing to it. Then: drain, `kubeadm reset` on that node only (which
removes its etcd member), the cleanup kubeadm leaves, delete the Node object, and confirm the
etcd member is gone.
"""

from __future__ import annotations

from collections.abc import Callable

from facts.kubernetes import ClusterNodes
from .. import etcd
from ..errors import GoldentoothError
from .cluster_state import fact, kubectl, sh
from .engine import Context, Phase
from .upgrade import Confirm

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


class Removal:
    def __init__(self, name: str, allow_even: bool, reboot: bool, converge_load_balancer: Callable[[], None]):
        self.name, self.allow_even, self.reboot = name, allow_even, reboot
        self.converge_load_balancer = converge_load_balancer


class GatherRemoval(Phase):
    title = "Gather cluster facts"

    def __init__(self, removal: Removal):
        self.removal = removal

    def run(self, ctx: Context) -> None:
        name = self.removal.name
        admin = next((cp for cp in ctx.cluster.names("k8s_control_plane") if cp != name), None)
        if admin is None:
            raise GoldentoothError("no other control plane in data to run the removal from")
        nodes = fact(ctx, admin, ClusterNodes)
        if name not in nodes:
            raise GoldentoothError(f"{name} is not a node of the cluster")
        control_planes = [node for node, info in nodes.items() if CONTROL_PLANE_LABEL in info["labels"]]
        ctx.state.update(admin=admin, api_nodes=nodes, is_control_plane=name in control_planes, control_planes=control_planes)

    dry_run = run


class ValidateRemoval(Phase):
    title = "Validate the removal"

    def __init__(self, removal: Removal):
        self.removal = removal

    def run(self, ctx: Context) -> None:
        name, state = self.removal.name, ctx.state
        if not state["is_control_plane"]:
            return
        if name in ctx.cluster.names("k8s_control_plane"):
            raise GoldentoothError(f"{name} is still in k8s_control_plane in data: remove it there first, so the load balancer stops routing to it")
        left = len(state["control_planes"]) - 1
        if left == 0:
            raise GoldentoothError(f"{name} is the last control plane")
        if left % 2 == 0 and not self.removal.allow_even:
            raise GoldentoothError(f"removing {name} leaves {left} control planes (an even etcd membership tolerates no more failures than {left - 1}); pass --allow-even-control-planes to do it anyway")

    dry_run = run


class UpdateLoadBalancer(Phase):
    title = "Converge the load balancer without the removed control plane"

    def __init__(self, removal: Removal):
        self.removal = removal

    def should_run(self, ctx: Context) -> bool:
        return ctx.state["is_control_plane"]

    def run(self, ctx: Context) -> None:
        self.removal.converge_load_balancer()

    def dry_run(self, ctx: Context) -> None:
        ctx.planned.setdefault("load_balancer", []).append(f"converge deploys/load_balancer.py without {self.removal.name}")


class RemoveNode(Phase):
    def __init__(self, removal: Removal):
        self.removal = removal
        self.title = f"Remove {removal.name} from the cluster"

    def run(self, ctx: Context) -> None:
        name, admin = self.removal.name, ctx.state["admin"]
        ctx.wet(admin, f"drain {name}", kubectl("drain", name, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=300s"), 400)
        ctx.wet(name, "kubeadm reset (this node only)", sh("kubeadm", "reset", "--force", "--cri-socket", "unix:///var/run/containerd/containerd.sock"), 600)
        ctx.wet(name, "remove what kubeadm reset leaves", "rm -rf /etc/cni/net.d/* /root/.kube/config /etc/kubernetes/kubeadm")
        ctx.wet(admin, f"delete node {name}", kubectl("delete", "node", name))
        if ctx.state["is_control_plane"]:
            members = etcd.members(ctx.read(admin, kubectl(*etcd.exec_arguments(admin, "member", "list"))).stdout.splitlines())
            for member in members:
                if member.name == name:
                    ctx.wet(admin, f"remove the etcd member of {name} ({member.id})", kubectl(*etcd.exec_arguments(admin, "member", "remove", member.id)))
        if self.removal.reboot:
            ctx.wet(name, "reboot (clears iptables rules and CNI interfaces)", "systemctl reboot")


def phases(removal: Removal, confirm: Callable[[], bool]) -> list[Phase]:
    return [GatherRemoval(removal), ValidateRemoval(removal), Confirm(confirm), UpdateLoadBalancer(removal), RemoveNode(removal)]
