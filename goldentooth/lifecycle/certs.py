"""`goldentooth certs check` and `certs renew` (spec 50-kubeadm.md §11).

check: the PkiCertificates fact on every control plane, as a table; exit non-zero when any
certificate has fewer days left than the threshold. renew: one control plane at a time, admin
host last: backup, `kubeadm certs renew all`, static pods restarted by moving their manifests out
for longer than kubelet's file check period and back, then wait until etcd and the API server are
Ready again and HAProxy routes to the node (spec 50-kubeadm.md §11.2).
"""

from __future__ import annotations

from collections.abc import Callable

from facts.kubeadm import PkiCertificates
from facts.timedate import TimeDateState
from ..errors import GoldentoothError
from ..kubeadm_state import STATIC_PODS
from . import health
from .cluster_state import GatherState, fact, sh
from .engine import Context, Phase
from .upgrade import Confirm

MANIFESTS = "/etc/kubernetes/manifests"
PAUSED = "/etc/kubernetes/manifests-paused"
BACKUP_DIR = "/var/backups/kubernetes"
#: kubelet rereads static pod manifests every 20 s (fileCheckFrequency); wait at least that long.
KUBELET_FILE_CHECK = 20
STOP_TIMEOUT = 120
READY_TIMEOUT = 300


def expiry_rows(ctx: Context, control_planes: list[str]) -> list[tuple[str, str, str, int]]:
    """(host, certificate, not_after, days_left) for every certificate on every control plane."""
    rows = []
    for host in control_planes:
        for path, cert in fact(ctx, host, PkiCertificates)["certificates"].items():
            rows.append((host, path, cert["not_after"], int(cert["days_left"])))
    return rows


def table(rows: list[tuple[str, str, str, int]], threshold: int) -> list[str]:
    """Aligned lines: host, certificate, expiry, days left, and a mark under the threshold."""
    header = ("HOST", "CERTIFICATE", "EXPIRES", "DAYS", "")
    body = [(h, p, e, str(d), "EXPIRED" if d < 0 else ("< %d days" % threshold if d < threshold else "")) for h, p, e, d in rows]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(4)]
    return ["  ".join(str(cell).ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip() for row in [header, *body]]


def check(ctx: Context, threshold: int) -> tuple[list[str], bool]:
    """The expiry table and whether every certificate has at least `threshold` days left."""
    rows = expiry_rows(ctx, ctx.cluster.names("k8s_control_plane"))
    if not rows:
        raise GoldentoothError("no certificates found under /etc/kubernetes/pki on the control planes")
    return table(rows, threshold), all(days >= threshold for *_, days in rows)


class RenewControlPlane(Phase):
    """Renew one control plane's certificates and restart its static pods the supported way."""

    def __init__(self, name: str):
        self.name = name
        self.title = f"Renew the certificates of {name}"
        self.paused = False

    def run(self, ctx: Context) -> None:
        name, admin = self.name, ctx.state["admin"]
        self.preconditions(ctx)
        archive = f"{BACKUP_DIR}/pki-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
        ctx.wet(name, "back up /etc/kubernetes/pki and the kubeconfigs",
                f"install -d -m 0700 {BACKUP_DIR} && (umask 077 && tar -czf {archive} -C /etc/kubernetes pki $(cd /etc/kubernetes && ls *.conf))")
        ctx.wet(name, "kubeadm certs renew all", sh("kubeadm", "certs", "renew", "all"), 600)
        moves = " && ".join(f"mv {MANIFESTS}/{pod}.yaml {PAUSED}/" for pod in STATIC_PODS)
        ctx.wet(name, f"move the static pod manifests to {PAUSED}", f"install -d -m 0700 {PAUSED} && {moves}")
        self.paused = not ctx.dry
        if not ctx.dry:
            ctx.sleep(KUBELET_FILE_CHECK)
        names = "|".join(STATIC_PODS)
        ctx.wet(name, "wait until the static pods stopped",
                f"for i in $(seq {STOP_TIMEOUT}); do [ -z \"$(crictl ps --name {sh(names)} -q)\" ] && exit 0; sleep 1; done; exit 1", STOP_TIMEOUT + 30)
        self.restore(ctx)
        if ctx.dry:
            ctx.planned.setdefault(admin, []).append(f"wait until etcd-{name} and kube-apiserver-{name} are Ready and HAProxy routes to {name}")
            return
        health.until(ctx, f"{name}: etcd-{name} and kube-apiserver-{name} Ready", lambda: health.static_pods_behind(
            health.static_pods(ctx, admin).get(name, {}), None, ("etcd", "kube-apiserver")), READY_TIMEOUT)
        health.until(ctx, f"{name}: HAProxy routes to {name}", lambda: health.haproxy_down(ctx, [name]), READY_TIMEOUT)

    def preconditions(self, ctx: Context) -> None:
        """§11.2 step 1: this node's clock is synchronised; etcd (so quorum) is healthy before a restart."""
        synchronised = fact(ctx, self.name, TimeDateState).get("NTPSynchronized", "unknown")
        if synchronised != "yes":
            if not ctx.cluster.host(self.name).get("lab"):
                raise GoldentoothError(f"{self.name}: NTPSynchronized={synchronised}: renew only with a synchronised clock")
            ctx.echo(f"    warning: {self.name}: lab host: NTPSynchronized={synchronised} accepted (a container may not set the clock)")
        problem = health.etcd_unhealthy(ctx, ctx.state["admin"], ctx.cluster.names("k8s_control_plane"))
        if problem:
            raise GoldentoothError(f"{self.name}: not restarting its static pods: {problem}")

    def restore(self, ctx: Context) -> None:
        moves = " && ".join(f"mv {PAUSED}/{pod}.yaml {MANIFESTS}/" for pod in STATIC_PODS)
        ctx.wet(self.name, f"move the static pod manifests back to {MANIFESTS}", moves)
        self.paused = False

    def cleanup(self, ctx: Context) -> None:
        if self.paused:
            self.restore(ctx)


class VerifyRenewal(Phase):
    title = "Verify every leaf certificate has about a year left"

    def run(self, ctx: Context) -> None:
        short = [row for row in expiry_rows(ctx, ctx.cluster.names("k8s_control_plane")) if "ca.crt" not in row[1] and row[3] < 300]
        if short:
            raise GoldentoothError("not renewed: " + ", ".join(f"{host}:{path} ({days} days)" for host, path, _, days in short))

    def should_run(self, ctx: Context) -> bool:
        return not ctx.dry


def renew_phases(cluster, confirm: Callable[[], bool]) -> list[Phase]:
    """Renewal, control planes in group order with the admin host (normally the first) last."""
    control_planes = cluster.names("k8s_control_plane")
    order = control_planes[1:] + control_planes[:1]
    return [GatherState(), Confirm(confirm), *(RenewControlPlane(name) for name in order), VerifyRenewal()]
