"""`goldentooth upgrade --to X`: the rolling kubeadm upgrade as a phase list (spec 50-kubeadm.md §10).

Preconditions first (preconditions.py), then the lock (upgrade_lock.py) and an etcd snapshot, then
one node at a time: first control plane (`kubeadm upgrade apply`), the other control planes, the
workers. Per node: apt source (minor change), kubeadm, kubeadm upgrade, drain, containerd's sandbox
image (when the minor's differs), kubelet/kubectl, restart, node gate, uncordon, cluster gate. The
lock records the node and step in progress; a node already at the target is skipped on --resume.
"""

from __future__ import annotations

from collections.abc import Callable

from deploys.containerd import config_toml
from facts.containerd import ContainerdVersion
from ..errors import GoldentoothError
from ..model import Cluster
from . import health, upgrade_lock, versions
from .cluster_state import fact, kubectl, sh
from .engine import Context, Phase
from .preconditions import CheckPreconditions, GatherUpgradeState, Snapshot

PACKAGES = ("kubeadm", "kubelet", "kubectl")
CONTAINERD_CONFIG = "/etc/containerd/config.toml"


def node_order(cluster: Cluster) -> list[str]:
    """Fixed order: control planes in group order (the first applies), then workers in group order."""
    workers = [name for name in cluster.names("k8s_workers") if name not in cluster.names("k8s_control_plane")]
    return cluster.names("k8s_control_plane") + workers


def install_held(packages: list[str], version: str) -> str:
    """Refresh the lists, unhold, install the exact version, hold again even when the install fails."""
    return (
        f"apt-get update -q >/dev/null || exit $?; {sh('apt-mark', 'unhold', *packages)}; "
        f"DEBIAN_FRONTEND=noninteractive {sh('apt-get', 'install', '-y', *(f'{p}={version}' for p in packages))}; "
        f"rc=$?; {sh('apt-mark', 'hold', *packages)}; exit $rc"
    )


class Upgrade:
    """Shared values of one upgrade run."""

    def __init__(self, cluster: Cluster, target: str, resume: bool):
        versions.parse(target)
        self.cluster, self.target, self.resume = cluster, versions.text(versions.parse(target)), resume
        settings = cluster.settings
        self.package = versions.package_version(self.target, str(settings["kubernetes_package_revision"]))
        self.order = node_order(cluster)
        self.first = self.order[0]
        self.control_planes = cluster.names("k8s_control_plane")
        self.drain_timeout = str(settings["drain_timeout"])
        self.grace = str(settings["drain_grace_period"])
        self.ready_timeout = str(settings["node_ready_timeout"])
        self.gate_timeout = health.seconds(self.ready_timeout)
        # Host data, so the lab's per-host overlay can shorten it.
        self.stabilisation = int(cluster.host(self.first).get("upgrade_stabilisation_seconds", 30))

    def repo_url(self, host: str) -> str:
        base = str(self.cluster.host(host).get("kubernetes_apt_base")).rstrip("/")
        return f"{base}/v{versions.minor(versions.parse(self.target))}/deb/"


class ShowPlan(Phase):
    title = "Plan the upgrade"

    def __init__(self, upgrade: Upgrade):
        self.upgrade = upgrade

    def run(self, ctx: Context) -> None:
        upgrade, lock = self.upgrade, ctx.state["lock"]
        ctx.echo(f"    target v{upgrade.target} (packages {upgrade.package}); cluster at v{ctx.state['cluster_version']}")
        if lock:
            ctx.echo(f"    resuming run {lock.get('run-id', '?')}, stopped at {lock.get('node') or 'the start'}: {lock.get('step', '?')}")
        for index, name in enumerate(upgrade.order, 1):
            if name in ctx.state["done"]:
                ctx.echo(f"    {index:2}. {name}: done")
                continue
            packages = ctx.state["nodes"][name]["packages"]
            changes = ", ".join(f"{p} {packages.get(p, 'absent')} -> {upgrade.package}" for p in PACKAGES)
            how = "kubeadm upgrade apply" if name == upgrade.first else "kubeadm upgrade node"
            ctx.echo(f"    {index:2}. {name} ({how}): {changes}")

    dry_run = run


class Confirm(Phase):
    title = "Confirm"

    def __init__(self, confirm: Callable[[], bool]):
        self.confirm = confirm

    def should_run(self, ctx: Context) -> bool:
        return not ctx.dry

    def run(self, ctx: Context) -> None:
        if not self.confirm():
            raise GoldentoothError("not confirmed; nothing was changed")


