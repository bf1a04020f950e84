"""Node labels and taints reconciled from data, through kubectl on the admin host (spec 50-kubeadm.md §8).

The engine owns only the keys recorded in the node annotations goldentooth.net/managed-labels and
goldentooth.net/managed-taints; kubelet's, kubeadm's and hand-made labels and taints are left alone.
Every node is compared against one read of the Node list, so a converged cluster costs one kubectl
call however many nodes it has.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation

from facts.kubernetes import ClusterNodes, kubectl

MANAGED_LABELS = "goldentooth.net/managed-labels"
MANAGED_TAINTS = "goldentooth.net/managed-taints"
NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
UNREGISTERED = {"labels": {}, "taints": [], "annotations": {}}


def _check(node: str, labels: dict[str, str], taints: list[dict[str, str]]) -> None:
    if not NODE_NAME.match(node):
        raise OperationError(f"invalid node name {node!r}")
    for key, value in labels.items():
        if not KEY.match(key) or not VALUE.match(str(value)):
            raise OperationError(f"invalid label {key}={value} for node {node}")
    for taint in taints:
        if not KEY.match(taint.get("key", "")) or not VALUE.match(str(taint.get("value", ""))) or taint.get("effect") not in EFFECTS:
            raise OperationError(f"invalid taint {taint} for node {node}")


def _owned(annotations: dict[str, str], name: str) -> set[str]:
    return {key for key in annotations.get(name, "").split(",") if key}


def _reconcile(node: str, labels: dict[str, str], taints: list[dict[str, str]], live: dict[str, Any]) -> Iterator[StringCommand]:
    """The kubectl commands that bring one node from its live labels and taints to data (none when equal)."""
    have_labels, annotations = live["labels"], live["annotations"]
    have_taints = {taint["key"]: taint for taint in live["taints"]}
    target = QuoteString(node)
    for key, value in sorted(labels.items()):
        if have_labels.get(key) != str(value):
            yield kubectl("label", "node", target, QuoteString(f"{key}={value}"), "--overwrite")
    for key in sorted(_owned(annotations, MANAGED_LABELS) - set(labels)):
        if key in have_labels:
            yield kubectl("label", "node", target, QuoteString(f"{key}-"))
    wanted_taints = {taint["key"]: taint for taint in taints}
    for key, taint in sorted(wanted_taints.items()):
        desired = {k: str(taint[k]) for k in ("key", "value", "effect") if taint.get(k) not in (None, "")}
        if have_taints.get(key) != desired:
            value = f"={desired['value']}" if "value" in desired else ""
            yield kubectl("taint", "node", target, QuoteString(f"{key}{value}:{desired['effect']}"), "--overwrite")
    for key in sorted(_owned(annotations, MANAGED_TAINTS) - set(wanted_taints)):
        if key in have_taints:
            yield kubectl("taint", "node", target, QuoteString(f"{key}:{have_taints[key]['effect']}-"))
    for name, keys in ((MANAGED_LABELS, labels), (MANAGED_TAINTS, wanted_taints)):
        wanted = ",".join(sorted(keys))
        if annotations.get(name, "") != wanted:
            yield kubectl("annotate", "node", target, QuoteString(f"{name}={wanted}"), "--overwrite")


@operation()
def metadata(nodes: dict[str, dict[str, Any]]):
    """
    Reconcile the labels and taints goldentooth manages on every listed Node object.

    + nodes: desired state by node name, each ``{"labels": {key: value}, "taints": [{key, value, effect}]}``
      (``node_labels`` and ``node_taints`` of every Kubernetes host)

    One ``kubectl get nodes`` read serves every node. Missing or different entries are set with
    ``--overwrite``; owned entries no longer in data are removed; entries goldentooth does not own
    are never touched; commands run only for nodes that differ, so a converged cluster runs none.
    A listed node that is not registered when the operation executes fails it, after the
    registered nodes are reconciled.

    **Examples:**

    .. code:: python

        kubernetes_node.metadata(
            name="Reconcile labels and taints of every node",
            nodes={
                "velaryon": {"labels": {"gpu": "true", "arch": "amd64"},
                             "taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]},
                "erenford": {"labels": {}, "taints": []},
            },
        )
    """
    desired = {name: (dict(want.get("labels") or {}), list(want.get("taints") or [])) for name, want in nodes.items()}
    for name, (labels, taints) in desired.items():
        _check(name, labels, taints)
    live = host.get_fact(ClusterNodes)
    # While planning, a node that joins later in this run is not registered yet: plan its full set.
    missing = sorted(set(desired) - set(live)) if host.state.is_executing else []
    changed = False
    for name, (labels, taints) in sorted(desired.items()):
        if name not in missing:
            for command in _reconcile(name, labels, taints, live.get(name, UNREGISTERED)):
                changed = True
                yield command
    if missing:
        raise OperationError(
            f"node(s) {', '.join(missing)} not registered in the cluster: the join failed or the node was deleted "
            f"(`goldentooth node remove NAME`, then converge)"
        )
    if not changed:
        host.noop(f"labels and taints of {len(desired)} node(s) match data")
