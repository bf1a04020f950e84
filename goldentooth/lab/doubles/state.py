"""Cluster state of the lab control-plane double: what etcd and the API objects hold for real.

One JSON file on the init node (/var/lib/kubeadm-double/cluster.json) holds the cluster version
and configuration, bootstrap tokens, the uploaded control-plane certificates, nodes (labels,
taints, annotations, cordon, kubelet version and readiness) and applied objects. Only the API
double on the init node reads and writes it; every other caller goes through that API.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import time

import yaml

from .common import Failure, path

STATE_FILE = "/var/lib/kubeadm-double/cluster.json"
HOLDER_FILE = "/var/lib/kubeadm-double/holder"
CERTS_TTL = 2 * 3600
ADMIN_GROUPS = {"system:masters", "kubeadm:cluster-admins"}


def load() -> dict:
    return json.loads(path(STATE_FILE).read_text())


def save(state: dict) -> None:
    target = path(STATE_FILE)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_suffix(".tmp")
    staging.write_text(json.dumps(state, indent=1, sort_keys=True))
    staging.replace(target)


def parse_duration(text: str) -> int:
    """Go durations as kubeadm takes them (``1h``, ``1h0m0s``, ``30m``, ``0`` = never)."""
    units = {"h": 3600, "m": 60, "s": 1}
    total, number = 0.0, ""
    for char in str(text):
        if char.isdigit() or char == ".":
            number += char
        elif char in units and number:
            total, number = total + float(number) * units[char], ""
        else:
            raise Failure(f'invalid duration "{text}"')
    if number and number != "0":
        raise Failure(f'time: missing unit in duration "{text}"')
    return int(total)


def new_token(state: dict, ttl: str = "24h", description: str = "", usages: list | None = None,
              groups: list | None = None, token: str = "") -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    token = token or "".join(secrets.choice(alphabet) for _ in range(6)) + "." + \
        "".join(secrets.choice(alphabet) for _ in range(16))
    seconds = parse_duration(ttl)
    token_id, secret = token.split(".")
    state["tokens"][token_id] = {"secret": secret, "description": description,
                                 "expires": time.time() + seconds if seconds else 0,
                                 "usages": usages or ["authentication", "signing"],
                                 "groups": groups or ["system:bootstrappers:kubeadm:default-node-token"]}
    return token


def valid_token(state: dict, token: str) -> bool:
    token_id, _, secret = token.partition(".")
    entry = state["tokens"].get(token_id)
    return bool(entry and hmac.compare_digest(entry["secret"], secret)
                and (not entry["expires"] or entry["expires"] > time.time()))


def cluster_info(state: dict) -> dict:
    """ConfigMap kube-public/cluster-info: the kubeconfig plus one JWS-style signature per token."""
    kubeconfig = state["clusterInfo"]
    signatures = {f"jws-kubeconfig-{token_id}": hmac.new(entry["secret"].encode(), kubeconfig.encode(),
                                                         hashlib.sha256).hexdigest()
                  for token_id, entry in state["tokens"].items()
                  if not entry["expires"] or entry["expires"] > time.time()}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cluster-info", "namespace": "kube-public"},
            "data": {"kubeconfig": kubeconfig, **signatures}}


def uploaded_objects(state: dict) -> dict[str, dict]:
    """The ConfigMaps kubeadm uploads: kubeadm-config, kubelet-config and cluster-info."""
    def config_map(namespace: str, name: str, data: dict) -> dict:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
                "data": data}

    def dump(document: dict) -> str:
        return yaml.safe_dump(document, sort_keys=True)

    return {
        "configmap/kube-system/kubeadm-config": config_map("kube-system", "kubeadm-config",
                                                           {"ClusterConfiguration": dump(state["clusterConfiguration"])}),
        "configmap/kube-system/kubelet-config": config_map("kube-system", "kubelet-config",
                                                           {"kubelet": dump(state["kubelet"])}),
        "configmap/kube-public/cluster-info": cluster_info(state),
    }


def register_node(state: dict, name: str, address: str, version: str, control_plane: bool,
                  taints: list, extra_labels: dict | None = None) -> None:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **(extra_labels or {})}
    if control_plane:
        labels.update({"node-role.kubernetes.io/control-plane": "",
                       "node.kubernetes.io/exclude-from-external-load-balancers": ""})
    state["nodes"][name] = {"labels": labels, "annotations": {}, "taints": copy.deepcopy(taints),
                            "unschedulable": False, "address": address, "kubeletVersion": version,
                            "ready": False, "controlPlane": control_plane}


def node_object(name: str, node: dict) -> dict:
    """A v1 Node as `kubectl get node -o json` prints it (the fields deploys and checks read)."""
    spec: dict = {"podCIDR": "", "taints": node["taints"]} if node["taints"] else {}
    if node["unschedulable"]:
        spec["unschedulable"] = True
    status = "True" if node["ready"] else "Unknown"
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": node["labels"], "annotations": node["annotations"]},
            "spec": spec,
            "status": {"addresses": [{"type": "InternalIP", "address": node["address"]},
                                     {"type": "Hostname", "address": name}],
                       "conditions": [{"type": "Ready", "status": status,
                                       "reason": "KubeletReady" if node["ready"] else "NodeStatusUnknown"}],
                       "nodeInfo": {"kubeletVersion": node["kubeletVersion"], "kubeProxyVersion": "",
                                    "containerRuntimeVersion": "containerd://lab", "operatingSystem": "linux"}}}


def mirror_pods(state: dict) -> dict[str, dict]:
    """The mirror pods of every node's static pods, as its kubelet double last posted them.

    A kubelet reports the static pods it runs from its manifest directory; the API shows each as a
    mirror pod `<pod>-<node>`. Here a node's list is replaced on every kubelet post (the unit
    restarts the double every 10 s, reading the manifests each time), so a changed manifest shows
    its new image only after the kubelet ran since the change, and a removed one disappears then.
    The pods are Ready while their node is.
    """
    pods = {}
    for node_name, node in sorted(state["nodes"].items()):
        for pod in node.get("staticPods", []):
            document = mirror_pod(node_name, node, pod)
            pods[f"pod/{document['metadata']['namespace']}/{document['metadata']['name']}"] = document
    return pods


def mirror_pod(node_name: str, node: dict, pod: dict) -> dict:
    """A v1 Pod as `kubectl get pod -o json` shows a static pod's mirror (the fields gates read)."""
    ready = "True" if node["ready"] else "False"
    config = {"kubernetes.io/config.hash": pod["hash"], "kubernetes.io/config.mirror": pod["hash"],
              "kubernetes.io/config.seen": pod["seen"], "kubernetes.io/config.source": "file"}
    containers = [{"name": c["name"], "image": c["image"]} for c in pod["containers"]]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{pod['name']}-{node_name}", "namespace": pod["namespace"], "labels": pod["labels"],
                         "annotations": config,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node_name, "controller": True}]},
            "spec": {"nodeName": node_name, "hostNetwork": True, "priorityClassName": "system-node-critical",
                     "containers": containers},
            "status": {"phase": "Running", "hostIP": node["address"], "podIP": node["address"],
                       "conditions": [{"type": kind, "status": ready} for kind in
                                      ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")]
                       + [{"type": "PodScheduled", "status": "True"}],
                       "containerStatuses": [{**c, "ready": node["ready"], "started": node["ready"], "restartCount": 0,
                                              "state": {"running": {"startedAt": pod["seen"]}}} for c in containers]}}


def require_node(state: dict, name: str) -> dict:
    if name not in state["nodes"]:
        raise Failure(f'Error from server (NotFound): nodes "{name}" not found')
    return state["nodes"][name]


def object_key(manifest: dict) -> str:
    metadata = manifest.get("metadata") or {}
    if not manifest.get("kind") or not metadata.get("name"):
        raise Failure("error: error validating data: [apiVersion not set, kind not set or metadata.name not set]")
    return f"{manifest['kind'].lower()}/{metadata.get('namespace', '')}/{metadata['name']}"
