"""kubectl double: the kubectl commands the engine runs, against the lab API server double.

Supported: version, get (nodes, pods (the static pods' mirrors), applied and created kinds, KIND/NAME
refs, --ignore-not-found, --raw), label, taint, annotate, cordon, uncordon, drain, apply -f (a file or -
for stdin), diff -f, and in kubectl_objects.py: create configmap, patch --type merge, delete,
wait --for=condition=Ready node/N|pod/P, ``exec etcd-<member> -- etcdctl`` (member list/remove,
endpoint health --cluster, snapshot save). Other commands and flags are rejected as kubectl does
(``error: unknown flag: --x``). Workloads never run in the lab, so nothing needs evicting on drain
and ``rollout status`` fails saying so.
"""

from __future__ import annotations

import json
import sys

import yaml

from .common import Failure, Flags, UsageError, path, run_logged
from .kubectl_objects import NODE_KINDS, call as _call, create, delete, exec_etcdctl, kind_name as _kind, patch, ready, wait

S, B = ("str", ""), ("bool", False)
FLAGS = Flags({"kubeconfig": S, "namespace": S, "all-namespaces": B, "output": S, "overwrite": B, "raw": S,
               "filename": ("list", []), "for": S, "timeout": ("str", "30s"), "ignore-daemonsets": B,
               "delete-emptydir-data": B, "grace-period": ("str", "-1"), "force": B, "disable-eviction": B,
               "client": B, "selector": S, "ignore-not-found": B, "server-side": B, "v": ("str", "0"),
               "from-literal": ("array", []), "type": ("str", "strategic"), "patch": S},
              {"n": "namespace", "A": "all-namespaces", "o": "output", "f": "filename", "l": "selector", "p": "patch"})


def main(argv: list[str], version: str) -> int:
    def body(details: dict) -> int:
        values, words = FLAGS.parse(argv)
        if not words:
            raise UsageError("no command given")
        command, args = words[0], words[1:]
        details["command"] = command
        handler = COMMANDS.get(command)
        if handler is None:
            raise UsageError(f'unknown command "{command}" for "kubectl"')
        return handler(values, args, version)

    return run_logged("kubectl", argv, body, lambda message: f"error: {message}\nSee 'kubectl --help' for usage.",
                      lambda message: message if message.startswith("Error from server") else f"error: {message}")


def _print(values: dict, document: dict, table: list[str]) -> None:
    output = values["output"]
    if output == "json":
        print(json.dumps(document, indent=4))
    elif output == "yaml":
        print(yaml.safe_dump(document, sort_keys=False), end="")
    elif output == "name":
        for item in document.get("items", [document]):
            print(f"{item['kind'].lower()}/{item['metadata']['name']}")
    elif output in ("", "wide"):
        print("\n".join(table))
    else:
        raise UsageError(f'unable to match a printer suitable for the output format "{output}"')


def _version(values: dict, args: list[str], version: str) -> int:
    client = {"major": version.split(".")[0], "minor": version.split(".")[1], "gitVersion": f"v{version}",
              "platform": "linux/lab"}
    document = {"clientVersion": client, "kustomizeVersion": "v5.5.0"}
    if not values["client"]:
        document["serverVersion"] = _call(values, "version")
    if values["output"] in ("json", "yaml"):
        _print(values, document, [])
    else:
        print(f"Client Version: v{version}\nKustomize Version: v5.5.0")
        if "serverVersion" in document:
            print(f"Server Version: {document['serverVersion']['gitVersion']}")
    return 0


def _get(values: dict, args: list[str], version: str) -> int:
    if values["raw"]:
        if values["raw"] in ("/readyz", "/livez", "/healthz"):
            _call(values, "version")
            print("ok")
        elif values["raw"] == "/version":
            print(json.dumps(_call(values, "version"), indent=2))
        else:
            raise Failure(f'the server could not find the requested resource ({values["raw"]})')
        return 0
    if not args:
        raise UsageError("You must specify the type of resource to get.")
    refs = _refs(args)
    items = []
    for kind, name in refs:
        found = _get_nodes(values, name) if kind in NODE_KINDS else _get_objects(values, kind, name)
        if name and not found and not values["ignore-not-found"]:
            raise Failure(f'Error from server (NotFound): {_kind(kind)}s "{name}" not found')
        items += found
    if not items and values["ignore-not-found"]:
        return 0
    if all(kind in NODE_KINDS for kind, _ in refs):
        table = ["NAME" + " " * 12 + "STATUS" + " " * 5 + "ROLES" + " " * 11 + "VERSION"] + [
            f"{n['metadata']['name']:<16}{_status(n):<11}{_roles(n):<16}{n['status']['nodeInfo']['kubeletVersion']}"
            for n in items]
    elif all(kind_word in ("pod", "pods", "po") for kind_word, _ in refs):
        table = [f"{'NAME':<36}READY   STATUS    RESTARTS"] + [
            f"{p['metadata']['name']:<36}{'1/1' if ready(p) else '0/1':<8}{p['status']['phase']:<10}0" for p in items]
    else:
        table = ["NAME"] + [i["metadata"]["name"] for i in items] if items else ["No resources found"]
    single = len(refs) == 1 and bool(refs[0][1]) and len(items) == 1
    _print(values, items[0] if single else {"apiVersion": "v1", "kind": "List", "items": items}, table)
    return 0


def _refs(args: list[str]) -> list[tuple[str, str]]:
    """`KIND [NAME...]` or `KIND/NAME...` (kinds may differ) as (lower-case kind, name or "") pairs."""
    if any("/" in arg for arg in args):
        if not all("/" in arg for arg in args):
            raise UsageError("there is no need to specify a resource type as a separate argument when passing "
                             "arguments in resource/name form")
        return [(kind.lower(), name) for kind, name in (arg.split("/", 1) for arg in args)]
    return [(args[0].lower(), name) for name in args[1:]] or [(args[0].lower(), "")]


