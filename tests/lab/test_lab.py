"""The lab over real SSH: three booted nodes, a pyinfra fact, testinfra checks, and a clean teardown."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

from goldentooth.inventory import load_inventory

from . import leftovers
from .conftest import MARKER, NODES, LabRun, lab_directory, make_lab


def node(lab: LabRun, name: str):
    return testinfra.get_host(f"ssh://{name}", ssh_config=str(lab.ssh_config))


def pyinfra_fact(lab: LabRun, fact: str) -> dict[str, object]:
    """Run `pyinfra <lab inventory> fact FACT --json` and return the fact per host."""
    command = [str(Path(sys.executable).with_name("pyinfra")), str(lab.inventory), "fact", fact, "--json"]
    result = subprocess.run(command, env=lab.env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)[fact]


def test_pyinfra_reads_a_fact_over_ssh(lab: LabRun) -> None:
    assert pyinfra_fact(lab, "server.Hostname") == {name: name for name in NODES}


@pytest.mark.parametrize("name", NODES)
def test_node_is_a_booted_systemd_host_with_its_identity(lab: LabRun, name: str) -> None:
    host = node(lab, name)
    assert host.check_output("systemctl is-system-running") == "running"
    assert host.check_output("hostname") == name
    assert host.service("ssh").is_running
    address = load_inventory(lab.inventory).host(name).address
    assert f"inet {address}/20" in host.check_output("ip -4 addr show eth0")
    assert host.file("/root/.ssh/authorized_keys").mode == 0o600


def test_nodes_have_unique_machine_ids_and_host_keys(lab: LabRun) -> None:
    ids = {node(lab, name).file("/etc/machine-id").content_string.strip() for name in NODES}
    keys = {node(lab, name).file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()[1] for name in NODES}
    assert len(ids) == len(keys) == len(NODES)


def test_nodes_reach_each_other_and_the_repository_on_the_gateway(lab: LabRun) -> None:
    host = node(lab, "bettley")
    assert host.run("ping -c1 -W2 cargyll.nodes.goldentooth.net").rc == 0
    assert host.check_output("curl -fsS http://10.4.0.1/marker.txt") == MARKER.strip()


def test_lab_inventory_keeps_the_hosts_groups_and_data(lab: LabRun) -> None:
    cluster = load_inventory(lab.inventory)
    assert list(cluster.hosts) == list(NODES)
    assert cluster.groups["load_balancer"] == ("allyrion",)
    assert cluster.groups["k8s_control_plane"] == ("bettley", "cargyll")
    allyrion = cluster.host("allyrion")
    assert allyrion.get("nfs_exports")[0]["path"] == "/mnt/usb1"
    assert allyrion.get("lab") is True and allyrion.get("ssh_config_file") == str(lab.ssh_config)
    assert allyrion.get("ssh_strict_host_key_checking") == "yes"
    assert allyrion.get("kubernetes_apt_base").startswith("http://10.4.0.1/")
    assert cluster.settings["haproxy_stats_password"]


def test_ssh_refuses_an_unknown_host_key(lab: LabRun) -> None:
    known = lab.dir / "known_hosts"
    original = known.read_text()
    try:
        known.write_text("".join(line for line in original.splitlines(keepends=True) if not line.startswith("cargyll,")))
        result = subprocess.run(["ssh", "-F", str(lab.ssh_config), "-o", "BatchMode=yes", "-o", "ControlPath=none",
                                 "cargyll", "true"], capture_output=True, text=True, check=False)
        assert result.returncode != 0
        assert "Host key verification failed" in result.stderr
    finally:
        known.write_text(original)


def test_root_namespace_holds_no_lab_address_and_blocks_the_subnet(lab: LabRun) -> None:
    network = ipaddress.ip_network("10.4.0.0/20")
    addresses = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    assert not [word for word in addresses.split() if "/" in word and ipaddress.ip_interface(word).ip in network]
    routes = subprocess.run(["ip", "route", "show", "type", "prohibit"], capture_output=True, text=True, check=True)
    assert "10.4.0.0/20" in routes.stdout
    with pytest.raises(OSError):
        socket.create_connection(("10.4.0.11", 22), timeout=2)


def test_lab_up_again_says_already_up(lab: LabRun) -> None:
    result = lab.goldentooth("lab", "up", "--hosts", ",".join(NODES), "--no-repo")
    assert result.returncode == 0, result.stderr
    assert "already up" in result.stderr
    status = lab.goldentooth("lab", "status")
    assert status.returncode == 0 and status.stdout.count(" running ") == len(NODES)


def test_a_second_lab_runs_beside_without_clashing(lab: LabRun) -> None:
    with lab_directory("b") as (directory, name):
        other = make_lab(directory, name)
        try:
            result = other.goldentooth("lab", "up", "--hosts", "bettley", "--no-repo")
            assert result.returncode == 0, result.stderr
            mine, theirs = node(lab, "bettley"), node(other, "bettley")
            assert mine.check_output("hostname -I").strip() == theirs.check_output("hostname -I").strip() == "10.4.0.11"
            machine_id = "/etc/machine-id"
            assert mine.file(machine_id).content_string != theirs.file(machine_id).content_string
        finally:
            down = other.goldentooth("lab", "down")
        assert down.returncode == 0, down.stderr
        assert leftovers.everything(name, directory) == []
    assert node(lab, "bettley").check_output("hostname") == "bettley"
    routes = subprocess.run(["ip", "route", "show", "type", "prohibit"], capture_output=True, text=True, check=True)
    assert "10.4.0.0/20" in routes.stdout


def test_zz_down_leaves_nothing_and_is_safe_twice(lab: LabRun, repo_tree: Path) -> None:
    first = lab.goldentooth("lab", "down")
    assert first.returncode == 0, first.stderr
    assert leftovers.everything(lab.name, lab.dir, repo_tree) == []
    assert not lab.inventory.exists() and not lab.ssh_config.exists()
    second = lab.goldentooth("lab", "down")
    assert second.returncode == 0 and "not up" in second.stderr
