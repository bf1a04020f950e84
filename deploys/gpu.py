"""NVIDIA GPU node: driver check, container toolkit, containerd `nvidia` runtime, RuntimeClass, device plugin.

Run alone (`pyinfra inventory.py deploys/gpu.py`) or composed by deploys/kubernetes.py, which
calls `gpu_node()` in stage S1 and `gpu_cluster_objects()` in stage S5 (spec 50-kubeadm.md §1).
Labels and taints of GPU nodes are reconciled by the kubeadm deploy from data. Spec: 60-gpu.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt as pyinfra_apt
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from facts.containerd import ContainerdVersion
from facts.gpu import GpuNode
from goldentooth.gpu import missing
from goldentooth.inventory import current
from goldentooth.manifests import render_manifest
from goldentooth.render import render
from operations import apt, gpu, manifest, text_files
from deploys import run_as_entry
from deploys.containerd import config_version

TOOLKIT_PACKAGES = [
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
    "libnvidia-container-tools",
    "libnvidia-container1",
]
KEYRING = "/etc/apt/keyrings/nvidia-container-toolkit.asc"
SOURCES = "/etc/apt/sources.list.d/nvidia-container-toolkit.sources"
LEGACY_SOURCES = "/etc/apt/sources.list.d/nvidia-container-toolkit.list"
RUNTIME_HANDLER = "nvidia"
RUNTIME_BINARY = "/usr/bin/nvidia-container-runtime"
ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf"
#: Volumes of the original hand-made device plugin that `kubectl apply` cannot prune (§8).
LEGACY_PLUGIN_VOLUMES = ["dev", "nvidia-ml-lib", "nvidia-ml-actual"]


@deploy("NVIDIA GPU node")
def gpu_node() -> None:
    """Host steps on `gpu` hosts (§2-§5): driver check, toolkit, containerd runtime drop-in."""
    if "gpu" not in host.groups:
        return
    data = host.data
    policy = data.gpu_on_missing_driver
    gpu.driver(
        name="Check the NVIDIA driver and GPUs",
        expected_count=data.gpu_expected_count,
        on_missing=policy,
    )
    node = host.get_fact(GpuNode)
    if missing(node) and policy != "prepare":
        return  # `fail`: the check above fails this host; `skip`: it warned, nothing GPU-related changes

    files.directory(
        name="Ensure the apt keyring directory", path="/etc/apt/keyrings", user="root", group="root", mode="755",
    )
    key = apt.signing_key(
        name="Fetch the NVIDIA container toolkit repository key",
        url=data.nvidia_container_toolkit_apt_key_url,
        path=KEYRING,
    )
    source = text_files.present(
        name="Configure the NVIDIA container toolkit apt source",
        path=SOURCES,
        content=render(
            "gpu/nvidia-container-toolkit.sources.j2",
            url=str(data.nvidia_container_toolkit_apt_url).rstrip("/"),
            arch=node["arch"],
            keyring=KEYRING,
        ),
        user="root", group="root", mode="644",
    )
    legacy = files.file(name="Remove the legacy one-line NVIDIA apt source", path=LEGACY_SOURCES, present=False)
    pyinfra_apt.update(name="Update apt lists after the NVIDIA source changed", _if=any_changed(key, source, legacy))
    version = data.nvidia_container_toolkit_version
    pyinfra_apt.packages(
        name=f"Install the NVIDIA container toolkit {version}",
        packages=[f"{package}={version}" for package in TOOLKIT_PACKAGES],
        extra_install_args="--allow-change-held-packages --allow-downgrades",
    )
    apt.holds(name="Hold the NVIDIA container toolkit packages", packages=TOOLKIT_PACKAGES)

    dropin_dir = str(data.containerd_dropin_dir).rstrip("/")
    files.directory(name="Ensure the containerd drop-in directory", path=dropin_dir, user="root", group="root", mode="755")
    dropin = text_files.present(
        name="Add the containerd nvidia runtime drop-in",
        path=f"{dropin_dir}/99-nvidia.toml",
        content=render(
            "containerd/99-nvidia.toml.j2",
            config_version=config_version(host.get_fact(ContainerdVersion), str(data.containerd_package_version)),
            sandbox_image=current().host(host.name).sandbox_image,
            handler=RUNTIME_HANDLER,
            binary=RUNTIME_BINARY,
        ),
        user="root", group="root", mode="644",
    )
    systemd.service(
        name="Restart containerd to load the nvidia runtime",
        service="containerd.service",
        restarted=True,
        _if=dropin.did_change,
    )


def cluster_manifest(values: Mapping[str, Any]) -> str:
    """RuntimeClass `nvidia` then the device plugin DaemonSet from GPU data, stamped with their digest."""
    return render_manifest(
        "gpu/runtimeclass.yaml.j2",
        "gpu/device-plugin.yaml.j2",
        runtime_class=values["nvidia_runtime_class"],
        runtime_handler=RUNTIME_HANDLER,
        image=values["nvidia_device_plugin_image"],
    )


@deploy("NVIDIA cluster objects")
def gpu_cluster_objects() -> None:
    """Cluster steps on the first control plane (§6, §8), when the inventory has GPU hosts."""
    cluster = current()
    control_planes = cluster.names("k8s_control_plane")
    if not control_planes or host.name != cluster.init_node or not cluster.names("gpu"):
        return
    manifest.applied(
        name="Apply the RuntimeClass nvidia and the NVIDIA device plugin",
        manifest=cluster_manifest(cluster.group("gpu")[0].data),
        kubeconfig=ADMIN_KUBECONFIG,
        recreate_if_volumes=LEGACY_PLUGIN_VOLUMES,
        recreate_if_privileged=True,
    )


run_as_entry(globals(), gpu_node, gpu_cluster_objects)
