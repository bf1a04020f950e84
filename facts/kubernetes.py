"""Facts asked of the Kubernetes API through kubectl on a control plane (as root, admin.conf)."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from pyinfra.api import FactBase, QuoteString, StringCommand

ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf"
NO_ADMIN_CONF = "no-admin-conf"
K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def kubectl(*args: str | QuoteString) -> StringCommand:
    """`kubectl --kubeconfig /etc/kubernetes/admin.conf ARGS...`."""
    return StringCommand("kubectl", "--kubeconfig", ADMIN_KUBECONFIG, *args)


def _guarded(command: StringCommand) -> StringCommand:
    """Run a kubectl read only where admin.conf exists; otherwise print a marker (fact value None)."""
    return StringCommand("if [ -f", ADMIN_KUBECONFIG, "]; then", command, "; else echo", NO_ADMIN_CONF, "; fi")


class ClusterNodes(FactBase[dict[str, Any]]):
    """
    The cluster's Node objects by name: labels, taints, annotations, readiness, kubelet version.
    Empty when this host has no /etc/kubernetes/admin.conf (no cluster to ask from here yet).

    .. code:: python

        {"velaryon": {"labels": {"gpu": "true"}, "taints": [{"key": "gpu", "value": "true",
         "effect": "NoSchedule"}], "annotations": {...}, "ready": True, "unschedulable": False,
         "kubelet_version": "v1.32.3"}}
    """

    def requires_command(self) -> str:
        return "kubectl"

    def command(self) -> StringCommand:
        return _guarded(kubectl("get", "nodes", "-o", "json"))

    default = dict

    def process(self, output: list[str]) -> dict[str, Any]:
        text = "\n".join(output).strip()
        if text == NO_ADMIN_CONF:
            return {}
        nodes: dict[str, Any] = {}
        for item in json.loads(text).get("items", []):
            metadata = item.get("metadata", {})
            status = item.get("status", {})
            conditions = {c.get("type"): c.get("status") for c in status.get("conditions", [])}
            nodes[metadata["name"]] = {
                "labels": dict(metadata.get("labels") or {}),
                "annotations": dict(metadata.get("annotations") or {}),
                "taints": [
                    {key: taint[key] for key in ("key", "value", "effect") if taint.get(key) not in (None, "")}
                    for taint in item.get("spec", {}).get("taints") or []
                ],
                "unschedulable": bool(item.get("spec", {}).get("unschedulable", False)),
                "ready": conditions.get("Ready") == "True",
                "kubelet_version": status.get("nodeInfo", {}).get("kubeletVersion", ""),
            }
        return nodes


class WorkloadImages(FactBase[dict[str, list[str]]]):
    """
    Container images of the workloads of one kind in a namespace, by workload name (e.g. the
    daemonsets of kube-system). Empty when there are none or this host has no admin.conf to ask
    with. The kind is listed as JSON, so a missing workload is not a kubectl error.

    .. code:: python

        {"calico-node": ["docker.io/calico/node:v3.29.3"], "kube-proxy": ["registry.k8s.io/kube-proxy:v1.32.3"]}
    """

    default = dict

    def requires_command(self, namespace: str, kind: str) -> str:
        return "kubectl"

    def command(self, namespace: str, kind: str) -> StringCommand:
        if not (K8S_NAME.match(namespace) and K8S_NAME.match(kind)):
            raise ValueError(f"invalid namespace or kind {namespace}/{kind}")
        return _guarded(kubectl("-n", QuoteString(namespace), "get", QuoteString(kind), "-o", "json"))

    def process(self, output: list[str]) -> dict[str, list[str]]:
        text = "\n".join(output).strip()
        if text in ("", NO_ADMIN_CONF):
            return {}
        document = json.loads(text)
        return {
            item["metadata"]["name"]: [
                container.get("image", "")
                for container in item.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
            ]
            for item in document.get("items", [document])
        }


class UploadedKubeadmConfig(FactBase[dict[str, Any]]):
    """
    The configuration kubeadm uploaded to the cluster, authoritative once it exists (spec 50 §3):
    ClusterConfiguration from ``kube-system/kubeadm-config`` and KubeletConfiguration from
    ``kube-system/kubelet-config``, parsed. Empty when neither exists or this host has no
    admin.conf to ask with.

    .. code:: python

        {"ClusterConfiguration": {"kind": "ClusterConfiguration", "networking": {...}, ...},
         "KubeletConfiguration": {"kind": "KubeletConfiguration", "cgroupDriver": "systemd", ...}}
    """

    default = dict
    KEYS = {"kubeadm-config": ("ClusterConfiguration", "ClusterConfiguration"), "kubelet-config": ("kubelet", "KubeletConfiguration")}

    def requires_command(self) -> str:
        return "kubectl"

    def command(self) -> StringCommand:
        return _guarded(kubectl("-n", "kube-system", "get", "configmap", *self.KEYS, "-o", "json", "--ignore-not-found"))

    def process(self, output: list[str]) -> dict[str, Any]:
        text = "\n".join(output).strip()
        if text in ("", NO_ADMIN_CONF):
            return {}
        document = json.loads(text)
        uploaded: dict[str, Any] = {}
        for item in document.get("items", [document]):
            key, kind = self.KEYS.get(item.get("metadata", {}).get("name", ""), (None, None))
            if key and key in item.get("data", {}):
                uploaded[kind] = yaml.safe_load(item["data"][key])
        return uploaded
