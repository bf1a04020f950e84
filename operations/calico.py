"""Calico CNI from the vendored, pinned manifest, applied once and kept (spec 50-kubeadm.md §5.2)."""

from __future__ import annotations

import re
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, QuoteString, StringCommand, operation

from facts.kubernetes import WorkloadImages, kubectl

VERSION = re.compile(r"^v\d+\.\d+\.\d+$")
REMOTE_PATH = re.compile(r"^/[A-Za-z0-9._/-]+\.yaml$")
ROLLOUTS = (("daemonset/calico-node", "600s"), ("deployment/calico-kube-controllers", "600s"), ("deployment/coredns", "300s"))


@operation()
def manifest(manifest: str, version: str, remote_path: str, wait: bool = True):
    """
    Apply the rendered Calico manifest when calico-node does not run ``version``, then wait for it.

    + manifest: rendered manifest text (vendored file, checksum verified, autodetection set)
    + version: the pinned Calico version, ``v3.29.3``; calico-node's image tag says what is applied
    + remote_path: where the manifest is written on the admin host before ``kubectl apply``
    + wait: wait for the calico-node, calico-kube-controllers and coredns rollouts (off only where
      no workload can run, i.e. the lab, which says so in the deploy)

    **Examples:**

    .. code:: python

        calico.manifest(
            name="Install Calico v3.29.3",
            manifest=calico.render(text, "cidr=10.4.0.0/20"),
            version="v3.29.3",
            remote_path="/etc/kubernetes/kubeadm/calico.yaml",
        )
    """
    if not VERSION.match(version):
        raise OperationError(f"invalid Calico version {version!r}: expected vX.Y.Z")
    if not REMOTE_PATH.match(remote_path):
        raise OperationError(f"invalid manifest path {remote_path!r}")
    images = host.get_fact(WorkloadImages, namespace="kube-system", kind="daemonsets").get("calico-node", [])
    if any(image.endswith(f":{version}") for image in images):
        host.noop(f"Calico {version} is applied")
        return
    yield FileUploadCommand(StringIO(manifest), remote_path)
    yield kubectl("apply", "-f", QuoteString(remote_path))
    for workload, timeout in ROLLOUTS if wait else ():
        yield kubectl("-n", "kube-system", "rollout", "status", workload, f"--timeout={timeout}")
