"""Node labels and taints reconciled from data, through kubectl on the admin host (spec 50-kubeadm.md §8).

The engine owns only the keys recorded in the node annotations goldentooth.net/managed-labels and
goldentooth.net/managed-taints; kubelet's, kubeadm's and hand-made labels and taints are left alone.
"""

from __future__ import annotations

import re

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation

from facts.kubernetes import ClusterNodes, kubectl

MANAGED_LABELS = "goldentooth.net/managed-labels"
MANAGED_TAINTS = "goldentooth.net/managed-taints"
NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


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


@operation()
def metadata(node: str, labels: dict[str, str], taints: list[dict[str, str]]):
    """
    Reconcile the labels and taints goldentooth manages on one Node object.

    + node: Kubernetes node name
    + labels: desired labels (``node_labels``)
    + taints: desired taints, each ``{key, value, effect}`` (``node_taints``)

    Missing or different entries are set with ``--overwrite``; owned entries no longer in data are
    removed; entries goldentooth does not own are never touched. A converged node runs nothing.

    **Examples:**

    .. code:: python

        kubernetes_node.metadata(
            name="Label and taint velaryon as the GPU node",
            node="velaryon",
            labels={"gpu": "true", "arch": "amd64"},
            taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}],
        )
    """
    _check(node, labels, taints)
    nodes = host.get_fact(ClusterNodes)
    current = nodes.get(node)
    if current is None and host.state.is_executing:
        raise OperationError(f"node {node} is not registered in the cluster: its join failed or it was deleted (`goldentooth node remove {node}`, then converge)")
    current = current or {"labels": {}, "taints": [], "annotations": {}}
    have_labels, annotations = current["labels"], current["annotations"]
    have_taints = {taint["key"]: taint for taint in current["taints"]}
    target = QuoteString(node)
    changed = False
    for key, value in sorted(labels.items()):
        if have_labels.get(key) != str(value):
            changed = True
            yield kubectl("label", "node", target, QuoteString(f"{key}={value}"), "--overwrite")
    for key in sorted(_owned(annotations, MANAGED_LABELS) - set(labels)):
        if key in have_labels:
            changed = True
            yield kubectl("label", "node", target, QuoteString(f"{key}-"))
    wanted_taints = {taint["key"]: taint for taint in taints}
    for key, taint in sorted(wanted_taints.items()):
        desired = {k: str(taint[k]) for k in ("key", "value", "effect") if taint.get(k) not in (None, "")}
        if have_taints.get(key) != desired:
            changed = True
            value = f"={desired['value']}" if "value" in desired else ""
            yield kubectl("taint", "node", target, QuoteString(f"{key}{value}:{desired['effect']}"), "--overwrite")
    for key in sorted(_owned(annotations, MANAGED_TAINTS) - set(wanted_taints)):
        if key in have_taints:
            changed = True
            yield kubectl("taint", "node", target, QuoteString(f"{key}:{have_taints[key]['effect']}-"))
    for name, keys in ((MANAGED_LABELS, labels), (MANAGED_TAINTS, wanted_taints)):
        wanted = ",".join(sorted(keys))
        if annotations.get(name, "") != wanted:
            changed = True
            yield kubectl("annotate", "node", target, QuoteString(f"{name}={wanted}"), "--overwrite")
    if not changed:
        host.noop(f"node {node} labels and taints match data")