def _get_nodes(values: dict, name: str) -> list[dict]:
    return _call(values, "nodes", {"name": name} if name else {})["items"]


def _get_objects(values: dict, kind: str, name: str) -> list[dict]:
    namespace = "" if values["all-namespaces"] else values["namespace"]
    return _call(values, "objects", {"kind": _kind(kind), "name": name, "namespace": namespace})["items"]


def _status(node: dict) -> str:
    ready = next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")
    text = "Ready" if ready == "True" else "NotReady"
    return text + (",SchedulingDisabled" if node["spec"].get("unschedulable") else "")


def _roles(node: dict) -> str:
    roles = [k.split("/", 1)[1] for k in node["metadata"]["labels"] if k.startswith("node-role.kubernetes.io/")]
    return ",".join(sorted(roles)) or "<none>"


def _node_args(args: list[str], command: str) -> tuple[str, list[str]]:
    if len(args) < 2 or args[0] not in NODE_KINDS:
        raise Failure(f"lab double: `kubectl {command}` supports nodes only: kubectl {command} node NAME ...")
    return args[1], args[2:]


def _label_like(field: str) -> callable:
    def command(values: dict, args: list[str], version: str) -> int:
        name, changes = _node_args(args, field[:-1] if field == "labels" else "annotate")
        current = _call(values, "nodes", {"name": name})["items"][0]["metadata"][field]
        patch: dict = {}
        for change in changes:
            if change.endswith("-"):
                patch[change[:-1]] = None
                continue
            key, _, value = change.partition("=")
            if key in current and current[key] != value and not values["overwrite"]:
                raise Failure(f"'{key}' already has a value ({current[key]}), and --overwrite is false")
            patch[key] = value
        _call(values, "node-patch", {"name": name, field: patch})
        print(f"node/{name} {'labeled' if field == 'labels' else 'annotated'}" if patch else f"node/{name} not labeled")
        return 0
    return command


def _taint(values: dict, args: list[str], version: str) -> int:
    name, changes = _node_args(args, "taint")
    taints = list(_call(values, "nodes", {"name": name})["items"][0]["spec"].get("taints", []))
    for change in changes:
        remove = change.endswith("-")
        spec, _, effect = change.rstrip("-").partition(":")
        key, _, value = spec.partition("=")
        same = [t for t in taints if t["key"] == key and (not effect or t["effect"] == effect)]
        if remove:
            if not same:
                raise Failure(f'taint "{key}" not found')
            taints = [t for t in taints if t not in same]
            continue
        if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise Failure(f'invalid taint effect: {effect}, unsupported taint effect')
        if same and not values["overwrite"]:
            raise Failure(f"node {name} already has {key} taint(s) with same effect(s) and --overwrite is false")
        taints = [t for t in taints if t not in same] + [{"key": key, "effect": effect, **({"value": value} if value else {})}]
    _call(values, "node-patch", {"name": name, "taints": taints})
    print(f"node/{name} {'untainted' if all(c.endswith('-') for c in changes) else 'tainted'}")
    return 0


def _schedulable(flag: bool, word: str) -> callable:
    def command(values: dict, args: list[str], version: str) -> int:
        if len(args) != 1:
            raise UsageError(f"error: resource(s) were provided, but no name was specified" if not args else "too many arguments")
        name = args[0].removeprefix("node/")
        current = _call(values, "nodes", {"name": name})["items"][0]["spec"].get("unschedulable", False)
        if current == flag:
            print(f"node/{name} already {word}")
        else:
            _call(values, "node-patch", {"name": name, "unschedulable": flag})
            print(f"node/{name} {word}")
        if word == "cordoned" and values.get("_drain"):
            print(f"node/{name} drained")
        return 0
    return command


def _drain(values: dict, args: list[str], version: str) -> int:
    return _schedulable(True, "cordoned")({**values, "_drain": True}, args, version)


def _manifests(values: dict) -> list[dict]:
    if not values["filename"]:
        raise Failure("must specify one of -f and -k")
    documents = []
    for file in values["filename"]:
        text = sys.stdin.read() if file == "-" else path(file).read_text()
        documents += [d for d in yaml.safe_load_all(text) if d]
    return documents


def _apply(values: dict, args: list[str], version: str) -> int:
    for manifest in _manifests(values):
        result = _call(values, "apply", {"manifest": manifest})["result"]
        print(f"{manifest['kind'].lower()}/{manifest['metadata']['name']} {result}")
    return 0


def _diff(values: dict, args: list[str], version: str) -> int:
    changed = 0
    for manifest in _manifests(values):
        kind, name = manifest["kind"].lower(), manifest["metadata"]["name"]
        found = _call(values, "objects", {"kind": kind, "name": name,
                                          "namespace": manifest["metadata"].get("namespace", "")})["items"]
        if not found or found[0] != manifest:
            print(f"diff -u -N /tmp/LIVE/{kind}.{name} /tmp/MERGED/{kind}.{name}")
            changed = 1
    return changed


def _rollout(values: dict, args: list[str], version: str) -> int:
    raise Failure("lab double: no workloads run in lab nodes, so no rollout can complete")


COMMANDS = {"version": _version, "get": _get, "label": _label_like("labels"), "annotate": _label_like("annotations"),
            "taint": _taint, "cordon": _schedulable(True, "cordoned"), "uncordon": _schedulable(False, "uncordoned"),
            "drain": _drain, "wait": wait, "apply": _apply, "diff": _diff, "delete": delete, "rollout": _rollout,
            "exec": exec_etcdctl, "create": create, "patch": patch}
