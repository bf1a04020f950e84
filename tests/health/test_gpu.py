"""GPU node checks (spec 60-gpu.md "Checks", 99-verification.md GPU-1..GPU-4, CRT-3).

Host checks of what the GPU deploy writes run wherever the deploy installed it (the lab included,
with gpu_on_missing_driver: prepare); checks that need the NVIDIA driver are marked `gpu`, checks
that need the API server `cluster`. With gpu_on_missing_driver: skip on a host without a driver
the deploy changes nothing, and its checks report SKIPPED, not PASS.
"""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from goldentooth.health.checks import file_content, package_status

pytestmark = pytest.mark.groups("gpu")

TOOLKIT_PACKAGES = ("nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools", "libnvidia-container1")
DROPIN = "/etc/containerd/conf.d/99-nvidia.toml"
SOURCES = "/etc/apt/sources.list.d/nvidia-container-toolkit.sources"
KUBECTL = "kubectl --kubeconfig /etc/kubernetes/admin.conf"


@pytest.fixture
def installed(node):
    """Skip (never pass) where the deploy skipped the GPU host steps by policy."""
    if node.data.get("gpu_on_missing_driver") == "skip" and not node.file("/sys/module/nvidia").exists:
        pytest.skip("SKIPPED: no NVIDIA driver and gpu_on_missing_driver is skip, so nothing GPU-related is installed")


def deb822(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line and not line.startswith("#"))


def cri_runtimes(node) -> tuple[dict, dict]:
    """(runtimes, the CRI containerd section) from `containerd config dump`, config version 2 or 3."""
    dump = tomllib.loads(node.check_output("containerd config dump"))
    plugins = dump["plugins"]
    section = plugins["io.containerd.cri.v1.runtime"] if dump.get("version") == 3 else plugins["io.containerd.grpc.v1.cri"]
    return section["containerd"]["runtimes"], section["containerd"]


def test_architecture_is_amd64(node):
    assert node.check_output("dpkg --print-architecture") == "amd64"


@pytest.mark.gpu
def test_driver_versions_agree(node):
    """GPU-1: sysfs, nvidia-smi and the NVML library report one driver version."""
    sysfs = node.file("/sys/module/nvidia/version").content_string.strip()
    smi = set(node.check_output("nvidia-smi --query-gpu=driver_version --format=csv,noheader").split())
    nvml = node.check_output("readlink -f $(ldconfig -p | awk '/libnvidia-ml[.]so[.]1 /{print $NF; exit}')")
    assert smi == {sysfs}
    assert nvml.endswith(f"libnvidia-ml.so.{sysfs}")
    assert not node.file("/sys/module/nouveau").exists


@pytest.mark.gpu
def test_gpus_listed(node):
    lines = node.check_output("nvidia-smi -L").splitlines()
    assert len(lines) == node.data["gpu_expected_count"]
    assert all(re.match(r"GPU \d+: NVIDIA ", line) for line in lines)
    assert node.file("/dev/nvidiactl").exists and node.file("/dev/nvidia0").exists


def test_toolkit_pinned_and_held(node, installed):
    """GPU-2: the four toolkit packages at the data version, held."""
    for package in TOOLKIT_PACKAGES:
        status = package_status(node, package)
        assert status and status.installed and status.held, package
        assert status.version == node.data["nvidia_container_toolkit_version"], package
    assert node.run("nvidia-ctk --version").rc == 0
    runtime = node.file("/usr/bin/nvidia-container-runtime")
    assert runtime.exists and runtime.mode & 0o111


def test_toolkit_source(node, installed):
    fields = deb822(node.file(SOURCES).content_string)
    arch = node.check_output("dpkg --print-architecture")
    assert fields == {
        "Types": "deb",
        "URIs": f"{node.data['nvidia_container_toolkit_apt_url'].rstrip('/')}/{arch}",
        "Suites": "/",
        "Signed-By": "/etc/apt/keyrings/nvidia-container-toolkit.asc",
    }
    assert b"-----BEGIN PGP PUBLIC KEY BLOCK-----" in file_content(node, "/etc/apt/keyrings/nvidia-container-toolkit.asc")
    listed = node.check_output("cat /etc/apt/sources.list.d/* 2>/dev/null || true")
    assert "experimental" not in listed
    assert not node.file("/etc/apt/sources.list.d/nvidia-container-toolkit.list").exists


def test_runtime_dropin_matches_main_config_version(node, installed):
    def version(path: str) -> str:
        return next(line for line in node.file(path).content_string.splitlines() if line and not line.startswith("#"))

    dropin = node.file(DROPIN)
    assert (dropin.user, dropin.group, dropin.mode) == ("root", "root", 0o644)
    assert version(DROPIN) == version("/etc/containerd/config.toml")


def test_containerd_has_nvidia_runtime_not_default(node, installed):
    """CRT-3: the effective config has `nvidia` beside `runc`, and `runc` stays the default."""
    runtimes, section = cri_runtimes(node)
    nvidia, runc = runtimes["nvidia"], runtimes["runc"]
    assert nvidia["runtime_type"] == "io.containerd.runc.v2"
    assert nvidia["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"
    assert nvidia["options"]["SystemdCgroup"] is True
    assert runc["options"]["SystemdCgroup"] is True
    assert section["default_runtime_name"] == "runc"


def test_no_driver_version_in_configuration(node):
    """Neither the seed's hard-coded driver version nor the loaded one appears in /etc/containerd or /etc/kubernetes."""
    versions = {"575.51.03", node.run("cat /sys/module/nvidia/version").stdout.strip()} - {""}
    for version in sorted(versions):
        assert node.run(f"grep -rlF {version} /etc/containerd /etc/kubernetes").stdout.strip() == "", version


@pytest.mark.groups("k8s_cluster", where=lambda host: not host.in_group("gpu"))
def test_not_on_other_nodes(node):
    """A host outside `gpu` never gets the drop-in or the toolkit."""
    assert not node.file(DROPIN).exists
    status = package_status(node, "nvidia-container-toolkit")
    assert not (status and status.installed)


@pytest.mark.gpu
@pytest.mark.cluster
def test_device_plugin_socket(node):
    assert node.file("/var/lib/kubelet/device-plugins/nvidia-gpu.sock").is_socket


@pytest.mark.gpu
@pytest.mark.cluster
def test_cluster_objects_and_allocatable(node, cluster, connect):
    """GPU-3, GPU-4: RuntimeClass, one Ready device plugin pod on this node, allocatable GPUs."""
    admin = connect(cluster.init_node)
    assert admin.check_output(f"{KUBECTL} get runtimeclass nvidia -o jsonpath={{.handler}}") == "nvidia"
    daemonset = json.loads(admin.check_output(f"{KUBECTL} -n kube-system get ds nvidia-device-plugin-daemonset -o json"))
    assert daemonset["status"]["desiredNumberScheduled"] == daemonset["status"]["numberReady"] >= 1
    pods = json.loads(admin.check_output(f"{KUBECTL} -n kube-system get pods -l name=nvidia-device-plugin-ds -o json"))
    assert {pod["spec"]["nodeName"] for pod in pods["items"]} <= set(cluster.names("gpu"))
    allocatable = admin.check_output(f"{KUBECTL} get node {node.name} -o jsonpath={{.status.allocatable.nvidia\\.com/gpu}}")
    assert allocatable == str(node.data["gpu_expected_count"])
