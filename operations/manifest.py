"""Apply rendered Kubernetes manifests with kubectl from an admin host, only when they changed."""

from __future__ import annotations

from typing import Any

import yaml
from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation

from facts.manifest import LiveObjects
from goldentooth.manifests import DIGEST_ANNOTATION
from operations.refusal import refuse


def _objects(manifest: str) -> list[dict[str, Any]]:
    try:
        documents = [document for document in yaml.safe_load_all(manifest) if document]
    except yaml.YAMLError as error:
        raise OperationError(f"manifest.applied: the manifest is not YAML: {error}") from None
    if not documents:
        raise OperationError("manifest.applied: the manifest holds no object")
    for document in documents:
        annotations = (document.get("metadata") or {}).get("annotations") or {}
        if not document.get("kind") or not (document.get("metadata") or {}).get("name"):
            raise OperationError("manifest.applied: every object needs kind and metadata.name")
        if DIGEST_ANNOTATION not in annotations:
            raise OperationError(
                f"manifest.applied: {document['kind']}/{document['metadata']['name']} has no "
                f"{DIGEST_ANNOTATION} annotation (render it with goldentooth.manifests.render_manifest)"
            )
    return documents


def _kubectl(kubeconfig: str, *args: Any) -> list[Any]:
    return ["kubectl", "--kubeconfig", QuoteString(kubeconfig), *args]


@operation()
def applied(
    manifest: str,
    kubeconfig: str = "/etc/kubernetes/admin.conf",
    recreate_if_volumes: list[str] | None = None,
    recreate_if_privileged: bool = False,
):
    """
    Apply a stamped multi-document manifest with ``kubectl apply -f -`` when any object differs.

    + manifest: YAML objects rendered by ``goldentooth.manifests.render_manifest`` (each carries the
      ``goldentooth.net/manifest-sha256`` annotation); namespaced objects share one namespace
    + kubeconfig: the admin kubeconfig on this host
    + recreate_if_volumes: live objects whose pod template still has one of these volumes are
      deleted (waiting for their pods) before the apply, for fields ``kubectl apply`` cannot prune
    + recreate_if_privileged: likewise for live objects with a privileged container

    An object is up to date when its live digest annotation equals the rendered one; then nothing
    is sent to the API server. A host without the kubeconfig, or where kubectl cannot read the
    objects, fails with a message.

    **Examples:**

    .. code:: python

        manifest.applied(
            name="Apply the RuntimeClass and the NVIDIA device plugin",
            manifest=render_manifest("gpu/runtimeclass.yaml.j2", "gpu/device-plugin.yaml.j2", **values),
        )
    """
    documents = _objects(manifest)
    namespaces = {doc["metadata"]["namespace"] for doc in documents if doc["metadata"].get("namespace")}
    if len(namespaces) > 1:
        raise OperationError(f"manifest.applied: objects span namespaces {sorted(namespaces)}; apply one namespace at a time")
    namespace = namespaces.pop() if namespaces else "default"
    refs = [f"{doc['kind']}/{doc['metadata']['name']}" for doc in documents]
    wanted = {ref: doc["metadata"]["annotations"][DIGEST_ANNOTATION] for ref, doc in zip(refs, documents)}

    live = host.get_fact(LiveObjects, kubeconfig=kubeconfig, namespace=namespace, refs=refs)
    if not live.get("kubeconfig"):
        yield refuse(f"{kubeconfig} is absent: this host is not an initialised control plane (run the kubeadm deploy first)")
        return
    if live.get("error"):
        yield refuse(f"kubectl could not read {', '.join(refs)}: {live['error']}")
        return

    objects = live.get("objects", {})
    legacy_volumes = set(recreate_if_volumes or [])
    stale = [
        ref for ref in refs
        if ref in objects
        and (legacy_volumes & set(objects[ref]["volumes"]) or (recreate_if_privileged and objects[ref]["privileged"]))
    ]
    changed = [ref for ref in refs if objects.get(ref, {}).get("digest") != wanted[ref]]
    if not changed and not stale:
        host.noop(f"{', '.join(refs)} are applied (digest {wanted[refs[0]][:12]})")
        return
    for ref in stale:
        kind, name = ref.split("/", 1)
        yield StringCommand(*_kubectl(kubeconfig, "-n", QuoteString(namespace), "delete", QuoteString(kind), QuoteString(name), "--wait=true"))
    yield StringCommand("printf", "'%s\\n'", QuoteString(manifest), "|", *_kubectl(kubeconfig, "apply", "-f", "-"))
