"""The lab's checks and its inventory, without booting anything (no root needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from click.testing import CliRunner

from goldentooth import PROJECT_ROOT
from goldentooth.cli import load_commands
from goldentooth.lab import inventory as lab_inventory
from goldentooth.lab import node, prerequisites, repository, sshconfig
from goldentooth.lab.errors import LabError
from goldentooth.lab.lifecycle import select_hosts
from goldentooth.lab.network import fabric_port
from goldentooth.lab.state import LabState, NodeRecord, Process, lab_name

BASE = PROJECT_ROOT / "inventory.py"


@pytest.fixture
def secrets_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.yaml"
    lab_inventory.ensure_lab_secrets(path)
    return path


def test_not_root_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prerequisites.platform, "system", lambda: "Linux")
    monkeypatch.setattr(prerequisites.os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match="needs root"):
        prerequisites.require_root_linux()


def test_missing_tools_name_the_packages_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prerequisites.shutil, "which",
                        lambda command, path=None: None if command in ("debootstrap", "systemd-nspawn") else "/bin/x")
    with pytest.raises(LabError) as error:
        prerequisites.require_tools()
    message = str(error.value)
    assert "debootstrap systemd-container" in message
    assert "goldentooth lab prerequisites --install" in message


def test_unknown_host_or_group_is_a_clear_error(secrets_file: Path) -> None:
    cluster = lab_inventory.load_base(BASE, secrets_file)
    with pytest.raises(LabError, match="'nosuch' is not a host of"):
        select_hosts(cluster, BASE, "bettley,nosuch", None)
    with pytest.raises(LabError, match="'workers' is not a group of"):
        select_hosts(cluster, BASE, None, "workers")
    chosen = select_hosts(cluster, BASE, "allyrion", "k8s_control_plane")
    assert [host.name for host in chosen] == ["allyrion", "bettley", "cargyll", "dalt"]


def test_lab_inventory_keeps_hosts_groups_and_data_and_overlays_lab_data(tmp_path: Path, secrets_file: Path) -> None:
    cluster = lab_inventory.load_base(BASE, secrets_file)
    text = lab_inventory.render("unit", BASE, cluster, ["allyrion", "velaryon"], "http://10.4.0.1", "amd64",
                                {"containerd": "1.6.20~ds1-1+deb12u9"})
    lab = lab_inventory.write_lab_inventory(tmp_path / "inventory.py", text)
    assert list(lab.hosts) == ["allyrion", "velaryon"]
    assert lab.groups["gpu"] == ("velaryon",) and lab.groups["k8s_control_plane"] == ()
    velaryon = lab.host("velaryon")
    assert velaryon.get("node_taints") == cluster.host("velaryon").get("node_taints")
    assert velaryon.get("mac_address") == "2c:f0:5d:0f:ff:39"
    assert velaryon.get("expected_os") == "debian 12" and velaryon.expected_arch == "amd64"
    assert velaryon.get("lab") is True
    assert velaryon.get("ssh_config_file") == str(tmp_path / "ssh_config")
    assert velaryon.get("debian_apt_url") == "http://10.4.0.1/debian"
    assert velaryon.get("containerd_package") == "containerd"
    assert velaryon.get("containerd_package_version") == "1.6.20~ds1-1+deb12u9"
    assert velaryon.kubernetes_apt_repo_url == "http://10.4.0.1/kubernetes/core:/stable:/v1.32/deb/"
    assert lab.settings["haproxy_stats_password"] == cluster.settings["haproxy_stats_password"]
    assert velaryon.get("ssh_ca_dir") == str(tmp_path / "ssh-ca")
    assert velaryon.get("gpu_on_missing_driver") == "prepare"
    assert velaryon.get("zfs_packages") == [] and velaryon.get("debian_backports_suite") is None
    fs_type = lab_inventory.filesystem_type(tmp_path)
    for name in ("allyrion", "velaryon"):
        exports, base = lab.host(name).get("nfs_exports"), cluster.host(name).get("nfs_exports")
        assert [export["path"] for export in exports] == [export["path"] for export in base]
        assert all(export["fs_type"] == fs_type and "fs_uuid" not in export for export in exports)
    assert "nfs_exports" not in lab_inventory.lab_exports(lab_inventory.Node("bettley", "10.4.0.11", "pi4b-8gb"), "ext4")


def test_export_paths_get_a_fresh_directory_each_to_bind_mount(tmp_path: Path) -> None:
    binds = node.export_binds(tmp_path, [{"path": "/mnt/usb1"}, {"path": "/mnt/gpu-storage"}])
    assert binds == [(tmp_path / "exports" / "0", "/mnt/usb1"), (tmp_path / "exports" / "1", "/mnt/gpu-storage")]
    assert all(source.is_dir() for source, _ in binds)
    assert node.export_binds(tmp_path / "other", []) == []


def test_lab_ssh_cas_are_made_once_with_the_cert_authority_known_hosts(tmp_path: Path, secrets_file: Path) -> None:
    cluster = lab_inventory.load_base(BASE, secrets_file)
    directory = tmp_path / "ssh-ca"
    assert sshconfig.ensure_ssh_ca(directory, cluster) is True
    host_ca = (directory / "host_ca.pub").read_text()
    assert sshconfig.ensure_ssh_ca(directory, cluster) is False
    assert (directory / "host_ca.pub").read_text() == host_ca
    assert (directory / "known_hosts").read_text().startswith("@cert-authority *.nodes.goldentooth.net,allyrion,")
    assert host_ca.split()[1] in (directory / "known_hosts").read_text()
    assert directory.stat().st_mode & 0o077 == 0


def test_lab_secrets_are_private_and_stable(secrets_file: Path) -> None:
    first = secrets_file.read_text()
    lab_inventory.ensure_lab_secrets(secrets_file)
    assert secrets_file.read_text() == first
    assert secrets_file.stat().st_mode & 0o077 == 0


def test_lab_names_and_interface_names_fit_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOLDENTOOTH_LAB_NAME", raising=False)
    name = lab_name(Path("/work/a-very-long-worktree-name/.lab"))
    assert name.startswith("a-very-long") and len(name) <= 16
    assert lab_name(Path("/x/.lab")) != lab_name(Path("/y/.lab"))
    assert len(fabric_port(12, "a-host-name-of-many-characters")) <= 15
    monkeypatch.setenv("GOLDENTOOTH_LAB_NAME", "Bad Name")
    with pytest.raises(LabError, match="GOLDENTOOTH_LAB_NAME"):
        lab_name(Path("/x/.lab"))


def test_state_round_trips_through_json() -> None:
    state = LabState(name="t", hosts=["a"], httpd=Process(10, "99"),
                     nodes={"a": NodeRecord("a", "10.4.0.10", "gt-t-a", "/m", Process(11, "100"), 12)})
    assert LabState.from_json(state.to_json()) == state


def test_pinned_versions_come_from_the_repository_index(tmp_path: Path) -> None:
    index = tmp_path / "debian/dists/bookworm/main/binary-amd64"
    index.mkdir(parents=True)
    (index / "Packages").write_text(
        "Package: containerd\nVersion: 1.6.20~ds1-1+deb12u7\nDescription: daemon\n multi-line: text\n\n"
        "Package: runc\nVersion: 1.1.5+ds1-1+deb12u1\n"
    )
    fallback = {"containerd": "0"}
    assert repository.debian_versions(tmp_path, "amd64", fallback) == {"containerd": "1.6.20~ds1-1+deb12u7"}
    assert repository.debian_versions(None, "amd64", fallback) == fallback


def test_ssh_ca_commands_use_the_ca_directory_of_the_lab_data(tmp_path: Path, secrets_file: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOLDENTOOTH_SSH_CA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "operator"))
    cluster = lab_inventory.load_base(BASE, secrets_file)
    text = lab_inventory.render("unit", BASE, cluster, ["allyrion", "bettley"], "http://10.4.0.1", "amd64",
                                {"containerd": "1.6.20~ds1-1+deb12u9"})
    lab_inventory.write_lab_inventory(tmp_path / "inventory.py", text)
    result = CliRunner().invoke(load_commands(), ["-i", str(tmp_path / "inventory.py"), "ssh-ca", "init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ssh-ca" / "host_ca.pub").is_file() and not (tmp_path / "operator").exists()
