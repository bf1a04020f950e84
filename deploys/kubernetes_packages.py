"""kubeadm, kubelet and kubectl from pkgs.k8s.io, pinned exactly and held (spec 40).

Usable alone: ``pyinfra inventory.py deploys/kubernetes_packages.py``.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files
from pyinfra.operations.apt import update as apt_update
from pyinfra.operations.util import any_changed

from deploys import run_as_entry
from deploys._context import node_context
from goldentooth.render import render
from operations import apt, text_files, units

LEGACY_MENTIONS = ["pkgs.k8s.io", "apt.kubernetes.io", "packages.cloud.google.com"]


@deploy("Kubernetes packages")
def kubernetes_packages() -> None:
    if "k8s_cluster" not in host.groups:
        return
    ctx = node_context()
    node = ctx.node
    keyring, sources = ctx.data("kubernetes_apt_keyring"), ctx.data("kubernetes_apt_sources_file")
    files.directory(name="Create /etc/apt/keyrings", path="/etc/apt/keyrings", user="root", group="root", mode="755")
    key = apt.signing_key(name="Refresh the Kubernetes repository key", url=node.kubernetes_apt_key_url, path=keyring)
    source = text_files.present(name=f"Configure the Kubernetes v{node.kubernetes_minor} apt source (deb822)", path=sources,
                                content=render("deb822.sources.j2", uri=node.kubernetes_apt_repo_url, suite="/",
                                               components=[], arch=ctx.profile["arch"], keyring=keyring),
                                user="root", group="root", mode="644")
    # The configured base URL without its scheme, not just its host: a server may hold other
    # repositories too (the lab serves every repository from one address).
    others = apt.only_source(name="Remove other and legacy Kubernetes apt sources", keep=sources,
                             mentions=LEGACY_MENTIONS + [ctx.data("kubernetes_apt_base").split("://")[-1]])
    apt_update(name="Update apt lists for the Kubernetes source", _if=any_changed(key, source, others))
    version = node.kubernetes_package_version
    packages = ctx.data("kubernetes_packages")
    apt.installed(name=f"Install {', '.join(packages)} {version}", packages={name: version for name in packages},
                  frozen_if_exists="/etc/kubernetes/kubelet.conf")
    apt.installed(name="Install crictl (cri-tools)", packages={"cri-tools": None})
    apt.holds(name=f"Hold {', '.join(packages)}", packages=packages)
    units.service(name="Enable kubelet (it waits for kubeadm's configuration)", unit="kubelet.service",
                  running=None, enabled=True)


run_as_entry(globals(), kubernetes_packages)
