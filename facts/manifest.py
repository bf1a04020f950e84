"""Facts about Kubernetes objects that goldentooth applies from rendered manifests."""

from __future__ import annotations

import json
from typing import Any

from pyinfra.api import FactBase, QuoteString, StringCommand

from goldentooth.manifests import DIGEST_ANNOTATION


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    """The live object's digest annotation, pod-template volume names and privileged flag."""
    metadata = item.get("metadata", {})
    pod = item.get("spec", {}).get("template", {}).get("spec", {})
    containers = [*pod.get("containers", []), *pod.get("initContainers", [])]
    return {
        "digest": (metadata.get("annotations") or {}).get(DIGEST_ANNOTATION),
        "volumes": sorted(volume.get("name", "") for volume in pod.get("volumes", [])),
        "privileged": any((c.get("securityContext") or {}).get("privileged") for c in containers),
    }


class LiveObjects(FactBase[dict[str, Any]]):
    """
    The listed objects as the API server has them, read with kubectl on an admin host.

    ``refs`` are ``kind/name`` strings; ``namespace`` applies to the namespaced ones. Objects
    that do not exist are absent from ``objects``. ``kubeconfig`` False: the kubeconfig file is
    not there (no cluster on this host); ``error``: kubectl could not read the objects.

    .. code:: python

        {
            "kubeconfig": True,
            "error": None,
            "objects": {
                "DaemonSet/nvidia-device-plugin-daemonset": {
                    "digest": "9087e6a5...", "volumes": ["kubelet-device-plugins-dir"], "privileged": False,
                },
            },
        }
    """

    @staticmethod
    def default() -> dict[str, Any]:
        """No output at all: kubectl read the objects and found none (``--ignore-not-found`` prints
        nothing); pyinfra hands empty output to ``default`` instead of ``process``."""
        return {"kubeconfig": True, "error": None, "objects": {}}

    def command(self, kubeconfig: str, namespace: str, refs: list[str]) -> StringCommand:
        config = QuoteString(kubeconfig)
        return StringCommand(
            "if", "test", "-r", config, ";", "then",
            "kubectl", "--kubeconfig", config, "-n", QuoteString(namespace), "get",
            *(QuoteString(ref) for ref in refs),
            "--ignore-not-found", "-o", "json", "2>&1", "||", "echo", "kubectl-failed", ";",
            "else", "echo", "no-kubeconfig", ";", "fi",
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        text = "\n".join(output).strip()
        if text == "no-kubeconfig":
            return {"kubeconfig": False, "error": None, "objects": {}}
        if not text:
            return {"kubeconfig": True, "error": None, "objects": {}}
        try:  # kubectl may print warnings (stderr is kept for errors) before the JSON document
            payload = json.loads(text[text.index("{"):])
        except (ValueError, json.JSONDecodeError):
            return {"kubeconfig": True, "error": text.removesuffix("kubectl-failed").strip()[:500], "objects": {}}
        items = payload.get("items", []) if payload.get("kind", "").endswith("List") else [payload]
        objects = {f"{item['kind']}/{item['metadata']['name']}": _summary(item) for item in items}
        return {"kubeconfig": True, "error": None, "objects": objects}
