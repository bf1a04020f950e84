"""NFS client automounts (spec 70-nfs.md Checks 11-20, 23; 99-verification.md NFS-4, NFS-5, NFS-8).

Every host runs these; the shares it mounts come from data (`nfs_mounts`, every share whose
server is another host), never from a hard-coded list.
"""

from __future__ import annotations

import pytest

from goldentooth.health.checks import assert_content, package_status, unit_state
from goldentooth.nfs import ClientShare, client_shares, own_shares
from goldentooth.storage_files import automount_unit, mount_unit

pytestmark = pytest.mark.groups("all")
UNIT_DIR = "/etc/systemd/system"


def shares(node, cluster) -> list[ClientShare]:
    mounted = client_shares(cluster, node.name)
    if not mounted:
        pytest.skip(f"{node.name} serves every share and mounts none")
    return mounted


def test_nfs_common_installed(node, cluster):
    shares(node, cluster)
    status = package_status(node, "nfs-common")
    assert status is not None and status.installed
    assert node.file("/sbin/mount.nfs").exists


def test_unit_names_are_systemd_escaped(node, cluster):
    for share in shares(node, cluster):
        for suffix, name in (("mount", share.mount_unit), ("automount", share.automount_unit)):
            assert node.check_output("systemd-escape -p --suffix=%s %s", suffix, share.where) == name


def test_unit_files(node, cluster):
    for share in shares(node, cluster):
        assert_content(node, f"{UNIT_DIR}/{share.mount_unit}", mount_unit(share.share, share.server_address))
        assert_content(node, f"{UNIT_DIR}/{share.automount_unit}", automount_unit(share.share))
        for unit in (share.mount_unit, share.automount_unit):
            stat = node.file(f"{UNIT_DIR}/{unit}")
            assert (stat.user, stat.group, stat.mode) == ("root", "root", 0o644), unit


def test_units_verify_clean(node, cluster):
    for share in shares(node, cluster):
        paths = [f"{UNIT_DIR}/{share.automount_unit}", f"{UNIT_DIR}/{share.mount_unit}"]
        result = node.run("systemd-analyze verify --man=no %s %s", *paths)
        assert (result.rc, result.stdout + result.stderr) == (0, "")


def test_automount_enabled_mount_static(node, cluster):
    for share in shares(node, cluster):
        assert unit_state(node, share.automount_unit).unit_file_state == "enabled"
        assert unit_state(node, share.mount_unit).unit_file_state == "static"


@pytest.mark.kernel(reason="autofs automounts cannot start in lab containers")
def test_automount_active(node, cluster):
    for share in shares(node, cluster):
        state = unit_state(node, share.automount_unit)
        assert state.active and state.sub_state in ("waiting", "running"), share.automount_unit


def test_no_pending_daemon_reload(node, cluster):
    for share in shares(node, cluster):
        for unit in (share.mount_unit, share.automount_unit):
            assert node.check_output("systemctl show -p NeedDaemonReload --value %s", unit) == "no", unit


def test_mount_point_directory(node, cluster):
    for share in shares(node, cluster):
        where = node.file(share.where)
        assert where.is_directory and (where.user, where.group, where.mode) == ("root", "root", 0o755)


def test_no_fstab_entry_for_shares(node, cluster):
    own_exports = {export["path"] for export in node.data.get("nfs_exports") or []}
    wheres = {share.where for share in shares(node, cluster)} - own_exports
    fields = [line.split() for line in node.file("/etc/fstab").content_string.splitlines()]
    assert not [f for f in fields if len(f) > 1 and not f[0].startswith("#") and f[1] in wheres]


def mountinfo_top(node, where: str) -> tuple[str, str]:
    """(fstype, source) of the last /proc/self/mountinfo entry for a path (top of the stack)."""
    top = None
    for line in node.file("/proc/self/mountinfo").content_string.splitlines():
        fields = line.split()
        if fields[4] == where:
            after = fields[fields.index("-") + 1:]
            top = (after[0], after[1])
    assert top is not None, f"nothing mounted at {where}"
    return top


@pytest.mark.kernel(reason="triggering an automount needs autofs and the NFS client in the kernel")
def test_access_mounts_the_share(node, cluster):
    for share in shares(node, cluster):
        node.run("ls %s", share.where)
        fstype, source = mountinfo_top(node, share.where)
        assert fstype in ("nfs", "nfs4") and source == f"{share.server_address}:{share.share['export']}"
        assert unit_state(node, share.mount_unit).active
        assert unit_state(node, share.automount_unit).sub_state == "running"


def test_no_client_units_for_own_exports(node, cluster):
    own = own_shares(cluster, node.name)
    if not own:
        pytest.skip(f"{node.name} serves no share")
    for share in own:
        for unit in (share.mount_unit, share.automount_unit):
            assert not node.file(f"{UNIT_DIR}/{unit}").exists, unit
        assert unit_state(node, share.automount_unit).load_state == "not-found"
