"""Requests the API double answers, on the state held by the init node (see state.py).

Authorization mirrors the real cluster: cluster-info and /version are anonymous; join and
certificate download need a valid bootstrap token; node status needs the node's own kubelet
certificate (system:node:<name>); everything else needs an admin certificate
(kubeadm:cluster-admins or system:masters).
"""

from __future__ import annotations

import copy
import hashlib
import json
import time

from . import pki, state
from .common import Failure, path
from .state import ADMIN_GROUPS, CERTS_TTL, load, save

ANONYMOUS = {"version", "cluster-info"}
TOKEN_OPS = {"join", "download-certs"}


def handle(op: str, body: dict, identity: dict) -> dict:
    data = load()
    if op in TOKEN_OPS:
        if not state.valid_token(data, identity.get("token", "")):
            raise Failure("Unauthorized: invalid or expired bootstrap token")
    elif op == "node-status":
        if identity.get("user") != f"system:node:{body.get('name')}":
            raise Failure(f"Forbidden: {identity.get('user')!r} cannot update node {body.get('name')!r}")
    elif op == "config" and str(identity.get("user", "")).startswith("system:node:"):
        pass  # kubeadm upgrade node reads the cluster configuration with the kubelet's credentials
    elif op not in ANONYMOUS and not set(identity.get("groups", [])) & ADMIN_GROUPS:
        raise Failure(f"Forbidden: User {identity.get('user') or 'system:anonymous'!r} cannot {op}")
    handler = HANDLERS.get(op)
    if handler is None:
        raise Failure(f"the server could not find the requested resource ({op})")
    result = handler(data, body)
    save(data)
    return result


def _version(data: dict, body: dict) -> dict:
    major, minor, _ = data["version"].lstrip("v").split(".")
    return {"major": major, "minor": minor, "gitVersion": data["version"], "platform": "linux/lab"}


def _join(data: dict, body: dict) -> dict:
    name = body["name"]
    existing = data["nodes"].get(name)
    if existing and existing["ready"]:
        raise Failure(f"a Node with name \"{name}\" and status \"Ready\" already exists in the cluster. You must "
                      f"delete the existing Node or change the name of this new joining Node")
    state.register_node(data, name, body["address"], body["kubeletVersion"], body["controlPlane"], body["taints"])
    if body["controlPlane"]:
        data["etcdMembers"][name] = body["address"]
    signed = pki.sign(path("/etc/kubernetes/pki/ca"), body["csr"].encode(), "clientAuth")
    return {"kubeletCertificate": signed.decode(), "cluster": data["cluster"], "kubelet": data["kubelet"],
            "version": data["version"], "holder": data["holder"], "etcdMembers": data["etcdMembers"]}


def _download_certs(data: dict, body: dict) -> dict:
    certs = data.get("kubeadmCerts")
    if not certs or certs["expires"] < time.time():
        raise Failure('error downloading certs: secrets "kubeadm-certs" is forbidden or not found '
                      '(the certificate key expired after 2 hours: upload the certificates again)')
    return {"blob": certs["blob"]}


def _upload_certs(data: dict, body: dict) -> dict:
    data["kubeadmCerts"] = {"blob": body["blob"], "expires": time.time() + CERTS_TTL}
    return {}


def _token_create(data: dict, body: dict) -> dict:
    return {"token": state.new_token(data, body.get("ttl", "24h"), body.get("description", ""),
                                     body.get("usages"), body.get("groups"), body.get("token", ""))}


def _token_delete(data: dict, body: dict) -> dict:
    token_id = body["id"].split(".")[0]
    if token_id not in data["tokens"]:
        raise Failure(f'secrets "bootstrap-token-{token_id}" not found')
    del data["tokens"][token_id]
    return {}


def _token_list(data: dict, body: dict) -> dict:
    return {"tokens": [{"id": token_id, **{k: v for k, v in entry.items() if k != "secret"}}
                       for token_id, entry in sorted(data["tokens"].items())]}


def _config(data: dict, body: dict) -> dict:
    return {"cluster": data["cluster"], "kubelet": data["kubelet"], "version": data["version"],
            "etcdMembers": data["etcdMembers"]}


def _set_version(data: dict, body: dict) -> dict:
    data["version"] = body["version"]
    data["cluster"]["kubernetesVersion"] = body["version"]
    data["clusterConfiguration"]["kubernetesVersion"] = body["version"]
    return {}


def _nodes(data: dict, body: dict) -> dict:
    names = [body["name"]] if body.get("name") else sorted(data["nodes"])
    return {"items": [state.node_object(n, state.require_node(data, n)) for n in names]}


def _node_patch(data: dict, body: dict) -> dict:
    node = state.require_node(data, body["name"])
    for field in ("labels", "annotations"):
        for key, value in (body.get(field) or {}).items():
            if value is None:
                node[field].pop(key, None)
            else:
                node[field][key] = value
    if "taints" in body:
        node["taints"] = body["taints"]
    if "unschedulable" in body:
        node["unschedulable"] = body["unschedulable"]
    return state.node_object(body["name"], node)


def _node_delete(data: dict, body: dict) -> dict:
    state.require_node(data, body["name"])
    del data["nodes"][body["name"]]
    data["etcdMembers"].pop(body["name"], None)
    return {}


