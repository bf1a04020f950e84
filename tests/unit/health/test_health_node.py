"""Connections for health checks: generated ssh_config, Node, shared SSH connections (goldentooth.health.node)."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager

import pytest

from goldentooth.health import node as node_module
from goldentooth.health.node import Node, connect, render_ssh_config, ssh_ca_known_hosts
from goldentooth.inventory import load_inventory


def test_generated_ssh_config_follows_the_spec(cluster, tmp_path):
    text = render_ssh_config([cluster.host("bettley")], tmp_path / "known_hosts", tmp_path)
    assert text.splitlines() == [
        "Host bettley",
        "    HostName 10.4.0.11",
        "    User root",
        f"    IdentityFile {os.path.expanduser('~/.ssh/id_ed25519')}",
        "    IdentitiesOnly yes",
        f"    UserKnownHostsFile {tmp_path / 'known_hosts'}",
        "    StrictHostKeyChecking yes",
        "    ControlMaster auto",
        f"    ControlPath {tmp_path / 'cm-%C'}",
        "    ControlPersist 60s",
    ]


def test_connect_uses_the_lab_ssh_config(lab_inventory):
    lab = load_inventory(lab_inventory)
    node = connect(lab, "bettley")
    assert isinstance(node, Node) and node.name == "bettley"
    assert node.inventory is lab.host("bettley") and node.data["lab"] is True
    assert node.backend.NAME == "ssh" and node.backend.host.name == "bettley"
    assert node.backend.ssh_config == node.data["ssh_config_file"]


def test_connect_generates_an_ssh_config_for_real_hosts(cluster):
    node = connect(cluster, "velaryon")
    text = open(node.backend.ssh_config, encoding="utf-8").read()
    assert "Host velaryon\n    HostName 10.4.0.30\n" in text
    assert f"UserKnownHostsFile {ssh_ca_known_hosts()}" in text
    assert text.count("\nHost ") + 1 == len(cluster.hosts)


def test_first_command_per_host_runs_under_the_host_lock(monkeypatch, tmp_path):
    events = []

    @contextmanager
    def lock(config, name):
        events.append(("lock", config, name))
        yield
        events.append(("unlock", config, name))

    monkeypatch.setattr(node_module, "_host_lock", lock)
    monkeypatch.setattr(node_module.SshBackend, "run", lambda self, command, *args: events.append(("run", command)))
    backend = node_module.SharedSshBackend("bettley", ssh_config=str(tmp_path / "ssh_config"))
    backend.run("true")
    backend.run("hostname")
    config = str(tmp_path / "ssh_config")
    assert events == [("lock", config, "bettley"), ("run", "true"), ("unlock", config, "bettley"), ("run", "hostname")]


def test_host_lock_is_a_real_file_lock(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with node_module._host_lock("/cfg", "bettley"):
        (lock,) = list(tmp_path.glob("goldentooth-ssh-*/*.lock"))
        with open(lock, "w", encoding="utf-8") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_known_hosts_come_from_the_ssh_ca_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("GOLDENTOOTH_SSH_CA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert ssh_ca_known_hosts() == tmp_path / "data" / "goldentooth" / "ssh-ca" / "known_hosts"
    monkeypatch.setenv("GOLDENTOOTH_SSH_CA_DIR", str(tmp_path / "ca"))
    assert ssh_ca_known_hosts() == tmp_path / "ca" / "known_hosts"
