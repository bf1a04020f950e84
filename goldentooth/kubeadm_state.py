"""Classification of a node's kubeadm state into the converge action (spec 50-kubeadm.md §2).

The facts give which kubeadm files exist on a node; this module maps them, with the node's role
and whether the API lists it, to exactly one action. Partial and inconsistent states stop the run
with an instruction; nothing here ever leads to `kubeadm reset`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ADMIN_CONF = "/etc/kubernetes/admin.conf"
SUPER_ADMIN_CONF = "/etc/kubernetes/super-admin.conf"
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
CA_CRT = "/etc/kubernetes/pki/ca.crt"
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
MANIFESTS_DIR = "/etc/kubernetes/manifests"
STATIC_PODS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
APISERVER_MANIFEST = f"{MANIFESTS_DIR}/kube-apiserver.yaml"
STATE_FILES = (
    ADMIN_CONF,
    SUPER_ADMIN_CONF,
    KUBELET_CONF,
    CA_CRT,
    KUBELET_CONFIG,
    *(f"{MANIFESTS_DIR}/{pod}.yaml" for pod in STATIC_PODS),
)

NONE = "none"
INIT = "init"
JOIN_CONTROL_PLANE = "join-control-plane"
JOIN_WORKER = "join-worker"

#: What each `kubeadm init` phase leaves behind (kubeadm 1.32, §4); the order is kubeadm's.
INIT_PHASES: tuple[tuple[str, str], ...] = (
    ("preflight", "checks only; pulls the control-plane images"),
    ("certs", "/etc/kubernetes/pki: cluster, front-proxy and etcd CAs and leaf certificates, sa.key/sa.pub"),
    ("kubeconfig", "admin.conf, super-admin.conf, kubelet.conf, controller-manager.conf, scheduler.conf"),
    ("etcd", "/etc/kubernetes/manifests/etcd.yaml (stacked etcd)"),
    ("control-plane", "kube-apiserver, kube-controller-manager, kube-scheduler manifests"),
    ("kubelet-start", "/var/lib/kubelet/config.yaml and kubeadm-flags.env; starts kubelet"),
    ("wait-control-plane", "waits until the static pods are healthy"),
    ("upload-config", "ConfigMaps kube-system/kubeadm-config and kubelet-config"),
    ("upload-certs", "skipped: certificates are uploaded with a fresh key when a control plane joins"),
    ("mark-control-plane", "control-plane label and NoSchedule taint"),
    ("bootstrap-token", "1 h bootstrap token, cluster-info ConfigMap, bootstrap RBAC"),
    ("kubelet-finalize", "kubelet.conf switched to the rotating client certificate"),
    ("addon", "CoreDNS and kube-proxy"),
    ("show-join-command", "printed; not parsed"),
)


class StateError(Exception):
    """A node's kubeadm state that converge must not act on; the message says what to do."""


@dataclass(frozen=True)
class NodeFiles:
    """Presence of the kubeadm state files on one node (from the KubeadmNodeState fact)."""

    admin_conf: bool = False
    kubelet_conf: bool = False
    apiserver_manifest: bool = False
    ca_crt: bool = False
    kubelet_config: bool = False

    @classmethod
    def from_fact(cls, fact: Mapping[str, Any]) -> NodeFiles:
        present = set(fact.get("files", []))
        return cls(
            admin_conf=ADMIN_CONF in present,
            kubelet_conf=KUBELET_CONF in present,
            apiserver_manifest=APISERVER_MANIFEST in present,
            ca_crt=CA_CRT in present,
            kubelet_config=KUBELET_CONFIG in present,
        )

    @property
    def untouched(self) -> bool:
        return not (self.admin_conf or self.kubelet_conf or self.apiserver_manifest or self.ca_crt or self.kubelet_config)


def classify(
    name: str,
    role: str,
    files: NodeFiles,
    registered: bool | None,
    cluster_exists: bool = False,
) -> str:
    """The converge action for one node, or StateError naming the node and the way out.

    + role: "init" (first control plane), "control-plane" (joining) or "worker"
    + registered: the API lists the node; None when the API cannot be asked yet (no cluster)
    + cluster_exists: (init node only) another control plane or the endpoint shows a live cluster
    """
    if registered is False and files.kubelet_conf:
        raise StateError(f"{name} has kubelet.conf but the API does not list it (orphan): run `goldentooth node remove {name}`, then converge")
    if role == "worker":
        return _worker(name, files)
    if files.apiserver_manifest != files.kubelet_conf:
        raise StateError(
            f"{name} is half set up (kube-apiserver.yaml {'present' if files.apiserver_manifest else 'absent'}, "
            f"kubelet.conf {'present' if files.kubelet_conf else 'absent'}); never reset automatically: "
            f"inspect it, then `goldentooth node remove {name}`"
        )
    if files.apiserver_manifest and not files.admin_conf:
        raise StateError(f"{name}: admin.conf is missing; regenerate it by hand with `kubeadm init phase kubeconfig admin`")
    if files.apiserver_manifest:
        return NONE
    if files.ca_crt or files.kubelet_config or files.admin_conf:
        raise StateError(f"{name} holds kubeadm files from an earlier attempt (pki/ca.crt, kubelet config or admin.conf) but no control plane: `goldentooth node remove {name}`")
    if role == "init":
        if cluster_exists:
            raise StateError(f"the init node {name} lost its state in a live cluster: run `goldentooth node remove {name}`, then converge (it will join as a control plane)")
        return INIT
    return JOIN_CONTROL_PLANE


def _worker(name: str, files: NodeFiles) -> str:
    if files.apiserver_manifest:
        raise StateError(f"{name} is a worker in data but runs a control plane (kube-apiserver.yaml present)")
    if files.kubelet_conf:
        return NONE
    if files.ca_crt or files.kubelet_config:
        raise StateError(f"{name}: a previous join failed (pki/ca.crt or /var/lib/kubelet/config.yaml without kubelet.conf): `goldentooth node remove {name}`, then converge")
    return JOIN_WORKER
