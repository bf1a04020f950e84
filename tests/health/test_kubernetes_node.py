"""Kubernetes packages on every node (spec 40-kubernetes-packages.md Checks, 99 K8S-1/K8S-2)."""

from __future__ import annotations

import pytest

from goldentooth.health.checks import package_status, unit_state

pytestmark = pytest.mark.groups("k8s_cluster")

LEGACY = ("apt.kubernetes.io", "packages.cloud.google.com")


def deb822(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def test_keyring(node):
    key = node.file(node.data["kubernetes_apt_keyring"])
    assert key.is_file and not key.is_symlink and key.user == "root" and key.mode == 0o644
    assert "-----BEGIN PGP PUBLIC KEY BLOCK-----" in key.content_string


def test_source(node):
    source = node.file(node.data["kubernetes_apt_sources_file"])
    assert (source.user, source.mode) == ("root", 0o644)
    fields = deb822(source.content_string)
    assert fields == {
        "Types": "deb",
        "URIs": node.inventory.kubernetes_apt_repo_url,
        "Suites": "/",
        "Architectures": node.check_output("dpkg --print-architecture"),
        "Signed-By": node.data["kubernetes_apt_keyring"],
    }


def test_only_one_kubernetes_source(node):
    # The configured base without its scheme: the same server may hold other repositories.
    base = node.data["kubernetes_apt_base"].split("://")[1]
    mentioning = node.run("grep -rlsF -e %s /etc/apt/sources.list.d", base).stdout.split()
    assert mentioning == [node.data["kubernetes_apt_sources_file"]]
    legacy = node.run("grep -rlsF -e %s -e %s /etc/apt/", *LEGACY).stdout.split()
    assert legacy == []


def test_candidates_from_the_minor(node):
    policy = node.check_output("apt-cache policy kubeadm")
    assert f"/v{node.inventory.kubernetes_minor}/deb" in policy, policy


@pytest.mark.parametrize("package", ["kubeadm", "kubelet", "kubectl"])
def test_package_pinned_and_held(node, package):
    status = package_status(node, package)
    assert status is not None, f"{package} is not installed"
    assert (status.version, status.want, status.state) == (node.inventory.kubernetes_package_version, "hold", "installed")


def test_kubeadm_reports_the_version(node):
    assert node.check_output("kubeadm version -o short") == f"v{node.data['kubernetes_version']}"


def test_kubelet_reports_the_version(node):
    assert node.check_output("kubelet --version") == f"Kubernetes v{node.data['kubernetes_version']}"


def test_crictl_installed(node):
    assert node.run("crictl --version").rc == 0


def test_kubelet_enabled(node):
    assert unit_state(node, "kubelet.service").enabled


def test_no_execstart_override(node):
    overrides = node.run("grep -rls '^ExecStart=' /etc/systemd/system/kubelet.service.d").stdout.split()
    assert overrides == []
