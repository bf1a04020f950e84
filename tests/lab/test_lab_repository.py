"""The real lab repository, installed from on a node-like Debian root (root only).

Builds the full tree (downloading the Debian closure on the controller), debootstraps a minbase
root like the lab's base image, and uses apt inside it (chroot) against the tree through file:
URIs with the lab key: the whole Debian list resolves, the stand-ins install and run, holds and
the per-minor switch behave as with the upstream repositories, the Docker pin blocks Docker
Engine, and the kubeadm double initialises a control plane with the node's own python3 and openssl.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from goldentooth.lab import repo
from goldentooth.lab.debian_mirror import DEFAULT_MIRROR, read_package_list

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="chroot and mounts need root"),
    pytest.mark.skipif(shutil.which("debootstrap") is None, reason="debootstrap is missing (goldentooth lab prerequisites --install)"),
]
BASE_INCLUDE = "systemd,systemd-sysv,dbus,openssh-server,python3,sudo,iproute2"
MOUNT = "/srv/lab-cache"


def _arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> Iterator[tuple[Path, Path]]:
    cache = tmp_path_factory.mktemp("cache")
    tree = repo.build_repository(cache, _arch())
    root = tmp_path_factory.mktemp("node") / "root"
    subprocess.run(["debootstrap", "--variant=minbase", f"--include={BASE_INCLUDE}", "bookworm", str(root),
                    DEFAULT_MIRROR], check=True, capture_output=True)
    (root / MOUNT.lstrip("/")).mkdir(parents=True)
    mounts = [root / MOUNT.lstrip("/"), root / "proc"]
    subprocess.run(["mount", "--bind", str(cache), str(mounts[0])], check=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(mounts[1])], check=True)
    try:
        served = f"{MOUNT}/repository/{tree.name}"
        (root / "etc/apt/keyrings").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tree / repo.KEY_FILE, root / "etc/apt/keyrings/lab.asc")
        (root / "etc/apt/sources.list").write_text(
            f"deb [signed-by=/etc/apt/keyrings/lab.asc] file:{served}/debian bookworm main\n")
        _sources(root, served, "v1.32")
        yield root, tree
    finally:
        for mount in mounts:
            subprocess.run(["umount", str(mount)], check=False)


def _sources(root: Path, served: str, minor: str) -> None:
    (root / "etc/apt/sources.list.d/kubernetes.sources").write_text(
        f"Types: deb\nURIs: file:{served}/kubernetes/core:/stable:/{minor}/deb/\nSuites: /\n"
        "Signed-By: /etc/apt/keyrings/lab.asc\n")


def _in(root: Path, *command: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", **(env or {})}
    result = subprocess.run(["chroot", str(root), *command], capture_output=True, text=True, env=environment)
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def test_every_listed_debian_package_resolves_from_the_lab_repository(node):
    root, _ = node
    _in(root, "apt-get", "update")
    packages = read_package_list(repo.PACKAGE_LIST)
    _in(root, "apt-get", "install", "--simulate", "-y", *packages)


def test_stand_ins_install_run_hold_and_switch_minor(node):
    root, tree = node
    _in(root, "apt-get", "update")
    policy = _in(root, "apt-cache", "policy", "kubeadm").stdout
    assert "1.32.3-1.1" in policy and "1.32.7-1.1" in policy and "1.33" not in policy
    _in(root, "apt-get", "install", "-y", "kubeadm=1.32.3-1.1", "kubelet=1.32.3-1.1", "kubectl=1.32.3-1.1", "cri-tools")
    assert _in(root, "kubeadm", "version", "-o", "short").stdout == "v1.32.3\n"
    assert _in(root, "kubelet", "--version").stdout == "Kubernetes v1.32.3\n"
    assert '"gitVersion": "v1.32.3"' in _in(root, "kubectl", "version", "--client", "-o", "json").stdout
    assert _in(root, "dpkg-query", "-W", "-f=${Version}", "kubernetes-cni").stdout == "1.6.0-1.1"
    assert (root / "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf").exists()
    _in(root, "apt-mark", "hold", "kubeadm", "kubelet", "kubectl")
    _sources(root, f"{MOUNT}/repository/{tree.name}", "v1.33")
    _in(root, "apt-get", "update")
    blocked = _in(root, "apt-get", "install", "-y", "kubeadm=1.33.2-1.1", check=False)
    assert blocked.returncode != 0 and "Held packages were changed" in blocked.stderr
    _in(root, "apt-get", "install", "-y", "--allow-change-held-packages", "kubeadm=1.33.2-1.1")
    assert _in(root, "kubeadm", "version", "-o", "short").stdout == "v1.33.2\n"


def test_docker_pin_blocks_docker_engine_from_a_present_docker_repository(node):
    root, tree = node
    served = f"{MOUNT}/repository/{tree.name}"
    (root / "etc/apt/sources.list.d/docker.sources").write_text(
        f"Types: deb\nURIs: file:{served}/docker/linux/debian\nSuites: bookworm\nComponents: stable\n"
        "Signed-By: /etc/apt/keyrings/lab.asc\n")
    try:
        _in(root, "apt-get", "update")
        assert "Candidate: 5:28" in _in(root, "apt-cache", "policy", "docker-ce").stdout
        (root / "etc/apt/preferences.d/goldentooth-block-docker.pref").write_text(
            "Package: docker-ce docker-ce-cli\nPin: release *\nPin-Priority: -1\n")
        assert "Candidate: (none)" in _in(root, "apt-cache", "policy", "docker-ce").stdout
    finally:
        (root / "etc/apt/sources.list.d/docker.sources").unlink()
        (root / "etc/apt/preferences.d/goldentooth-block-docker.pref").unlink(missing_ok=True)


def test_kubeadm_double_initialises_with_the_nodes_own_tools(node):
    root, tree = node
    _sources(root, f"{MOUNT}/repository/{tree.name}", "v1.32")
    _in(root, "apt-get", "update")
    _in(root, "apt-get", "install", "-y", "--allow-change-held-packages", "--allow-downgrades", "kubeadm=1.32.3-1.1")
    config = root / "etc/kubernetes/kubeadm/init.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n"
        "localAPIEndpoint: {advertiseAddress: 10.4.0.11, bindPort: 6443}\nnodeRegistration: {name: bettley}\n---\n"
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.32.3\n"
        "controlPlaneEndpoint: 10.4.0.10:6443\nclusterName: goldentooth\n")
    _in(root, "kubeadm", "init", "--config", "/etc/kubernetes/kubeadm/init.yaml",
        env={"GOLDENTOOTH_DOUBLE_NO_SYSTEMD": "1"})
    assert "server: https://10.4.0.10:6443" in (root / "etc/kubernetes/admin.conf").read_text()
    unit = (root / "etc/systemd/system/kube-apiserver-double.service").read_text()
    assert "--bind 10.4.0.11:6443" in unit and "PYTHONPATH=/usr/lib/goldentooth-lab/kubeadm" in unit
