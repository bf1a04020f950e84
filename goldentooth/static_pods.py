"""The control-plane static pods as the API shows them (their mirror pods), and what is wrong with them.

One reading for the join gate, the upgrade and renewal gates and the health checks: a mirror pod
is `<component>-<node>`, Ready by its `Ready` condition, running the images of its containers.
"""

from __future__ import annotations

from typing import Any

from .kubeadm_state import STATIC_PODS


def mirror_pods(listing: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """`{node: {component: {"ready": bool, "images": [...]}}}` from `kubectl get pod(s) -o json` (a List or one Pod)."""
    items = listing.get("items", [listing] if listing.get("kind") == "Pod" else [])
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for item in items:
        name = item.get("metadata", {}).get("name", "")
        node = item.get("spec", {}).get("nodeName", "")
        component = name.removesuffix(f"-{node}")
        if node and component in STATIC_PODS and name == f"{component}-{node}":
            conditions = {c.get("type"): c.get("status") for c in item.get("status", {}).get("conditions", [])}
            images = [c.get("image", "") for c in item.get("spec", {}).get("containers", [])]
            found.setdefault(node, {})[component] = {"ready": conditions.get("Ready") == "True", "images": images}
    return found


def problems(pods: dict[str, dict[str, Any]], version: str | None = None, only: tuple[str, ...] = STATIC_PODS) -> list[str]:
    """What keeps one node's static pods from being Ready and, given a version, from running `:v<version>`
    (etcd has its own version line and is not compared)."""
    found = []
    for component in only:
        pod = pods.get(component)
        if pod is None:
            found.append(f"{component} missing")
        elif not pod["ready"]:
            found.append(f"{component} not Ready")
        elif version and component != "etcd" and not all(image.endswith(f":v{version}") for image in pod["images"]):
            found.append(f"{component} runs {', '.join(pod['images'])}")
    return found
