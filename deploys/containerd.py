"""containerd, the container runtime of every Kubernetes node (spec 30-containerd.md).

The package comes from Docker's apt repository when `containerd_package` is `containerd.io`
(production), or from the distribution's own repositories for any other package name (Debian's
`containerd`, used by the lab): then no Docker source is written.

Usable alone: ``pyinfra inventory.py deploys/containerd.py``.
"""

from __future__ import annotations

import re

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, systemd
from pyinfra.operations.apt import update as apt_update
from pyinfra.operations.util import any_changed

from deploys import run_as_entry
from deploys._context import NodeContext, node_context
from facts.containerd import ContainerdVersion
from goldentooth.render import render
from operations import apt, text_files, units

DOCKER_PACKAGE = "containerd.io"
ROOT_FILE = {"user": "root", "group": "root", "mode": "644"}


def config_version(installed: dict | None, package_version: str) -> int:
    """containerd 1.x reads config version 2, 2.x version 3: the installed binary decides, else the pin.

    `installed` is the ContainerdVersion fact; `package_version` the Debian version data installs
    (an epoch such as `1:` is not the major). Used for config.toml and the GPU runtime drop-in.
    """
    if installed:
        major = installed["major"]
    else:
        digits = re.match(r"\d+", package_version.split(":")[-1])
        if digits is None:
            raise ValueError(f"containerd package version {package_version!r} does not start with its major version")
        major = int(digits.group())
    return 3 if major >= 2 else 2


def config_template(installed: dict | None, package_version: str) -> str:
    """The config.toml template for the config version (see `config_version`)."""
    return f"containerd-config-v{config_version(installed, package_version)}.toml.j2"


def config_toml(installed: dict | None, package_version: str, dropin_dir: str, sandbox_image: str) -> str:
    """/etc/containerd/config.toml; converge and the upgrade's sandbox-image step render it the same way."""
    return render(config_template(installed, package_version), dropin_dir=dropin_dir, sandbox_image=sandbox_image)


def docker_source(ctx: NodeContext):
    """Docker's deb822 source and key (the home of containerd.io); returns the ops that may change."""
    files.directory(name="Create /etc/apt/keyrings", path="/etc/apt/keyrings", user="root", group="root", mode="755")
    key = apt.signing_key(name="Refresh Docker's repository key", url=ctx.format_url("docker_apt_key_url"),
                          path=ctx.data("docker_apt_keyring"))
    source = text_files.present(name="Configure Docker's apt source (deb822)", path=ctx.data("docker_apt_sources_file"),
                                content=render("deb822.sources.j2", uri=ctx.format_url("docker_apt_url"),
                                               suite=ctx.profile["os_codename"], components=["stable"],
                                               arch=ctx.profile["arch"], keyring=ctx.data("docker_apt_keyring")),
                                **ROOT_FILE)
    for legacy in ("/etc/apt/sources.list.d/docker.list", "/etc/apt/keyrings/docker.gpg"):
        files.file(name=f"Remove the original's {legacy}", path=legacy, present=False)
    return key, source


@deploy("containerd")
def containerd() -> None:
    if "k8s_cluster" not in host.groups:
        return
    ctx = node_context()
    package, version = ctx.data("containerd_package"), ctx.data("containerd_package_version")
    if package == DOCKER_PACKAGE:
        apt_update(name="Update apt lists for Docker's source", _if=any_changed(*docker_source(ctx)))
    install = apt.installed(name=f"Install {package} at the pinned version", packages={package: version},
                            frozen_if_exists="/etc/kubernetes/kubelet.conf")
    apt.holds(name=f"Hold {package}", packages=[package])
    files.directory(name="Create /etc/containerd", path="/etc/containerd", user="root", group="root", mode="755")
    files.directory(name="Create the containerd drop-in directory", path=ctx.data("containerd_dropin_dir"),
                    user="root", group="root", mode="755")
    config = text_files.present(name="Write containerd's config (systemd cgroups, pinned sandbox image)",
                                path="/etc/containerd/config.toml",
                                content=config_toml(host.get_fact(ContainerdVersion), str(version),
                                                    ctx.data("containerd_dropin_dir"), ctx.node.sandbox_image),
                                **ROOT_FILE)
    text_files.present(name="Configure crictl for containerd", path="/etc/crictl.yaml",
                       content=render("crictl.yaml.j2", cri_socket=ctx.data("cri_socket")), **ROOT_FILE)
    systemd.service(name="Restart containerd for its new configuration", service="containerd.service",
                    running=True, restarted=True, _if=any_changed(config, install))
    units.service(name="Keep containerd running", unit="containerd.service", running=True, enabled=True)


run_as_entry(globals(), containerd)
