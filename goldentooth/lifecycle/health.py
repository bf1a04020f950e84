"""Cluster health probes the lifecycle commands gate on (spec 50-kubeadm.md §10.1, §10.3 step 8, §11.2).

Each probe reads through the executor and returns what it found; `until` polls a probe with the
context's sleep, so gates wait for kubelets and HAProxy checks to catch up and fail with the last
reason after their timeout. The etcd command is the spec's `kubectl exec etcd-<admin host>` form;
etcd's answers and HAProxy's rows are judged by the same functions as the converge's join gates
(goldentooth.etcd, goldentooth.kubeadm_gates).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from facts.haproxy import HaproxyBackends
from facts.kubernetes import ClusterNodes
from .. import etcd
from ..errors import GoldentoothError
from ..kubeadm_gates import backend_problems
from ..kubeadm_state import STATIC_PODS
from ..validation import parse_duration
from ..static_pods import mirror_pods, problems as static_pod_problems
from .cluster_state import fact, kubectl
from .engine import Context

POLL_SECONDS = 5


class GateFailed(GoldentoothError):
    """A health gate did not pass within its time."""


def kube_system(*args: str) -> str:
    return kubectl("-n", "kube-system", *args)


def etcdctl(admin: str, *args: str) -> str:
    """etcdctl inside the admin host's etcd pod, with the healthcheck client certificate."""
    return kubectl(*etcd.exec_arguments(admin, *args))


def seconds(duration: str | int) -> int:
    """`300s`, `5m` or a plain number of seconds (the data's timeouts) as seconds."""
    text = str(duration).strip()
    value = int(text) if text.isdigit() else parse_duration(text)
    if value is None:
        raise GoldentoothError(f"invalid duration {duration!r}: expected e.g. 300s, 5m or 300")
    return value


def until(ctx: Context, what: str, probe: Callable[[], str | None], timeout: int) -> None:
    """Poll `probe` (None = passed, else the reason) every few seconds; raise GateFailed after `timeout`."""
    waited = 0
    while True:
        reason = probe()
        if reason is None:
            return
        if waited >= timeout:
            raise GateFailed(f"{what}: {reason} (waited {timeout}s)")
        ctx.sleep(POLL_SECONDS)
        waited += POLL_SECONDS


def readyz(ctx: Context, admin: str) -> str | None:
    answer = ctx.executor.run(admin, kubectl("get", "--raw=/readyz"), 60)
    text = (answer.stdout or answer.stderr).strip()
    return None if answer.ok and text == "ok" else f"the API server's /readyz answered {text or answer.rc!r}, not ok"


def haproxy_down(ctx: Context, control_planes: list[str]) -> str | None:
    """None when every load balancer routes to every listed control plane (row UP), else which do not."""
    backends = {}
    for balancer in ctx.cluster.names("load_balancer"):
        host = ctx.cluster.host(balancer)
        backends[balancer] = fact(ctx, balancer, HaproxyBackends, int(host.get("haproxy_stats_port")), str(host.get("haproxy_stats_uri")))
    problems = [problem for name in control_planes for problem in backend_problems(name, backends)]
    return "; ".join(problems) or None


def etcd_unhealthy(ctx: Context, admin: str, members: list[str]) -> str | None:
    """None when etcd has exactly `members`, all started, and `endpoint health --cluster` finds each healthy."""
    listed = ctx.executor.run(admin, etcdctl(admin, "member", "list"), 120)
    health = ctx.executor.run(admin, etcdctl(admin, "endpoint", "health", "--cluster"), 120)
    problems = etcd.membership_problems(listed.stdout.splitlines(), (health.stdout + health.stderr).splitlines(), members)
    if not listed.ok:
        problems.insert(0, f"etcdctl member list exited {listed.rc}: {listed.stderr.strip()[-200:]}")
    return "; ".join(problems) or None


def nodes(ctx: Context, admin: str) -> dict:
    return fact(ctx, admin, ClusterNodes)


def static_pods(ctx: Context, admin: str) -> dict[str, dict[str, dict]]:
    """Mirror pods of the control-plane static pods: `{node: {component: {"ready", "images"}}}`."""
    return mirror_pods(json.loads(ctx.read(admin, kube_system("get", "pods", "-o", "json")).stdout or "{}"))


def static_pods_behind(pods: dict[str, dict], version: str | None, only: tuple[str, ...] = STATIC_PODS) -> str | None:
    """None when the listed static pods are Ready and (given a version) the control-plane ones run :v<version>."""
    return ", ".join(static_pod_problems(pods, version, only)) or None
