"""Deploy plumbing: entry-file detection and the host check made before any operation is planned."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest
from pyinfra.api.exceptions import DeployError
from pyinfra.context import ctx_host, ctx_state
from pyinfra_testing.util import FakeState, create_host

from deploys import _context, run_as_entry
from goldentooth.inventory import load_inventory

ROOT = Path(__file__).resolve().parents[2]
PI = {"os_id": "debian", "os_version_id": "12", "os_codename": "bookworm", "arch": "arm64",
      "model": "Raspberry Pi 4 Model B Rev 1.4", "is_raspberry_pi": True, "container": None}


def test_run_as_entry_runs_only_when_pyinfra_executes_the_file():
    calls = []
    run_as_entry({"__file__": "deploys/node_base.py"}, lambda: calls.append("entry"))
    run_as_entry({"__name__": "deploys.node_base", "__file__": "deploys/node_base.py"}, lambda: calls.append("import"))
    assert calls == ["entry"]


def test_entry_file_frames_map_to_a_module():
    """pyinfra inspects the stack of every operation; an entry file's frames must map to a module
    through inspect's cache, or every lookup rescans sys.modules (the bulk of planning time)."""
    path = str(ROOT / "deploys" / "kubernetes.py")
    code = compile("pass", path, "exec")  # what pyinfra's exec_file makes of the entry file
    run_as_entry({"__file__": path})
    assert inspect.getmodule(code) is sys.modules["deploys.kubernetes"]


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("haproxy_stats_password: fixture-password\n")
    secrets.chmod(0o600)
    monkeypatch.setenv("GOLDENTOOTH_SECRETS", str(secrets))
    monkeypatch.setattr(_context, "_PROFILES", {})
    return load_inventory(ROOT / "inventory.py")


def context_for(name: str, profile: dict):
    state = FakeState()
    host = create_host(state, facts={"host.HostProfile": profile})
    host.name = name
    with ctx_state.use(state), ctx_host.use(host):
        return _context.node_context()


def test_matching_host_gives_its_context(cluster):
    ctx = context_for("bettley", PI)
    assert ctx.node.name == "bettley" and not ctx.container
    assert ctx.format_url("docker_apt_url") == "https://download.docker.com/linux/debian"


@pytest.mark.parametrize(
    ("name", "profile", "message"),
    [
        ("bettley", {**PI, "arch": "amd64"}, "expected_arch: dpkg reports amd64, data says arm64"),
        ("velaryon", {**PI, "arch": "amd64", "model": None, "is_raspberry_pi": False},
         "expected_os: /etc/os-release reports debian 12, data says ubuntu 24.04"),
        ("bettley", {**PI, "model": None, "is_raspberry_pi": False}, "raspberry_pi: device-tree model is None"),
    ],
)
def test_host_that_differs_from_the_inventory_is_refused(cluster, name, profile, message):
    with pytest.raises(DeployError, match=f"^{name}: host does not match the inventory: .*{message}"):
        context_for(name, profile)


def test_lab_container_is_not_checked_for_raspberry_pi_hardware(cluster):
    ctx = context_for("bettley", {**PI, "arch": "arm64", "model": None, "is_raspberry_pi": False,
                                  "container": "systemd-nspawn"})
    assert ctx.container


@pytest.mark.parametrize(
    ("name", "extra", "kubelet_conf", "allowed"),
    [
        ("fenn", {}, None, True),  # a worker that has not joined yet
        ("fenn", {}, {"size": 5000}, False),  # joined: the drain-aware reboot decides
        ("allyrion", {}, None, False),  # the load balancer, NFS server and ZFS source
        ("erenford", {}, None, False),  # a ZFS replica
        ("fenn", {"allow_reboot": False}, None, False),
        ("allyrion", {"allow_reboot": True}, None, True),
    ],
)
def test_boot_setting_reboots_only_where_safe(cluster, name, extra, kubelet_conf, allowed):
    from dataclasses import replace

    from deploys.node_base import reboot_allowed

    node = cluster.host(name)
    ctx = _context.NodeContext(replace(node, data={**node.data, **extra}), PI)
    state = FakeState()
    host = create_host(state, facts={"files.File": {"path=/etc/kubernetes/kubelet.conf": kubelet_conf}})
    with ctx_state.use(state), ctx_host.use(host):
        assert reboot_allowed(ctx) is allowed