def _node_status(data: dict, body: dict) -> dict:
    node = state.require_node(data, body["name"])
    node.update(kubeletVersion=body["kubeletVersion"], ready=True, staticPods=body.get("staticPods", []))
    return {}


def _objects(data: dict, body: dict) -> dict:
    prefix = f"{body['kind'].lower()}/"
    objects = {**state.uploaded_objects(data), **state.mirror_pods(data), **data["objects"]}
    items = [copy.deepcopy(v) for k, v in sorted(objects.items()) if k.startswith(prefix)
             and (not body.get("name") or v["metadata"]["name"] == body["name"])
             and (not body.get("namespace") or v["metadata"].get("namespace", "") in ("", body["namespace"]))]
    return {"items": items}


def _apply(data: dict, body: dict) -> dict:
    manifest = body["manifest"]
    key = state.object_key(manifest)
    previous = data["objects"].get(key)
    data["objects"][key] = manifest
    return {"result": "created" if previous is None else "unchanged" if previous == manifest else "configured",
            "key": key}


def _stored(data: dict, key: str, kind: str, name: str) -> dict:
    """An object created or applied through the API; derived ones (kubeadm's, mirror pods) are read-only."""
    if key not in data["objects"]:
        if key in state.uploaded_objects(data) or key in state.mirror_pods(data):
            raise Failure(f"lab double: {kind}/{name} is derived from the cluster state and read-only here")
        raise Failure(f'Error from server (NotFound): {kind}s "{name}" not found')
    return data["objects"][key]


def _create(data: dict, body: dict) -> dict:
    manifest = body["manifest"]
    key = state.object_key(manifest)
    kind, name = manifest["kind"].lower(), manifest["metadata"]["name"]
    if key in data["objects"] or key in state.uploaded_objects(data) or key in state.mirror_pods(data):
        raise Failure(f'failed to create {kind}: {kind}s "{name}" already exists')
    data["objects"][key] = manifest
    return {"key": key}


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _patch(data: dict, body: dict) -> dict:
    key = f"{body['kind']}/{body['namespace']}/{body['name']}"
    current = _stored(data, key, body["kind"], body["name"])
    patched = merge_patch(current, body["patch"])
    if not isinstance(patched, dict) or patched.get("metadata", {}).get("name") != body["name"] \
            or patched.get("kind", "").lower() != body["kind"]:
        raise Failure("the patch may not change the kind or the name of the object")
    data["objects"][key] = patched
    return {"changed": patched != current}


def _delete_object(data: dict, body: dict) -> dict:
    key = f"{body['kind']}/{body['namespace']}/{body['name']}"
    _stored(data, key, body["kind"], body["name"])
    del data["objects"][key]
    return {}


def _member_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def _etcdctl(data: dict, body: dict) -> dict:
    """etcdctl through `kubectl exec etcd-<member>`: member list/remove and endpoint health."""
    if body["pod"].removeprefix("etcd-") not in data["etcdMembers"]:
        raise Failure(f'Error from server (NotFound): pods "{body["pod"]}" not found')
    words = [word for word in body["args"] if not word.startswith("--")]
    members = sorted(data["etcdMembers"].items())
    if words[:2] == ["member", "list"]:
        lines = [f"{_member_id(n)}, started, {n}, https://{a}:2380, https://{a}:2379, false" for n, a in members]
    elif words[:2] == ["member", "remove"] and len(words) == 3:
        name = next((n for n, _ in members if _member_id(n) == words[2]), None)
        if name is None:
            raise Failure("Error: etcdserver: member not found")
        del data["etcdMembers"][name]
        lines = [f"Member {words[2]} removed from cluster {_member_id(data['cluster']['clusterName'])}"]
    elif words[:2] == ["endpoint", "health"] and "--cluster" in body["args"]:
        lines = [f"https://{a}:2379 is healthy: successfully committed proposal: took = 1.2ms" for _, a in members]
    elif words[:2] == ["snapshot", "save"] and len(words) == 3:
        return {"snapshot": json.dumps(data, sort_keys=True), "stdout": f"Snapshot saved at {words[2]}\n"}
    else:
        raise Failure(f"lab double: etcdctl {' '.join(words)} is not supported (member list/remove, endpoint health "
                      f"--cluster, snapshot save PATH)")
    return {"stdout": "\n".join(lines) + "\n"}


def _leave_etcd(data: dict, body: dict) -> dict:
    data["etcdMembers"].pop(body["name"], None)
    return {}


HANDLERS = {
    "version": _version, "cluster-info": lambda data, body: state.cluster_info(data), "join": _join,
    "download-certs": _download_certs, "upload-certs": _upload_certs, "token-create": _token_create,
    "token-delete": _token_delete, "token-list": _token_list, "config": _config, "set-version": _set_version,
    "nodes": _nodes, "node-patch": _node_patch, "node-delete": _node_delete, "node-status": _node_status,
    "objects": _objects, "apply": _apply, "create": _create, "patch": _patch, "delete": _delete_object,
    "etcdctl": _etcdctl, "leave-etcd": _leave_etcd,
}
