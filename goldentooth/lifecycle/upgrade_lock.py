"""The upgrade lock: ConfigMap kube-system/goldentooth-upgrade-lock (spec 50-kubeadm.md §10.1 item 7).

`create` fails when the ConfigMap exists, so two runs cannot both take it. It holds the run id and
the target; the rollout records the node and step it works on with a merge patch, and the lock is
deleted only when the whole rollout succeeded. It lives in the cluster, not in `kubeadm-config`
(kubeadm rewrites that ConfigMap during `upgrade apply`).
"""

from __future__ import annotations

import json
import secrets
import time

from .engine import Context
from .health import kube_system

NAME = "goldentooth-upgrade-lock"
REFERENCE = f"ConfigMap kube-system/{NAME}"


def read(ctx: Context, admin: str) -> dict[str, str]:
    """The lock's data, or {} when no upgrade holds it."""
    text = ctx.read(admin, kube_system("get", "configmap", NAME, "--ignore-not-found", "-o", "json")).stdout.strip()
    return {str(k): str(v) for k, v in (json.loads(text).get("data") or {}).items()} if text else {}


def new_run_id() -> str:
    """A UTC timestamp and a random suffix: which run holds (or held) the lock."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(3)}"


def create(run_id: str, target: str) -> str:
    return kube_system("create", "configmap", NAME, f"--from-literal=run-id={run_id}", f"--from-literal=target=v{target}")


def record(node: str, step: str) -> str:
    """Merge the node and step in progress into the lock."""
    return kube_system("patch", "configmap", NAME, "--type", "merge", "-p",
                       json.dumps({"data": {"node": node, "step": step}}, sort_keys=True))


def delete() -> str:
    return kube_system("delete", "configmap", NAME)