class Lock(Phase):
    title = "Acquire the upgrade lock"

    def __init__(self, upgrade: Upgrade):
        self.upgrade = upgrade

    def run(self, ctx: Context) -> None:
        if ctx.state["lock"]:
            ctx.echo(f"    {upgrade_lock.REFERENCE} of run {ctx.state['lock'].get('run-id', '?')} is kept (resume)")
            return
        run_id = upgrade_lock.new_run_id()
        ctx.wet(ctx.state["admin"], f"lock: create {upgrade_lock.REFERENCE} (run {run_id}, target v{self.upgrade.target})",
                upgrade_lock.create(run_id, self.upgrade.target))


class UpgradeNode(Phase):
    """Every step for one node; the order follows the upstream kubeadm procedure (§10.3)."""

    def __init__(self, upgrade: Upgrade, name: str):
        self.upgrade, self.name = upgrade, name
        self.control_plane = name in upgrade.control_planes
        self.title = f"Upgrade {'control plane' if self.control_plane else 'worker'} {name} to v{upgrade.target}"

    def should_run(self, ctx: Context) -> bool:
        return self.name not in ctx.state["done"]

    def record(self, ctx: Context, step: str) -> None:
        ctx.state["progress"] = (self.name, step)
        if not ctx.dry:
            ctx.read(ctx.state["admin"], upgrade_lock.record(self.name, step))

    def step(self, ctx: Context, host: str, step: str, command: str, timeout: int | None = None) -> None:
        self.record(ctx, step)
        ctx.wet(host, step, command, timeout)

    def gate(self, ctx: Context, step: str, probe: Callable[[], str | None], timeout: int) -> None:
        """A health gate: recorded in the lock, planned in a dry run, polled until it passes."""
        self.record(ctx, step)
        if ctx.dry:
            ctx.planned.setdefault(ctx.state["admin"], []).append(step)
            return
        ctx.echo(f"    {self.name}: {step}")
        health.until(ctx, f"{self.name}: {step}", probe, timeout)

    def run(self, ctx: Context) -> None:
        up, name, admin = self.upgrade, self.name, ctx.state["admin"]
        installed = ctx.state["nodes"][name]["packages"].get("kubeadm", "")
        if versions.minor(versions.parse(installed.split("-")[0])) != versions.minor(versions.parse(up.target)):
            self.step(ctx, name, f"switch the Kubernetes apt source to {up.repo_url(name)}", self.repo_switch(name))
        self.step(ctx, name, f"install kubeadm {up.package} (held)", install_held(["kubeadm"], up.package), 900)
        self.step(ctx, name, f"check kubeadm is v{up.target}", f"test \"$(kubeadm version -o short)\" = v{up.target}")
        if name == up.first and ctx.state["cluster_version"] == up.target:
            ctx.echo(f"    {name}: the control plane already runs v{up.target}; upgrade apply is not run again")
        elif name == up.first:
            self.step(ctx, name, f"kubeadm upgrade plan v{up.target}", sh("kubeadm", "upgrade", "plan", f"v{up.target}"), 600)
            self.step(ctx, name, f"kubeadm upgrade apply v{up.target}", sh("kubeadm", "upgrade", "apply", f"v{up.target}", "--yes"), 1800)
        else:
            self.step(ctx, name, "kubeadm upgrade node", sh("kubeadm", "upgrade", "node"), 1800)
        drain = kubectl("drain", name, "--ignore-daemonsets", "--delete-emptydir-data", f"--grace-period={up.grace}", f"--timeout={up.drain_timeout}")
        self.step(ctx, admin, f"drain {name}", drain, 900)
        self.sandbox_image(ctx, installed)
        self.step(ctx, name, f"install kubelet and kubectl {up.package} (held)", install_held(["kubelet", "kubectl"], up.package), 900)
        self.step(ctx, name, "restart kubelet", "systemctl daemon-reload && systemctl restart kubelet")
        self.node_gate(ctx)
        self.step(ctx, admin, f"uncordon {name}", kubectl("uncordon", name))
        self.cluster_gate(ctx)

    def sandbox_image(self, ctx: Context, installed: str) -> None:
        """Step 5: containerd's config with the target minor's sandbox image, when it differs, and a restart."""
        up, name = self.upgrade, self.name
        node = up.cluster.host(name)
        images = node.get("sandbox_image_by_minor")
        image = images[versions.minor(versions.parse(up.target))]
        if images.get(versions.minor(versions.parse(installed.split("-")[0]))) == image:
            return
        content = config_toml(fact(ctx, name, ContainerdVersion), str(node.get("containerd_package_version")),
                              str(node.get("containerd_dropin_dir")), image)
        staged = f"{CONTAINERD_CONFIG}.goldentooth-new"
        self.step(ctx, name, f"write {CONTAINERD_CONFIG} with the sandbox image {image}",
                  f"printf %s {sh(content)} > {staged} && chmod 644 {staged} && mv -f {staged} {CONTAINERD_CONFIG}")
        self.step(ctx, name, "restart containerd", "systemctl restart containerd")

    def node_gate(self, ctx: Context) -> None:
        """Step 8: Ready, kubelet at the target; control planes: static pods, HAProxy row, /readyz."""
        up, name, admin = self.upgrade, self.name, ctx.state["admin"]
        self.step(ctx, admin, f"wait until {name} is Ready", kubectl("wait", "--for=condition=Ready", f"node/{name}", f"--timeout={up.ready_timeout}"), 900)

        def kubelet_behind() -> str | None:
            version = health.nodes(ctx, admin).get(name, {}).get("kubelet_version")
            return None if version == f"v{up.target}" else f"the API reports kubelet {version}"

        self.gate(ctx, f"kubelet of {name} reports v{up.target}", kubelet_behind, up.gate_timeout)
        if not self.control_plane:
            return
        self.gate(ctx, f"static pods of {name} Ready at v{up.target}",
                  lambda: health.static_pods_behind(health.static_pods(ctx, admin).get(name, {}), up.target), up.gate_timeout)
        self.gate(ctx, f"HAProxy routes to {name}", lambda: health.haproxy_down(ctx, [name]), up.gate_timeout)
        self.gate(ctx, "the API server is ready (/readyz)", lambda: health.readyz(ctx, admin), up.gate_timeout)

    def cluster_gate(self, ctx: Context) -> None:
        """Step 10: every node Ready and schedulable, etcd healthy after a control plane, then a pause."""
        up, admin = self.upgrade, ctx.state["admin"]

        def nodes_unhealthy() -> str | None:
            api = health.nodes(ctx, admin)
            bad = [f"{n} {'not Ready' if not api.get(n, {}).get('ready') else 'cordoned'}" for n in up.order
                   if not api.get(n, {}).get("ready") or api[n]["unschedulable"]]
            return ", ".join(bad) or None

        self.gate(ctx, "every node Ready and schedulable", nodes_unhealthy, up.gate_timeout)
        if self.control_plane:
            self.gate(ctx, "etcd healthy", lambda: health.etcd_unhealthy(ctx, admin, up.control_planes), up.gate_timeout)
        if not ctx.dry and up.stabilisation:
            ctx.echo(f"    stabilising for {up.stabilisation}s")
            ctx.sleep(up.stabilisation)

    def repo_switch(self, name: str) -> str:
        node = self.upgrade.cluster.host(name)
        url = self.upgrade.repo_url(name)
        sources, keyring = str(node.get("kubernetes_apt_sources_file")), str(node.get("kubernetes_apt_keyring"))
        return (
            f"sed -i -E {sh('s#^URIs: .*#URIs: ' + url + '#')} {sh(sources)} && "
            f"curl -fsSL -o {sh(keyring)} {sh(url + 'Release.key')} && apt-get update"
        )

    def cleanup(self, ctx: Context) -> None:
        if not ctx.dry and ctx.state.get("progress", ("",))[0] == self.name:
            ctx.read(self.name, sh("apt-mark", "hold", *PACKAGES))


class Unlock(Phase):
    title = "Release the upgrade lock"

    def run(self, ctx: Context) -> None:
        ctx.wet(ctx.state["admin"], f"delete {upgrade_lock.REFERENCE}", upgrade_lock.delete())


def phases(cluster: Cluster, target: str, resume: bool, confirm: Callable[[], bool]) -> list[Phase]:
    """The upgrade as a phase list; the node phases follow `node_order`."""
    upgrade = Upgrade(cluster, target, resume)
    return [
        GatherUpgradeState(upgrade), CheckPreconditions(upgrade), ShowPlan(upgrade), Confirm(confirm),
        Lock(upgrade), Snapshot(), *(UpgradeNode(upgrade, name) for name in upgrade.order), Unlock(),
    ]
