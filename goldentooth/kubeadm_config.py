"""kubeadm configuration documents (kubeadm.k8s.io/v1beta4, kubelet.config.k8s.io/v1beta1) from data.

Spec 50-kubeadm.md §3. Documents are plain dicts so tests can check every field against the
upstream API; `render` turns them into deterministic YAML (sorted keys, `---` separated).
Secrets (the bootstrap token, the certificate key) enter only `join_configuration`, whose output
is written to the joining node immediately before the join and deleted after it.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from .model import Cluster, Host

KUBEADM_API = "kubeadm.k8s.io/v1beta4"
KUBELET_API = "kubelet.config.k8s.io/v1beta1"
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
BOOTSTRAP_GROUP = "system:bootstrappers:kubeadm:default-node-token"
API_BIND_PORT = 6443


def _taints(host: Host, control_plane: bool) -> list[dict[str, str]]:
    """Registration taints: kubeadm's control-plane taint on control planes, then the data taints."""
    taints = [dict(CONTROL_PLANE_TAINT)] if control_plane else []
    for taint in host.get("node_taints") or []:
        entry = {"key": str(taint["key"]), "effect": str(taint["effect"])}
        if taint.get("value") not in (None, ""):
            entry["value"] = str(taint["value"])
        taints.append(entry)
    return taints


def _timeouts(cluster: Cluster) -> dict[str, Any]:
    """Only the `timeouts` keys given in data; empty means kubeadm's defaults."""
    timeouts = cluster.settings.get("kubeadm_timeouts") or {}
    return {"timeouts": {key: str(value) for key, value in sorted(timeouts.items())}} if timeouts else {}


def node_registration(host: Host, control_plane: bool) -> dict[str, Any]:
    """nodeRegistration for init and join: name, CRI socket, node IP, taints, named preflight ignores."""
    return {
        "name": host.name,
        "criSocket": str(host.get("cri_socket")),
        "taints": _taints(host, control_plane),
        "kubeletExtraArgs": [{"name": "node-ip", "value": host.address}],
        "ignorePreflightErrors": [str(check) for check in host.get("kubeadm_ignore_preflight_errors") or []],
        "imagePullPolicy": "IfNotPresent",
    }


def init_configuration(cluster: Cluster, host: Host) -> dict[str, Any]:
    """InitConfiguration for the init node (§3.1); kubeadm generates the 1 h bootstrap token."""
    return {
        "apiVersion": KUBEADM_API,
        "kind": "InitConfiguration",
        "localAPIEndpoint": {"advertiseAddress": host.address, "bindPort": API_BIND_PORT},
        "nodeRegistration": node_registration(host, control_plane=True),
        "bootstrapTokens": [
            {
                "ttl": "1h0m0s",
                "description": "goldentooth init",
                "usages": ["signing", "authentication"],
                "groups": [BOOTSTRAP_GROUP],
            }
        ],
        **_timeouts(cluster),
    }


def cluster_configuration(cluster: Cluster, kubernetes_version: str | None = None) -> dict[str, Any]:
    """ClusterConfiguration (§3.2): exact version, endpoint, networks, SANs, stacked etcd."""
    settings = cluster.settings
    version = kubernetes_version or str(settings["kubernetes_version"])
    return {
        "apiVersion": KUBEADM_API,
        "kind": "ClusterConfiguration",
        "clusterName": str(settings["cluster_name"]),
        "kubernetesVersion": f"v{version}",
        "controlPlaneEndpoint": cluster.control_plane_endpoint,
        "certificatesDir": "/etc/kubernetes/pki",
        "imageRepository": str(settings["image_repository"]),
        "networking": {
            "serviceSubnet": str(settings["service_cidr"]),
            "podSubnet": str(settings["pod_cidr"]),
            "dnsDomain": str(settings["cluster_dns_domain"]),
        },
        "apiServer": {"certSANs": [str(name) for name in settings["api_server_cert_sans"]]},
        "etcd": {"local": {"dataDir": "/var/lib/etcd"}},
    }


def kubelet_configuration(cluster: Cluster) -> dict[str, Any]:
    """Cluster-wide KubeletConfiguration (§3.3); image GC age replaces the original's invalid flag."""
    settings = cluster.settings
    return {
        "apiVersion": KUBELET_API,
        "kind": "KubeletConfiguration",
        "cgroupDriver": "systemd",
        "imageGCHighThresholdPercent": int(settings["kubelet_image_gc_high_threshold_percent"]),
        "imageGCLowThresholdPercent": int(settings["kubelet_image_gc_low_threshold_percent"]),
        "imageMaximumGCAge": str(settings["kubelet_image_maximum_gc_age"]),
    }


def join_configuration(
    cluster: Cluster,
    host: Host,
    token: str,
    ca_cert_hash: str,
    certificate_key: str | None = None,
) -> dict[str, Any]:
    """JoinConfiguration (§3.4): discovery pinned to the CA hash; control-plane part with the key.

    `unsafeSkipCAVerification` is never emitted.
    """
    control_plane = host.in_group("k8s_control_plane")
    document: dict[str, Any] = {
        "apiVersion": KUBEADM_API,
        "kind": "JoinConfiguration",
        "discovery": {
            "bootstrapToken": {
                "apiServerEndpoint": cluster.control_plane_endpoint,
                "token": token,
                "caCertHashes": [ca_cert_hash],
            },
            "tlsBootstrapToken": token,
        },
        "nodeRegistration": node_registration(host, control_plane),
        **_timeouts(cluster),
    }
    if control_plane:
        if certificate_key is None:
            raise ValueError(f"{host.name}: a control-plane join needs a certificate key")
        document["controlPlane"] = {
            "localAPIEndpoint": {"advertiseAddress": host.address, "bindPort": API_BIND_PORT},
            "certificateKey": certificate_key,
        }
    return document


def render(*documents: dict[str, Any]) -> str:
    """Deterministic multi-document YAML (sorted keys, block style)."""
    return "---\n".join(yaml.safe_dump(document, sort_keys=True, default_flow_style=False) for document in documents)


def init_file(cluster: Cluster, host: Host) -> str:
    """The content of init.yaml: Init-, Cluster- and KubeletConfiguration."""
    return render(init_configuration(cluster, host), cluster_configuration(cluster), kubelet_configuration(cluster))


_ABSENT = object()


def drift(rendered: Any, uploaded: Any, path: str = "") -> list[str]:
    """Where the cluster's uploaded configuration differs from what data renders, one line per value.

    Only what data renders is compared: kubeadm adds its defaults to the copy it uploads.
    """
    if isinstance(rendered, dict) and isinstance(uploaded, dict):
        return [line for key, value in rendered.items()
                for line in drift(value, uploaded.get(key, _ABSENT), f"{path}.{key}" if path else key)]
    if uploaded == rendered:
        return []
    have = "nothing" if uploaded is _ABSENT else json.dumps(uploaded)
    return [f"{path}: the cluster has {have}, data renders {json.dumps(rendered)}"]
