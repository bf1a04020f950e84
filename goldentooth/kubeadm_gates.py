"""Checks around kubeadm init and joins (spec 50-kubeadm.md §2, §7).

- What a node needs before kubeadm init or join: a synchronised clock, the memory and cpuset
  cgroup controllers, containerd with its CRI plugin.
- The cluster-absence check before init: no other control plane holds kubeadm files, no API
  server answers behind the endpoint, no load balancer routes to a live API server.
- The health gate after a control-plane join (Ready, static pods, etcd membership, load balancer
  row) and the Ready wait after a worker join.

Checks that read other hosts run at execution time, as pyinfra function commands, immediately
before or after the kubeadm command they guard; the reasoning is in plain functions below them.
"""

from __future__ import annotations

import json
import time
from typing import Any, TypedDict

from gevent import sleep
from pyinfra.api import QuoteString, StringCommand

from facts.haproxy import HaproxyBackends, is_up
from facts.kubeadm import KubeadmNodeState
from facts.kubernetes import kubectl
from goldentooth import etcd, static_pods
from goldentooth.static_pods import mirror_pods
from goldentooth.kubeadm_state import ADMIN_CONF, APISERVER_MANIFEST, KUBELET_CONF, STATIC_PODS

REQUIRED_CONTROLLERS = ("cpuset", "memory")
API_BACKEND = "k8s-api-server"
POLL_SECONDS = 5


class LoadBalancers(TypedDict):
    """Where the API load balancers' stats are read: host names, stats port and URI."""

    hosts: list[str]
    stats_port: int
    stats_uri: str


class JoinGate(TypedDict):
    """What the checks after a join need: the admin host (kubectl for worker waits), the etcd
    members expected once a control plane has joined (it and those before it), the load
    balancers, and how long to wait."""

    admin: str
    etcd_members: list[str]
    balancers: LoadBalancers
    timeout: int


def readiness_problems(readiness: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(problems that refuse init/join, warnings) from facts.kubeadm.NodeReadiness.

    A container's clock belongs to its host and cannot be synchronised from inside (10-node-base.md
    §7), so there an unsynchronised clock is a warning, never elsewhere.
    """
    problems, warnings = [], []
    if not readiness.get("ntp_synchronized"):
        message = "the clock is not synchronised (timedatectl NTPSynchronized is not yes)"
        if readiness.get("container"):
            warnings.append(f"{message}; a {readiness['container']} container cannot synchronise it: not checked")
        else:
            problems.append(message)
    missing = [name for name in REQUIRED_CONTROLLERS if name not in readiness.get("cgroup_controllers", [])]
    if missing:
        problems.append(f"cgroup controllers missing: {', '.join(missing)} (the boot command line must enable them)")
    if readiness.get("containerd") != "active":
        problems.append(f"containerd is {readiness.get('containerd')}, not active")
    elif readiness.get("cri") != "ok":
        problems.append(f"containerd's CRI plugin is {readiness.get('cri')}, not ok")
    return problems, warnings


def second_cluster_evidence(node_files: dict[str, list[str]], backends: dict[str, dict[str, dict[str, str]] | None]) -> list[str]:
    """Why a cluster may already exist: other control planes' kubeadm files, servers routed to.

    `node_files`: the files of facts.kubeadm.KubeadmNodeState per other control plane;
    `backends`: facts.haproxy.HaproxyBackends per load balancer host (None: unreadable).
    """
    evidence = [
        f"{name} has {path}" for name, files in sorted(node_files.items())
        for path in (ADMIN_CONF, APISERVER_MANIFEST, KUBELET_CONF) if path in files
    ]
    for balancer, proxies in sorted(backends.items()):
        if proxies is None:
            evidence.append(f"the HAProxy stats of {balancer} could not be read, so a running API server cannot be ruled out")
            continue
        evidence += [
            f"HAProxy on {balancer} routes to a live API server on {server} ({status})"
            for server, status in sorted(proxies.get(API_BACKEND, {}).items()) if is_up(status)
        ]
    return evidence


def backend_problems(node: str, backends: dict[str, dict[str, dict[str, str]] | None]) -> list[str]:
    """Load balancers that do not route to `node`'s API server (row missing, unreadable or not UP)."""
    problems = []
    for balancer, proxies in sorted(backends.items()):
        status = None if proxies is None else proxies.get(API_BACKEND, {}).get(node)
        if status is None or not is_up(status):
            problems.append(f"HAProxy on {balancer}: {API_BACKEND}/{node} is {status or 'not listed'}")
    return problems


