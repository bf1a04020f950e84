"""kubectl double, the commands on single named objects: create configmap, patch, delete, wait, exec.

Also the client half every kubectl command shares (`call`: a request to the API double with the
kubeconfig's credentials). `exec` supports `etcd-<member> -- etcdctl ...` only; `snapshot save`
writes the snapshot on the node the etcd pod runs on (its hostPath), which must be this node.
"""

from __future__ import annotations

import json
import os
import re
import time

from . import api
from .common import Failure, UsageError, path, write_file
from .kubelet import node_name
from .state import parse_duration

NODE_KINDS = {"node", "nodes", "no"}
SHORT_KINDS = {"ds": "daemonset", "cm": "configmap", "deploy": "deployment", "svc": "service", "ns": "namespace",
               "po": "pod"}
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def kubeconfig(values: dict) -> str:
    chosen = values["kubeconfig"] or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    if not path(chosen).exists():
        raise Failure("The connection to the server localhost:8080 was refused - did you specify the right host or port?")
    return chosen


def call(values: dict, op: str, body: dict | None = None) -> dict:
    return api.admin_request(op, body or {}, kubeconfig(values))


def kind_name(kind: str) -> str:
    """The double's singular kind name for a kubectl resource word."""
    if kind in ("runtimeclass", "runtimeclasses"):
        return "runtimeclass"
    return SHORT_KINDS.get(kind, kind).removesuffix("s")


def namespace(values: dict) -> str:
    return values["namespace"] or "default"


def _ref(args: list[str], command: str) -> tuple[str, str]:
    """`KIND NAME` or `KIND/NAME` (exactly one object) as (singular kind, name)."""
    if len(args) == 1 and "/" in args[0]:
        kind, name = args[0].split("/", 1)
    elif len(args) == 2 and "/" not in args[0]:
        kind, name = args
    else:
        raise UsageError(f"lab double: kubectl {command} takes one object: KIND NAME or KIND/NAME")
    return ("node" if kind.lower() in NODE_KINDS else kind_name(kind.lower())), name


def create(values: dict, args: list[str], version: str) -> int:
    if len(args) != 2 or args[0] not in ("configmap", "cm"):
        raise Failure("lab double: kubectl create supports `create configmap NAME --from-literal=KEY=VALUE ...` only")
    data: dict[str, str] = {}
    for literal in values["from-literal"]:
        key, sep, value = literal.partition("=")
        if not sep or not key:
            raise Failure(f'invalid literal source {literal}, expected key=value')
        if not CONFIG_KEY.match(key):
            raise Failure(f'"{key}" is not a valid key name for a ConfigMap: a valid config key must consist of '
                          "alphanumeric characters, '-', '_' or '.'")
        if key in data:
            raise Failure(f'cannot add key {key}, another key by that name already exists in Data for ConfigMap "{args[1]}"')
        data[key] = value
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": args[1], "namespace": namespace(values)},
                "data": data}
    call(values, "create", {"manifest": manifest})
    print(f"configmap/{args[1]} created")
    return 0


def patch(values: dict, args: list[str], version: str) -> int:
    kind, name = _ref(args, "patch")
    if values["type"] != "merge":
        raise Failure("lab double: kubectl patch supports --type merge only")
    try:
        document = json.loads(values["patch"])
    except json.JSONDecodeError as error:
        raise Failure(f"unable to parse \"{values['patch']}\": {error}") from error
    if kind == "node":
        raise Failure("lab double: patch nodes with label, annotate, taint or cordon")
    changed = call(values, "patch", {"kind": kind, "name": name, "namespace": namespace(values),
                                     "patch": document})["changed"]
    print(f"{kind}/{name} patched" + ("" if changed else " (no change)"))
    return 0


def delete(values: dict, args: list[str], version: str) -> int:
    kind, name = _ref(args, "delete")
    try:
        if kind == "node":
            call(values, "node-delete", {"name": name})
        else:
            call(values, "delete", {"kind": kind, "name": name, "namespace": namespace(values)})
    except Failure as error:
        if values["ignore-not-found"] and "(NotFound)" in str(error):
            return 0
        raise
    print(f'{kind} "{name}" deleted')
    return 0


def ready(item: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in item["status"].get("conditions", []))


def wait(values: dict, args: list[str], version: str) -> int:
    if values["for"] != "condition=Ready" or len(args) != 1 or "/" not in args[0]:
        raise Failure("lab double: kubectl wait supports --for=condition=Ready node/NAME or pod/NAME only")
    kind, name = _ref(args, "wait")
    if kind not in ("node", "pod"):
        raise Failure("lab double: kubectl wait supports --for=condition=Ready node/NAME or pod/NAME only")
    deadline = time.time() + parse_duration(values["timeout"])
    while True:
        if kind == "node":
            found = call(values, "nodes", {"name": name})["items"]
        else:
            found = call(values, "objects", {"kind": "pod", "name": name, "namespace": namespace(values)})["items"]
            if not found:  # kubectl wait resolves its objects once, before waiting
                raise Failure(f'Error from server (NotFound): pods "{name}" not found')
        if ready(found[0]):
            print(f"{kind}/{name} condition met")
            return 0
        if time.time() >= deadline:
            raise Failure(f"timed out waiting for the condition on {kind}s/{name}")
        time.sleep(1)


def exec_etcdctl(values: dict, args: list[str], version: str) -> int:
    if len(args) < 2 or not args[0].startswith("etcd-") or args[1] != "etcdctl":
        raise Failure("lab double: kubectl exec supports etcd-<member> -- etcdctl ... only")
    answer = call(values, "etcdctl", {"pod": args[0], "args": args[2:]})
    if "snapshot" in answer:
        _save_snapshot(args[0], [word for word in args[2:] if not word.startswith("--")][-1], answer["snapshot"])
    print(answer["stdout"], end="")
    return 0


def _save_snapshot(pod: str, target: str, content: str) -> None:
    """Write the snapshot as etcdctl does (`PATH.part`, then renamed) on the pod's node, this one."""
    if pod != f"etcd-{node_name()}":
        raise Failure(f"lab double: {pod} runs on another node; snapshot save writes to the pod's hostPath, so "
                      f"exec into the etcd pod of the node kubectl runs on (etcd-{node_name()})")
    if not path(target).parent.is_dir():
        raise Failure(f"Error: could not open {target}.part (open {target}.part: no such file or directory)")
    write_file(f"{target}.part", content, 0o600).replace(path(target))
