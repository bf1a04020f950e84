"""Storage decisions without hosts: share topology, export guard, ARC rule, pool safety, validation."""

from pathlib import Path

import pytest

from goldentooth.inventory import Node, build_cluster, load_group_data
from goldentooth.nfs import client_shares, export_mount_problem, fstab_line, own_shares
from goldentooth.validation import validate
from goldentooth.zfs import PoolDeviceRefused, arc_max_problem, pool_create_force, role

REPO = Path(__file__).resolve().parents[2]
EXPORT = {"path": "/mnt/usb1", "clients": "10.4.0.0/20", "options": ["rw"], "fs_type": "ext4"}
GPU_EXPORT = {**EXPORT, "path": "/mnt/gpu-storage", "fs_uuid": "5bc38d5b-a7a4-426e-acdb-e5caf0a809d9"}
NODES = [
    Node("allyrion", "10.4.0.10", "pi4b-8gb", data={"nfs_exports": [EXPORT]}),
    Node("bettley", "10.4.0.11", "pi4b-8gb"),
    Node("erenford", "10.4.0.14", "pi4b-8gb"),
    Node("gardener", "10.4.0.16", "pi4b-4gb"),
    Node("velaryon", "10.4.0.30", "x86_64", data={"nfs_exports": [GPU_EXPORT]}),
]
GROUPS = {
    "load_balancer": ["allyrion"],
    "k8s_control_plane": ["bettley"],
    "k8s_workers": ["erenford", "gardener", "velaryon"],
    "nfs_server": ["allyrion", "velaryon"],
    "zfs": ["allyrion", "erenford", "gardener"],
}


def make(group_overrides=None, host_overrides=None):
    group_data = load_group_data(REPO / "group_data")
    group_data["all"]["haproxy_stats_password"] = "unit-test-only"
    for group, values in (group_overrides or {}).items():
        group_data.setdefault(group, {}).update(values)
    cluster = build_cluster(NODES, GROUPS, group_data, "test", host_overrides)
    return cluster, validate(cluster, [node.name for node in NODES], GROUPS, group_data)


def rules(violations):
    return {(violation.where, violation.rule) for violation in violations}


def test_reference_data_is_valid():
    _, violations = make()
    assert violations == []


def test_a_host_never_mounts_its_own_export():
    cluster, _ = make()
    assert [share.where for share in client_shares(cluster, "allyrion")] == ["/mnt/gpu-storage"]
    assert [share.where for share in client_shares(cluster, "velaryon")] == ["/mnt/nfs"]
    assert [share.where for share in client_shares(cluster, "bettley")] == ["/mnt/nfs", "/mnt/gpu-storage"]
    assert [share.mount_unit for share in own_shares(cluster, "velaryon")] == ["mnt-gpu\\x2dstorage.mount"]
    assert {share.server_address for share in client_shares(cluster, "bettley")} == {"10.4.0.10", "10.4.0.30"}


def test_guard_refuses_unmounted_export():
    assert export_mount_problem(EXPORT, None).startswith("refusing to export /mnt/usb1: not the expected mounted filesystem")


def test_guard_refuses_wrong_type_or_uuid():
    assert export_mount_problem(EXPORT, {"fstype": "vfat", "source": "/dev/sda1"}) is not None
    wrong = {"fstype": "ext4", "uuid": "0e4b7a0e-2f43-4c1e-9b0a-6f4c2f2d8b11", "source": "/dev/nvme0n1p1"}
    assert "expected 5bc38d5b" in export_mount_problem(GPU_EXPORT, wrong)


def test_guard_accepts_expected_filesystem():
    assert export_mount_problem(EXPORT, {"fstype": "ext4", "uuid": "anything"}) is None
    assert export_mount_problem(GPU_EXPORT, {"fstype": "ext4", "uuid": GPU_EXPORT["fs_uuid"]}) is None