def _host(state, name: str):
    """Another inventory host, connected (a check may need one this run has not touched yet)."""
    target = state.inventory.get_host(name)
    if not target.connected:
        target.connect(raise_exceptions=True)
    return target


def static_pod_problems(node: str, listing: dict[str, Any]) -> list[str]:
    """Why `node`'s static pods are not all Ready, from `kubectl get pod ... -o json`."""
    return [f"static pods of {node}: {problem}" for problem in static_pods.problems(mirror_pods(listing).get(node, {}))]


def _backends(state, balancers: LoadBalancers) -> dict[str, dict[str, dict[str, str]] | None]:
    return {
        name: _host(state, name).get_fact(HaproxyBackends, balancers["stats_port"], balancers["stats_uri"])
        for name in balancers["hosts"]
    }


def refuse_second_cluster(state, host, control_planes: list[str], balancers: LoadBalancers) -> bool:
    """Function command before `kubeadm init`: fail when any sign of a running cluster is found."""
    others = {name: _host(state, name).get_fact(KubeadmNodeState)["files"] for name in control_planes if name != host.name}
    evidence = second_cluster_evidence(others, _backends(state, balancers))
    for line in evidence:
        host.log_styled(f"refusing kubeadm init, a cluster may already exist: {line}", fg="red")
    return not evidence


def _run(target, command: StringCommand) -> tuple[bool, list[str]]:
    ok, output = target.run_shell_command(command)
    return ok, output.stdout_lines


def _json(lines: list[str]) -> dict[str, Any]:
    """kubectl's JSON output; nothing (or anything else) reads as an empty answer."""
    try:
        document = json.loads("\n".join(lines) or "{}")
    except json.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def _etcdctl(node: str, *args: str) -> StringCommand:
    return kubectl(*(QuoteString(arg) for arg in etcd.exec_arguments(node, *args)))


def control_plane_problems(state, host, node: str, members: list[str], balancers: LoadBalancers) -> list[str]:
    """One look at a joined control plane: its static pods, etcd membership and health, the load balancers' rows."""
    pods = kubectl("-n", "kube-system", "get", "pod", *(QuoteString(f"{name}-{node}") for name in STATIC_PODS), "-o", "json", "--ignore-not-found")
    _, listed_pods = _run(host, pods)
    _, listed = _run(host, _etcdctl(node, "member", "list"))
    _, health = _run(host, _etcdctl(node, "endpoint", "health", "--cluster"))
    return (static_pod_problems(node, _json(listed_pods))
            + etcd.membership_problems(listed, health, members) + backend_problems(node, _backends(state, balancers)))


def control_plane_gate(state, host, node: str, members: list[str], balancers: LoadBalancers, timeout: int, material: dict) -> bool:
    """Function command after a control-plane join: wait until its four static pods are Ready, etcd
    has exactly `members`, all healthy, and every load balancer routes to `node`; only then may
    the next node join."""
    deadline = time.monotonic() + timeout
    while True:
        problems = control_plane_problems(state, host, node, members, balancers)
        if not problems:
            material.pop("unfinished", None)
            return True
        if time.monotonic() >= deadline:
            for problem in problems:
                host.log_styled(f"{node} joined but is not healthy after {timeout}s: {problem}", fg="red")
            return False
        sleep(POLL_SECONDS)


def worker_ready(state, host, admin: str, node: str, timeout: int) -> bool:
    """Function command after a worker join: `kubectl wait` for the node to be Ready, on the admin host."""
    ok, output = _run(_host(state, admin), kubectl("wait", "--for=condition=Ready", QuoteString(f"node/{node}"), f"--timeout={int(timeout)}s"))
    if not ok:
        host.log_styled(f"{node} joined but is not Ready after {timeout}s: {' '.join(output)}", fg="red")
    return ok
