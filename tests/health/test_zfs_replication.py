"""ZFS replication: source dataset, Syncoid units and timers, replica side (spec 80-zfs.md Checks 8-17).

The source is `zfs_replication_source`; replicas are the other `zfs` hosts (computed, never listed).
"""

from __future__ import annotations

import time

import pytest

from goldentooth.health.checks import assert_content, unit_state
from goldentooth.storage_files import syncoid_service, syncoid_timer

UNIT_DIR = "/etc/systemd/system"
source_only = pytest.mark.groups("zfs", where=lambda host: host.name == host.get("zfs_replication_source"))
replicas_only = pytest.mark.groups("zfs", where=lambda host: host.name != host.get("zfs_replication_source"))


@source_only
@pytest.mark.kernel(reason="datasets need the zfs kernel module")
def test_source_dataset_mountpoint(node):
    dataset, mountpoint = node.data["zfs_replicated_dataset"], node.data["zfs_source_mountpoint"]
    assert node.check_output("zfs get -H -o value,source mountpoint %s", dataset) == f"{mountpoint}\tlocal"
    tops = [line.split() for line in node.file("/proc/self/mountinfo").content_string.splitlines()]
    top = [fields[fields.index("-") + 1:] for fields in tops if fields[4] == mountpoint][-1]
    assert (top[0], top[1]) == ("zfs", dataset)


@source_only
def test_syncoid_units(node):
    data = node.data
    assert_content(node, f"{UNIT_DIR}/syncoid@.service", syncoid_service(data["zfs_replicated_dataset"], data["zfs_replication_ssh_key"]))
    assert_content(node, f"{UNIT_DIR}/syncoid@.timer", syncoid_timer(data["zfs_replicated_dataset"]))


@source_only
def test_syncoid_units_verify_clean(node, cluster):
    if "zfsutils-linux" not in node.data["zfs_packages"]:
        pytest.skip("syncoid@.service requires zfs-import.target from zfsutils-linux, not installed by this inventory's data")
    replica = cluster.zfs_replicas[0]
    result = node.run("systemd-analyze verify --man=no %s %s", f"syncoid@{replica}.service", f"syncoid@{replica}.timer")
    assert (result.rc, result.stdout + result.stderr) == (0, "")


@source_only
def test_one_timer_per_replica(node, cluster):
    for replica in cluster.zfs_replicas:
        state = unit_state(node, f"syncoid@{replica}.timer")
        assert state.enabled and state.active, replica
    assert not unit_state(node, f"syncoid@{node.name}.timer").enabled


@source_only
def test_replicas_resolve(node, cluster):
    for replica in cluster.zfs_replicas:
        assert node.check_output("getent hosts %s", replica).split()[0] == cluster.host(replica).address


@source_only
def test_replication_key(node):
    key = node.file(node.data["zfs_replication_ssh_key"])
    public = node.file(f"{node.data['zfs_replication_ssh_key']}.pub")
    assert (key.user, key.mode) == ("root", 0o600)
    assert public.mode == 0o644 and public.content_string.startswith("ssh-ed25519 ")


@source_only
@pytest.mark.kernel(reason="replication needs pools on both ends")
@pytest.mark.e2e
def test_syncoid_run_succeeds(node, cluster):
    replica = cluster.zfs_replicas[-1]
    node.run("systemctl start %s", f"syncoid@{replica}.service")
    state = unit_state(node, f"syncoid@{replica}.service")
    assert state.result == "success"
    assert node.check_output("systemctl show -p ExecMainStatus --value %s", f"syncoid@{replica}.service") == "0"


@replicas_only
def test_replica_has_no_syncoid_units(node):
    assert not node.file(f"{UNIT_DIR}/syncoid@.timer").exists
    assert not node.file(f"{UNIT_DIR}/syncoid@.service").exists
    listed = node.check_output("systemctl list-units --all --plain --no-legend %s", "syncoid@*.timer")
    assert listed == ""


@replicas_only
@pytest.mark.kernel(reason="received datasets need the zfs kernel module")
def test_replica_dataset_default_mountpoint(node):
    dataset = node.data["zfs_replicated_dataset"]
    assert node.check_output("zfs get -H -o value,source mountpoint %s", dataset) == f"/{dataset}\tdefault"


@replicas_only
@pytest.mark.kernel(reason="snapshots need the zfs kernel module")
@pytest.mark.e2e
@pytest.mark.slow
def test_replica_snapshots_are_recent(node, cluster):
    dataset, source = node.data["zfs_replicated_dataset"], cluster.zfs_source
    rows = [line.split("\t") for line in node.check_output("zfs list -H -p -t snapshot -o name,creation -s creation").splitlines()]
    names = [name for name, _ in rows if name.startswith(f"{dataset}@")]
    assert any("@autosnap_" in name for name in names)
    sync = [(name, int(created)) for name, created in rows if name.startswith(f"{dataset}@syncoid_{node.name}_{source}_")]
    assert len(sync) == 1 and time.time() - sync[0][1] < 1800
