"""Each validation rule rejects a broken inventory before any host is touched (spec 00 §6.1)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from goldentooth.errors import InvalidInventory
from goldentooth.inventory import load_inventory
from goldentooth.pyinfra_run import pyinfra_command
from goldentooth.secrets import write_secrets

# (case id, patch of _NODES/_GROUPS, {group_data file: appended lines}, where, key, rule)
CASES = [
    ("two-control-planes", '_GROUPS["k8s_control_plane"].remove("dalt"); _GROUPS["k8s_workers"].append("dalt")',
     {}, "group k8s_control_plane", "members", "odd-control-plane"),
    ("four-control-planes", '_GROUPS["k8s_workers"].remove("erenford"); _GROUPS["k8s_control_plane"].append("erenford")',
     {}, "group k8s_control_plane", "members", "odd-control-plane"),
    ("pod-overlaps-hosts", "", {"all": 'pod_cidr = "10.4.0.0/16"'}, "all", "pod_cidr", "cidr-overlap"),
    ("service-overlaps-pods", "", {"all": 'service_cidr = "192.168.0.0/20"'}, "all", "pod_cidr", "cidr-overlap"),
    ("metallb-outside-hosts", "", {"all": 'metallb_cidr = "10.5.11.0/24"'}, "all", "metallb_cidr", "metallb-in-host-network"),
    ("metallb-in-dhcp", "", {"all": 'metallb_cidr = "10.4.0.128/25"'}, "all", "metallb_cidr", "metallb-outside-dhcp"),
    ("endpoint-off-load-balancer", "", {"all": 'api_endpoint_host = "10.4.0.11"'},
     "all", "api_endpoint_host", "endpoint-on-load-balancer"),
    ("load-balancer-is-node", '_GROUPS["k8s_workers"].append("allyrion")', {},
     "host allyrion", "groups", "load-balancer-not-node"),
    ("gpu-not-worker", '_GROUPS["gpu"] = ["bettley"]', {}, "host bettley", "groups", "gpu-is-worker"),
    ("ignore-all-preflight", "", {"all": 'kubeadm_ignore_preflight_errors = ["ALL"]'},
     "all", "kubeadm_ignore_preflight_errors", "no-ignore-all"),
    ("export-to-everyone",
     '_NODES[0] = replace(_NODES[0], data={"nfs_exports": [{"path": "/mnt/usb1", "clients": "*", "options": ["rw"]}]})',
     {}, "host allyrion", "nfs_exports", "nfs-clients"),
    ("mount-server-not-nfs-server", "",
     {"all": 'nfs_mounts = [{"name": "x", "server": "bettley", "export": "/srv", "where": "/mnt/x"}]'},
     "all", "nfs_mounts", "nfs-mount-server"),
    ("zfs-source-outside-zfs", "", {"zfs": 'zfs_replication_source = "bettley"'},
     "group zfs", "zfs_replication_source", "zfs-source"),
    ("zfs-replication-without-principal", "", {"all": "ssh_replication_principal = None"},
     "host allyrion", "ssh_replication_principal", "zfs-replication-login"),
    ("unknown-host-in-group", '_GROUPS["zfs"].append("nosuchhost")', {}, "group zfs", "members", "host-exists"),
    ("malformed-version", "", {"all": 'kubernetes_version = "v1.32"'}, "all", "kubernetes_version", "version-format"),
    ("duplicate-address", '_NODES[5] = replace(_NODES[5], ipv4_address="10.4.0.14")', {},
     "host fenn", "ipv4_address", "unique-address"),
    ("address-in-dhcp", '_NODES[5] = replace(_NODES[5], ipv4_address="10.4.0.150")', {},
     "host fenn", "ipv4_address", "address-outside-dhcp"),
    ("bad-host-name", '_NODES.append(Node("Bad_Name", "10.4.0.40", "pi5")); _GROUPS["k8s_workers"].append("Bad_Name")',
     {}, "host Bad_Name", "name", "host-name"),
    ("unknown-timezone", "", {"all": 'timezone = "Mars/Olympus"'}, "all", "timezone", "timezone"),
    ("token-ttl-too-long", "", {"all": 'join_token_ttl = "48h"'}, "all", "join_token_ttl", "token-ttl"),
    ("kubelet-owned-label",
     '_NODES[-1] = replace(_NODES[-1], data={**_NODES[-1].data, "node_labels": {"node.kubernetes.io/x": "y"}})',
     {}, "host velaryon", "node_labels", "label-syntax"),
    ("bad-taint-effect",
     '_NODES[-1] = replace(_NODES[-1], data={**_NODES[-1].data, "node_taints": [{"key": "gpu", "value": "true", "effect": "Never"}]})',
     {}, "host velaryon", "node_taints", "taint-effect"),
    ("calico-untested-minor", "", {"all": 'kubernetes_version = "1.33.2"'}, "all", "calico_version", "calico-compat"),
    ("zfs-force-in-group-data", "", {"zfs": "zfs_pool_force = True"}, "all", "zfs_pool_force", "zfs-force-host-only"),
    ("unstable-pool-device",
     '_NODES[4] = replace(_NODES[4], data={"zfs_pool_device": "/dev/sda"})', {},
     "host erenford", "zfs_pool_device", "zfs-stable-device"),
]


@pytest.mark.parametrize(("patch", "data", "where", "key", "rule"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_rule_rejects(make_inventory, patch: str, data: dict[str, str], where: str, key: str, rule: str) -> None:
    path = make_inventory(patch, data)
    with pytest.raises(InvalidInventory) as raised:
        load_inventory(path)
    found = [(v.where, v.key, v.rule) for v in raised.value.violations]
    assert (where, key, rule) in found, raised.value.render()
    assert rule in raised.value.render() and key in raised.value.render()


def test_missing_secret(make_inventory, secrets: Path) -> None:
    write_secrets(secrets, {})
    with pytest.raises(InvalidInventory) as raised:
        load_inventory(make_inventory())
    assert [(v.key, v.rule) for v in raised.value.violations] == [("haproxy_stats_password", "secret-required")]


def test_secret_file_must_be_private(make_inventory, secrets: Path) -> None:
    secrets.chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        load_inventory(make_inventory())


def test_unpatched_variant_is_valid(make_inventory) -> None:
    assert load_inventory(make_inventory()).init_node == "bettley"


PYINFRA_CASES = ["two-control-planes", "pod-overlaps-hosts", "endpoint-off-load-balancer",
                 "unknown-host-in-group", "malformed-version", "duplicate-address"]


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in PYINFRA_CASES], ids=PYINFRA_CASES)
def test_pyinfra_stops_before_connecting(make_inventory, case: tuple) -> None:
    """`pyinfra <inventory> <deploy>` exits non-zero with the named rule and never connects."""
    _, patch, data, where, key, rule = case
    path = make_inventory(patch, data)
    deploy = path.parent / "noop.py"
    deploy.write_text("from pyinfra.operations import server\nserver.shell(name='never', commands=['true'])\n")
    result = subprocess.run(
        pyinfra_command(path, "-y", str(deploy)), cwd=path.parent, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"{where}: {key}: [{rule}]" in output
    assert "Connecting to hosts" not in output
