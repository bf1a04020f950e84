"""ZFS hosts (spec 80-zfs.md Checks 1-7, 99-verification.md ZFS-1..5).

Roles come from data (`zfs_replication_source`); expected file bytes from the deploy's renderers.
"""

from __future__ import annotations

import pytest

from goldentooth.health.checks import assert_content, file_content, package_status, unit_state
from goldentooth.storage_files import backports_sources, sanoid_conf, zfs_modprobe_conf
from goldentooth.zfs import role

pytestmark = pytest.mark.groups("zfs")
NO_MODULE = "lab containers have no zfs kernel module"


def require_zfs_userland(node) -> None:
    """Skip (with the reason) where the inventory's data installs no OpenZFS userland (the lab)."""
    if "zfsutils-linux" not in node.data["zfs_packages"]:
        pytest.skip("zfsutils-linux is not in this inventory's zfs_packages (the lab repository has no contrib)")


def test_packages_installed(node):
    for package in [*node.data["zfs_packages"], *node.data["zfs_tool_packages"]]:
        status = package_status(node, package)
        assert status is not None and status.installed, package
    assert node.file("/usr/sbin/syncoid").mode & 0o111


def test_backports_source_and_version(node):
    """Debian 12: ZFS 2.3.x from bookworm-backports (bookworm's own 2.1.11 cannot build for 6.6+)."""
    if node.inventory.expected_os != "debian 12":
        pytest.skip("bookworm-backports is only for Debian 12 hosts")
    data = node.data
    if not (data["zfs_packages"] and data["debian_backports_suite"]):
        assert not node.file(data["debian_backports_sources_file"]).exists
        return
    expected = backports_sources(
        data["debian_backports_apt_url"], data["debian_backports_suite"],
        data["debian_backports_components"], data["debian_backports_signed_by"],
    )
    assert_content(node, data["debian_backports_sources_file"], expected)
    if "zfs-dkms" in data["zfs_packages"]:
        version = node.check_output("dpkg-query -W -f=%s zfs-dkms", "${Version}")
        assert "~bpo12" in version


@pytest.mark.kernel(reason=NO_MODULE)
def test_module_loaded(node):
    assert node.file("/sys/module/zfs").is_directory
    assert node.check_output("cat /sys/module/zfs/version")


def test_arc_limit_file(node):
    assert_content(node, "/etc/modprobe.d/zfs.conf", zfs_modprobe_conf(node.data["zfs_arc_max_bytes"]))


@pytest.mark.kernel(reason=NO_MODULE)
def test_arc_limit_in_force(node):
    """The tunable as written and the effective `c_max` (an ignored tunable only shows in c_max)."""
    limit = node.data["zfs_arc_max_bytes"]
    assert int(node.check_output("cat /sys/module/zfs/parameters/zfs_arc_max")) == limit
    rows = (line.split() for line in node.file("/proc/spl/kstat/zfs/arcstats").content_string.splitlines())
    assert {row[0]: row[2] for row in rows if len(row) == 3}.get("c_max") == str(limit)


@pytest.mark.parametrize("unit", ["zfs-import-cache.service", "zfs-mount.service", "zfs-zed.service", "zfs.target"])
def test_zfs_units_enabled(node, unit):
    require_zfs_userland(node)
    assert unit_state(node, unit).enabled


def test_sanoid_timer_enabled(node):
    assert unit_state(node, "sanoid.timer").enabled


def test_sanoid_timer_active(node):
    assert unit_state(node, "sanoid.timer").active


@pytest.mark.kernel(reason=NO_MODULE)
def test_zed_active(node):
    assert unit_state(node, "zfs-zed.service").active


@pytest.mark.kernel(reason="pools need the zfs kernel module and a real disk")
def test_pool_online(node):
    pool = node.data["zfs_pool_name"]
    health = node.check_output("zpool list -H -o health %s", pool)
    assert health == "ONLINE"
    assert node.check_output("zpool get -H -p -o value ashift %s", pool) == str(node.data["zfs_pool_properties"]["ashift"])
    assert node.check_output("zfs get -H -o value compression %s", pool) == node.data["zfs_pool_fs_properties"]["compression"]


def test_sanoid_conf(node, cluster):
    data = node.data
    expected = sanoid_conf(role(cluster, node.name), data["zfs_replicated_dataset"], data["sanoid_retention"], data["zfs_replication_source"])
    assert_content(node, "/etc/sanoid/sanoid.conf", expected)
    stat = node.file("/etc/sanoid/sanoid.conf")
    assert (stat.user, stat.group, stat.mode) == ("root", "root", 0o644)
    assert file_content(node, "/etc/sanoid/sanoid.defaults.conf") is None


@pytest.mark.kernel(reason=NO_MODULE)
@pytest.mark.slow
@pytest.mark.parametrize("unit", ["sanoid.service", "sanoid-prune.service"])
def test_sanoid_runs_succeed(node, unit):
    assert unit_state(node, unit).result == "success"
