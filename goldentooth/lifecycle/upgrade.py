"""`goldentooth upgrade --to X`: the rolling kubeadm upgrade as a phase list (spec 50-kubeadm.md §10).

Order: first control plane (`kubeadm upgrade apply`), the other control planes, then workers, one
node at a time: kubeadm package, kubeadm upgrade, drain, kubelet/kubectl, restart, Ready, uncordon.
A lock file on the admin host records the target and the node and step in progress; a marker on
each finished node lets `--resume` continue where a failed run stopped.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import GoldentoothError
from ..model import Cluster
from ..validation import CALICO_SUPPORT
from . import versions
from .cluster_state import STATE_DIR, GatherState, kubectl, sh
from .engine import Context, Phase

LOCK = f"{STATE_DIR}/upgrade.lock"
PACKAGES = ("kubeadm", "kubelet", "kubectl")


def marker(target: str) -> str:
    return f"{STATE_DIR}/upgraded-v{target}"


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
        self.drain_timeout = str(settings["drain_timeout"])
        self.grace = str(settings["drain_grace_period"])
        self.ready_timeout = str(settings["node_ready_timeout"])

    def repo_url(self, host: str) -> str:
        base = str(self.cluster.host(host).get("kubernetes_apt_base")).rstrip("/")
        return f"{base}/v{versions.minor(versions.parse(self.target))}/deb/"


class GatherUpgradeState(GatherState):
    title = "Gather cluster facts and upgrade progress"

    def __init__(self, upgrade: Upgrade):
        self.upgrade = upgrade

    def run(self, ctx: Context) -> None:
        super().run(ctx)
        done = [name for name in self.upgrade.order if ctx.read(name, f"test -e {marker(self.upgrade.target)} && echo done || true").stdout.strip() == "done"]
        lock = ctx.read(ctx.state["admin"], f"cat {LOCK} 2>/dev/null || true").stdout
        manifest = ctx.read(self.upgrade.first, "grep -o 'kube-apiserver:v[0-9.]*' /etc/kubernetes/manifests/kube-apiserver.yaml | head -n1").stdout
        ctx.state.update(done=done, lock=dict(line.split("=", 1) for line in lock.splitlines() if "=" in line), cluster_version=manifest.strip().split(":v")[-1])

    dry_run = run


def check_supported(cluster: Cluster, minor: str) -> None:
    """Spec 50 §10.1.2: data has a sandbox image for the minor and the vendored Calico is tested with it."""
    settings = cluster.settings
    if minor not in settings["sandbox_image_by_minor"]:
        raise GoldentoothError(f"sandbox_image_by_minor has no entry for {minor}: add the pause image of v{minor} first")
    calico = str(settings["calico_version"])
    tested = CALICO_SUPPORT.get(".".join(calico.split(".")[:2]), ())
    if minor not in tested:
        raise GoldentoothError(
            f"Calico {calico} is tested with Kubernetes {', '.join(tested) or 'no known minor'}, not {minor}: "
            "upgrade Calico first (calico_version and the vendored manifest in data, then converge)"
        )


class ValidateUpgrade(Phase):
    title = "Validate the upgrade"

    def __init__(self, upgrade: Upgrade):
        self.upgrade = upgrade

    def run(self, ctx: Context) -> None:
        upgrade, state = self.upgrade, ctx.state
        versions.check_upgrade(state["cluster_version"], upgrade.target)
        check_supported(upgrade.cluster, versions.minor(versions.parse(upgrade.target)))
        lock = state["lock"]
        if lock and lock.get("target") != f"v{upgrade.target}":
            raise GoldentoothError(f"an upgrade to {lock.get('target')} is in progress ({LOCK} on {state['admin']}): finish it first")
        if lock and not upgrade.resume:
            raise GoldentoothError(f"an upgrade to v{upgrade.target} stopped at {lock.get('node')} ({lock.get('step')}): run again with --resume")
        if upgrade.resume and not lock:
            raise GoldentoothError(f"nothing to resume: no upgrade lock on {state['admin']}")
        api = state["api_nodes"]
        for name in upgrade.order:
            if name not in api:
                raise GoldentoothError(f"{name} is in data but not registered in the cluster: converge first")
            if name == lock.get("node"):
                continue
            if not api[name]["ready"] or api[name]["unschedulable"]:
                raise GoldentoothError(f"{name} is {'cordoned' if api[name]['unschedulable'] else 'not Ready'}: the cluster must be healthy before an upgrade")

    dry_run = run


class ShowPlan(Phase):
    title = "Plan the upgrade"

    def __init__(self, upgrade: Upgrade):
        self.upgrade = upgrade

    def run(self, ctx: Context) -> None:
        upgrade = self.upgrade
        ctx.echo(f"    target v{upgrade.target} (packages {upgrade.package}); cluster at v{ctx.state['cluster_version']}")
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
        if not ctx.state["lock"]:
            content = f"target=v{self.upgrade.target}\nnode=\nstep=start\n"
            command = f"mkdir -p {STATE_DIR} && set -C && printf %s {sh(content)} > {LOCK}"
            ctx.wet(ctx.state["admin"], f"lock: upgrade to v{self.upgrade.target}", command)


class UpgradeNode(Phase):
    """Every step for one node; the order follows the upstream kubeadm procedure."""

    def __init__(self, upgrade: Upgrade, name: str):
        self.upgrade, self.name = upgrade, name
        role = "control plane" if name in upgrade.cluster.names("k8s_control_plane") else "worker"
        self.title = f"Upgrade {role} {name} to v{upgrade.target}"

    def should_run(self, ctx: Context) -> bool:
        return self.name not in ctx.state["done"]

    def step(self, ctx: Context, host: str, step: str, command: str, timeout: int | None = None) -> None:
        ctx.state["progress"] = (self.name, step)
        record = f"target=v{self.upgrade.target}\nnode={self.name}\nstep={step}\n"
        if not ctx.dry:
            ctx.read(ctx.state["admin"], f"printf %s {sh(record)} > {LOCK}")
        ctx.wet(host, step, command, timeout)

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
        self.step(ctx, name, f"install kubelet and kubectl {up.package} (held)", install_held(["kubelet", "kubectl"], up.package), 900)
        self.step(ctx, name, "restart kubelet", "systemctl daemon-reload && systemctl restart kubelet")
        self.step(ctx, admin, f"wait until {name} is Ready", kubectl("wait", "--for=condition=Ready", f"node/{name}", f"--timeout={up.ready_timeout}"), 900)
        self.step(ctx, admin, f"uncordon {name}", kubectl("uncordon", name))
        self.step(ctx, name, f"mark {name} upgraded to v{up.target}", f"mkdir -p {STATE_DIR} && touch {marker(up.target)}")

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
        ctx.wet(ctx.state["admin"], "remove the upgrade lock", f"rm -f {LOCK}")


def phases(cluster: Cluster, target: str, resume: bool, confirm: Callable[[], bool]) -> list[Phase]:
    """The upgrade as a phase list; the node phases follow `node_order`."""
    upgrade = Upgrade(cluster, target, resume)
    return [
        GatherUpgradeState(upgrade), ValidateUpgrade(upgrade), ShowPlan(upgrade), Confirm(confirm), Lock(upgrade),
        *(UpgradeNode(upgrade, name) for name in upgrade.order),
        Unlock(),
    ]
