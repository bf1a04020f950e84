"""Which hosts a health check runs on, and which checks the lab cannot run.

Tests declare their hosts with `@pytest.mark.groups("k8s_cluster", ...)` (optionally
`where=lambda host: ...` to filter by data); the suite runs each test once per selected host.
Marked checks (kernel, cluster, gpu, ...) are skipped with a reason on lab hosts, whose inventory
data carries `lab: True`. A marker written with `lab=True` (e.g. `@pytest.mark.e2e(lab=True)`)
declares that the check runs in the lab too; `reason="..."` replaces the generic skip reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..model import Cluster, Host

#: Markers whose checks cannot run in the lab's containers, with the reason reported as the skip.
LAB_SKIPS = {
    "kernel": "needs real kernel features (modules, nfsd, automount, ZFS, sysctls) the lab's containers lack",
    "cluster": "needs a running Kubernetes control plane; the lab has stand-in kubeadm and kubelet",
    "gpu": "needs an NVIDIA GPU and driver",
    "e2e": "cross-host functional check run against the real cluster",
    "slow": "waits on timers or age",
    "operator": "needs the operator's CA private keys",
    "idempotency": "re-runs a deploy; the lab tests (tests/lab) run the idempotency gate",
}


class SelectionError(ValueError):
    """A groups marker or --groups option names something the inventory does not have."""


def hosts_for(
    cluster: Cluster,
    groups: Iterable[str],
    where: Callable[[Host], bool] | None = None,
    only: set[str] | None = None,
) -> list[str]:
    """Inventory names of the hosts in any of `groups` (`all` = every host), in inventory order.

    `where` filters by host data; `only` (from --groups) restricts to the hosts the user chose.
    Each host appears once however many of its groups are listed.
    """
    names = list(groups)
    if not names:
        raise SelectionError("groups() needs at least one group name")
    unknown = [name for name in names if name != "all" and name not in cluster.groups]
    if unknown:
        raise SelectionError(f"unknown group(s) {', '.join(unknown)} (inventory {cluster.source})")
    selected = cluster.select(",".join(names))
    return [
        host.name
        for host in selected
        if (only is None or host.name in only) and (where is None or where(host))
    ]


def chosen_hosts(cluster: Cluster, targets: str | None) -> set[str] | None:
    """The hosts named by a --groups value (hosts and groups, comma-separated), None for all."""
    if not targets:
        return None
    try:
        return {host.name for host in cluster.select(targets)}
    except KeyError as error:
        raise SelectionError(f"{error.args[0]!r} is neither a host nor a group of {cluster.source}") from None


def is_lab(cluster: Cluster, host: str | None = None) -> bool:
    """Whether a host (or, without one, any host of the inventory) is a lab node."""
    hosts = [cluster.host(host)] if host else cluster.hosts.values()
    return any(bool(each.get("lab")) for each in hosts)


def lab_skip_reason(marks: Iterable[Any], lab: bool) -> str | None:
    """The reason to skip a check with these pytest marks in the lab, or None to run it."""
    if not lab:
        return None
    for mark in marks:
        if mark.name in LAB_SKIPS and not mark.kwargs.get("lab", False):
            return f"lab: @{mark.name}: {mark.kwargs.get('reason') or LAB_SKIPS[mark.name]}"
    return None
