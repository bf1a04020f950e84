"""etcdctl through a control plane's etcd static pod (spec 50-kubeadm.md §7.1, §10.1 item 4).

etcd 3.5 has no etcdctl on the host; the engine runs it in the pod `etcd-<node>` with the
health-check client certificate kubeadm made. This module builds those arguments and reads the
answers of `member list` and `endpoint health --cluster`.
"""

from __future__ import annotations

from dataclasses import dataclass

ETCDCTL = (
    "etcdctl", "--endpoints=https://127.0.0.1:2379", "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
    "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt", "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key",
)


def exec_arguments(node: str, *args: str) -> tuple[str, ...]:
    """kubectl arguments running `etcdctl ARGS` in the etcd pod of `node`."""
    return ("-n", "kube-system", "exec", f"etcd-{node}", "--", *ETCDCTL, *args)


@dataclass(frozen=True)
class Member:
    id: str
    status: str
    name: str


def members(lines: list[str]) -> list[Member]:
    """The rows of `etcdctl member list` (simple format: `ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER`)."""
    rows = [[field.strip() for field in line.split(",")] for line in lines if line.strip()]
    return [Member(row[0], row[1], row[2]) for row in rows if len(row) >= 3]


def unhealthy_endpoints(lines: list[str]) -> list[str]:
    """The lines of `etcdctl endpoint health --cluster` that do not report a healthy endpoint."""
    return [line.strip() for line in lines if line.strip() and " is healthy:" not in line]


def membership_problems(lines_members: list[str], lines_health: list[str], expected: list[str]) -> list[str]:
    """Why etcd does not have exactly the `expected` members, all started and healthy (empty: it does)."""
    found = members(lines_members)
    names = sorted(member.name or member.id for member in found)
    problems = []
    if names != sorted(expected):
        problems.append(f"etcd members are {', '.join(names) or 'none'}; expected {', '.join(sorted(expected))}")
    problems += [f"etcd member {member.name or member.id} is {member.status}" for member in found if member.status != "started"]
    if not lines_health or not any(line.strip() for line in lines_health):
        problems.append("etcd endpoint health reported nothing")
    problems += [f"etcd endpoint not healthy: {line}" for line in unhealthy_endpoints(lines_health)]
    return problems
