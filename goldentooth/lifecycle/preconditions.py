"""What an upgrade reads and checks before it changes anything (spec 50-kubeadm.md §10.1, §10.4).

Gathering reads the cluster version twice (kubeadm-config's `kubernetesVersion` and the API
server's `/version`), the lock, the static pods and every node's packages; a node already at the
target everywhere (packages, kubelet, schedulable, static pods on control planes) is done and
skipped on resume. The checks collect every problem and abort with all of them.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import yaml

from facts.kubeadm import PkiCertificates
from facts.timedate import TimeDateState
from ..errors import GoldentoothError
from ..model import Host
from ..validation import CALICO_SUPPORT
from . import health, upgrade_lock, versions
from .cluster_state import GatherState, fact, kubectl
from .engine import Context, Phase

if TYPE_CHECKING:
    from .upgrade import Upgrade

SNAPSHOT_DIR = "/var/lib/etcd"


def cluster_version(ctx: Context, admin: str) -> str:
    """`kubernetesVersion` of the kubeadm-config ConfigMap, without the `v`."""
    answer = json.loads(ctx.read(admin, health.kube_system("get", "configmap", "kubeadm-config", "-o", "json")).stdout)
    configuration = yaml.safe_load(answer["data"]["ClusterConfiguration"]) or {}
    return versions.text(versions.parse(str(configuration.get("kubernetesVersion", ""))))


def server_version(ctx: Context, admin: str) -> str:
    """`serverVersion.gitVersion` of `kubectl version -o json`, without the `v`."""
    answer = json.loads(ctx.read(admin, kubectl("version", "-o", "json")).stdout)
    return versions.text(versions.parse(answer["serverVersion"]["gitVersion"]))


def check_supported(node: Host, minor: str) -> None:
    """Spec 50 §10.1.2: data has a sandbox image for the minor and the vendored Calico is tested with it.

    `node` is the init node: its merged data is what the converge that applies Calico reads.
    """
    if minor not in node.get("sandbox_image_by_minor"):
        raise GoldentoothError(f"sandbox_image_by_minor has no entry for {minor}: add the pause image of v{minor} first")
    calico = str(node.get("calico_version"))
    tested = CALICO_SUPPORT.get(".".join(calico.split(".")[:2]), ())
    if minor not in tested:
        raise GoldentoothError(
            f"Calico {calico} is tested with Kubernetes {', '.join(tested) or 'no known minor'}, not {minor}: "
            "upgrade Calico first (calico_version and the vendored manifest in data, then converge)"
        )


class GatherUpgradeState(GatherState):
    title = "Gather cluster facts and upgrade progress"

    def __init__(self, upgrade: Upgrade):
        self.upgrade = upgrade

    def run(self, ctx: Context) -> None:
        super().run(ctx)
        admin = ctx.state["admin"]
        ctx.state.update(cluster_version=cluster_version(ctx, admin), server_version=server_version(ctx, admin),
                         lock=upgrade_lock.read(ctx, admin), static_pods=health.static_pods(ctx, admin))
        ctx.state["done"] = [name for name in self.upgrade.order if self.node_done(ctx, name)]

    def node_done(self, ctx: Context, name: str) -> bool:
        """At the target: kubeadm, kubelet, kubectl; the API's kubelet; schedulable; static pods (control planes)."""
        up, state = self.upgrade, ctx.state
        packages = state["nodes"][name]["packages"]
        api = state["api_nodes"].get(name, {})
        at_target = all(packages.get(p) == up.package for p in ("kubeadm", "kubelet", "kubectl"))
        if not at_target or api.get("kubelet_version") != f"v{up.target}" or api.get("unschedulable", True):
            return False
        return name not in up.control_planes or health.static_pods_behind(state["static_pods"].get(name, {}), up.target) is None

    dry_run = run


class CheckPreconditions(Phase):
    title = "Check the preconditions (versions, lock, nodes, API, HAProxy, etcd, certificates, clocks)"

    def __init__(self, upgrade: Upgrade):
        self.upgrade = upgrade

    def run(self, ctx: Context) -> None:
        up, state = self.upgrade, ctx.state
        versions.check_upgrade(state["cluster_version"], up.target)
        versions.check_upgrade(state["server_version"], up.target)
        check_supported(up.cluster.host(up.first), versions.minor(versions.parse(up.target)))
        self.check_lock(ctx)
        problems = [*self.node_problems(ctx), *self.control_plane_problems(ctx), *self.host_problems(ctx)]
        if problems:
            raise GoldentoothError("the cluster is not ready for an upgrade:\n  - " + "\n  - ".join(problems))

    dry_run = run

    def check_lock(self, ctx: Context) -> None:
        up, lock, admin = self.upgrade, ctx.state["lock"], ctx.state["admin"]
        where = f"{upgrade_lock.REFERENCE} (run {lock.get('run-id', '?')})"
        if lock and lock.get("target") != f"v{up.target}":
            raise GoldentoothError(f"an upgrade to {lock.get('target')} holds {where}: finish it with "
                                   f"`goldentooth upgrade --to {lock.get('target', '').lstrip('v')} --resume` first")
        if lock and not up.resume:
            raise GoldentoothError(f"an upgrade to v{up.target} stopped at {lock.get('node') or 'the start'} "
                                   f"({lock.get('step', '?')}), {where}: run again with --resume")
        if up.resume and not lock:
            raise GoldentoothError(f"nothing to resume: no {upgrade_lock.REFERENCE} in the cluster of {admin}")

    def node_problems(self, ctx: Context) -> list[str]:
        api, allowed = ctx.state["api_nodes"], ctx.state["lock"].get("node")
        problems = []
        for name in self.upgrade.order:
            if name not in api:
                problems.append(f"{name} is in data but not registered in the cluster: converge first")
            elif not api[name]["ready"]:
                problems.append(f"{name} is not Ready")
            elif api[name]["unschedulable"] and name != allowed:
                problems.append(f"{name} is cordoned (SchedulingDisabled) and the lock does not name it")
        return problems

    def control_plane_problems(self, ctx: Context) -> list[str]:
        admin, control_planes = ctx.state["admin"], self.upgrade.control_planes
        found = [health.readyz(ctx, admin), health.haproxy_down(ctx, control_planes),
                 health.etcd_unhealthy(ctx, admin, control_planes)]
        for name in control_planes:
            expired = [path for path, cert in fact(ctx, name, PkiCertificates)["certificates"].items() if cert["days_left"] < 0]
            if expired:
                found.append(f"{name}: expired certificates {', '.join(expired)}: run `goldentooth certs renew` first")
        return [problem for problem in found if problem]

    def host_problems(self, ctx: Context) -> list[str]:
        problems = []
        for name in self.upgrade.order:
            synchronised = fact(ctx, name, TimeDateState).get("NTPSynchronized", "unknown")
            if synchronised == "yes":
                continue
            if ctx.cluster.host(name).get("lab"):
                ctx.echo(f"    warning: {name}: lab host: NTPSynchronized={synchronised} accepted "
                         "(a container may not set the clock)")
            else:
                problems.append(f"{name}: NTPSynchronized={synchronised}: the clock must be synchronised")
        return problems


class Snapshot(Phase):
    """The etcd snapshot before the first change (a Recommendation of §10.1 item 6)."""

    title = "Snapshot etcd"

    def run(self, ctx: Context) -> None:
        admin = ctx.state["admin"]
        target = f"{SNAPSHOT_DIR}/pre-upgrade-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.db"
        ctx.wet(admin, f"etcd snapshot {target}", health.etcdctl(admin, "snapshot", "save", target), 600)
        ctx.state["snapshot"] = target
