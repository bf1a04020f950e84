"""containerd on every Kubernetes node (spec 30-containerd.md Checks, 99-verification.md CRT-1/2)."""

from __future__ import annotations

import re

import pytest

from goldentooth.health.checks import package_status, unit_state

pytestmark = pytest.mark.groups("k8s_cluster")

CONFIG = "/etc/containerd/config.toml"
DOCKER_PACKAGE = "containerd.io"


def major_version(node) -> int:
    match = re.search(r"\sv?(\d+)\.\d+\.\d+", node.check_output("containerd --version"))
    assert match, "containerd --version printed no version"
    return int(match.group(1))


def test_package_pinned_and_held(node):
    status = package_status(node, node.data["containerd_package"])
    assert status is not None and status.installed, status
    assert status.version == node.data["containerd_package_version"]
    assert status.held, f"{node.data['containerd_package']} is not held: {status}"


def test_docker_source_when_containerd_io(node):
    """containerd.io comes from Docker's deb822 source; another package needs no Docker source."""
    if node.data["containerd_package"] != DOCKER_PACKAGE:
        pytest.skip(f"{node.data['containerd_package']} comes from the distribution's sources")
    fields = dict(line.split(": ", 1) for line in node.file(node.data["docker_apt_sources_file"]).content_string.splitlines())
    arch = node.check_output("dpkg --print-architecture")
    assert fields["Types"] == "deb" and fields["Components"] == "stable"
    assert fields["Architectures"] == arch and fields["Signed-By"] == node.data["docker_apt_keyring"]
    assert "-----BEGIN PGP PUBLIC KEY BLOCK-----" in node.file(node.data["docker_apt_keyring"]).content_string
    assert not node.file("/etc/apt/sources.list.d/docker.list").exists


def test_service_enabled_and_active(node):
    state = unit_state(node, "containerd.service")
    assert state.enabled and state.active, state
    assert node.file("/run/containerd/containerd.sock").is_socket


def test_config_version_matches_binary(node):
    text = node.file(CONFIG).content_string
    first = next(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    assert first == ("version = 3" if major_version(node) >= 2 else "version = 2")
    assert f'imports = ["{node.data["containerd_dropin_dir"]}/*.toml"]' in text
    assert "disabled_plugins" not in text


def test_effective_config_systemd_cgroup_and_sandbox(node):
    """CRT-1/CRT-2 on the merged configuration containerd really loads (`containerd config dump`)."""
    dump = node.check_output("containerd config dump")
    sandbox = node.inventory.sandbox_image
    if major_version(node) >= 2:
        runc = "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]"
        assert f"sandbox = '{sandbox}'" in dump
        assert "default_runtime_name = 'runc'" in dump
    else:
        runc = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]'
        assert f'sandbox_image = "{sandbox}"' in dump
        assert 'default_runtime_name = "runc"' in dump
    options = dump.split(runc, 1)[1].split("\n  [", 1)[0] if runc in dump else ""
    assert re.search(r"^\s*SystemdCgroup = true$", options, re.MULTILINE), "runc options lack SystemdCgroup = true"
    assert "SystemdCgroup = false" not in options


def test_cri_plugin_ok(node):
    plugins = node.check_output("ctr plugins ls")
    cri = [line.split() for line in plugins.splitlines() if re.match(r"^io\.containerd\.grpc\.v1\s+cri\s", line)]
    assert cri and cri[0][-1] == "ok", plugins


def test_crictl_config(node):
    text = node.file("/etc/crictl.yaml").content_string
    assert f"runtime-endpoint: {node.data['cri_socket']}" in text.splitlines()
    assert f"image-endpoint: {node.data['cri_socket']}" in text.splitlines()


def test_dropin_directory(node):
    directory = node.file(node.data["containerd_dropin_dir"])
    assert directory.is_directory and directory.mode == 0o755
    if not node.inventory.in_group("gpu"):
        assert not [name for name in directory.listdir() if name.endswith(".toml")]