def test_fstab_line_only_with_uuid():
    assert fstab_line(EXPORT) is None
    assert fstab_line(GPU_EXPORT) == "UUID=5bc38d5b-a7a4-426e-acdb-e5caf0a809d9 /mnt/gpu-storage ext4 defaults,nofail 0 2"


def test_roles_from_data():
    cluster, _ = make()
    assert [role(cluster, name) for name in ("allyrion", "erenford", "gardener", "bettley")] == ["source", "replica", "replica", None]


# ARC (spec 80-zfs.md check 23)
def test_arc_128_mib_is_refused_on_8gb():
    assert "arc_c_min" in arc_max_problem(134217728, 8190685184)


def test_arc_1_gib_is_accepted_on_8gb():
    assert arc_max_problem(1073741824, 8190685184) is None


def test_arc_bounds():
    assert "64 MiB" in arc_max_problem(32 * 1024 * 1024, 8190685184)
    assert "below the memory" in arc_max_problem(8190685184, 8190685184)
    assert arc_max_problem(134217728, 8190685184, arc_min=67108864) is None


def test_arc_validation_names_host_key_and_rule():
    _, violations = make(group_overrides={"zfs": {"zfs_arc_max_bytes": 134217728}})
    assert {(v.where, v.key, v.rule) for v in violations} >= {
        ("host allyrion", "zfs_arc_max_bytes", "zfs-arc-max"),
        ("host gardener", "zfs_arc_max_bytes", "zfs-arc-max"),
    }


# Pool device safety (spec 80-zfs.md checks 18-21)
BLANK = [{"PATH": "/dev/sda", "TYPE": "disk", "FSTYPE": "", "PTTYPE": "", "LABEL": ""}]
GPT = [{"PATH": "/dev/sda", "TYPE": "disk", "FSTYPE": "", "PTTYPE": "gpt", "LABEL": ""}]
OLD_POOL = [*GPT, {"PATH": "/dev/sda1", "TYPE": "part", "FSTYPE": "zfs_member", "PTTYPE": "gpt", "LABEL": "rpool"}]


def test_blank_device_needs_no_force():
    assert pool_create_force("rpool", "/dev/disk/by-id/x", BLANK, {}, force=False) is False


def test_partition_table_is_refused_without_force():
    with pytest.raises(PoolDeviceRefused, match="^device holds data; set zfs_pool_force in host data to overwrite"):
        pool_create_force("rpool", "/dev/disk/by-id/x", GPT, {"PTTYPE": "gpt"}, force=False)


def test_partition_table_with_force():
    assert pool_create_force("rpool", "/dev/disk/by-id/x", GPT, {"PTTYPE": "gpt"}, force=True) is True


@pytest.mark.parametrize("force", [False, True])
def test_unimported_pool_is_never_recreated(force):
    with pytest.raises(PoolDeviceRefused, match="exists on /dev/disk/by-id/x but is not imported"):
        pool_create_force("rpool", "/dev/disk/by-id/x", OLD_POOL, {"PTTYPE": "gpt"}, force=force)


def test_whole_disk_signature_counts_as_data():
    with pytest.raises(PoolDeviceRefused):
        pool_create_force("rpool", "/dev/disk/by-id/x", BLANK, {"TYPE": "ext4"}, force=False)


def test_force_in_group_data_is_a_validation_error():
    _, violations = make(group_overrides={"zfs": {"zfs_pool_force": True}})
    assert ("all", "zfs-force-host-only") in rules(violations)


def test_force_in_host_data_is_accepted():
    _, violations = make(host_overrides={"erenford": {"zfs_pool_force": True}})
    assert violations == []


def test_unescapable_mount_path_is_a_validation_error():
    group_data = load_group_data(REPO / "group_data")
    mounts = [dict(group_data["all"]["nfs_mounts"][0], where="/mnt/../etc")]
    _, violations = make(group_overrides={"all": {"nfs_mounts": mounts}})
    assert ("all", "nfs-mount-path") in rules(violations)
