"""Golden tests of the rendered storage files (exact bytes from spec 70-nfs.md and 80-zfs.md)."""

from pathlib import Path

import pytest

from goldentooth import storage_files
from goldentooth.nfs import client_shares

GOLDEN = Path(__file__).parent / "golden" / "storage"


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("server", ["allyrion", "velaryon"])
def test_exports(cluster, server):
    exports = cluster.host(server).get("nfs_exports")
    assert storage_files.exports_file(exports) == golden(f"exports.{server}")


@pytest.mark.parametrize("where", ["/mnt/nfs", "/mnt/gpu-storage"])
def test_mount_units(cluster, where):
    share = next(share for share in client_shares(cluster, "bettley") if share.where == where)
    assert storage_files.mount_unit(share.share, share.server_address) == golden(share.mount_unit)
    assert storage_files.automount_unit(share.share) == golden(share.automount_unit)


def test_options_never_empty():
    share = {"name": "x", "export": "/e", "where": "/mnt/x", "options": ["ro"], "idle_timeout_sec": 60}
    rendered = storage_files.mount_unit(share, "10.4.0.10")
    assert "Options=ro\n" in rendered
    assert "TimeoutIdleSec=60\n" in storage_files.automount_unit(share)


def test_modprobe_conf(cluster):
    assert storage_files.zfs_modprobe_conf(cluster.host("allyrion").get("zfs_arc_max_bytes")) == golden("zfs.conf")


@pytest.mark.parametrize(("role", "host"), [("source", "allyrion"), ("replica", "erenford")])
def test_sanoid_conf(cluster, role, host):
    data = cluster.host(host).data
    rendered = storage_files.sanoid_conf(role, data["zfs_replicated_dataset"], data["sanoid_retention"], data["zfs_replication_source"])
    assert rendered == golden(f"sanoid.conf.{role}")


def test_sanoid_conf_refuses_unknown_role():
    with pytest.raises(ValueError):
        storage_files.sanoid_conf("primary", "rpool/data", {}, "allyrion")


def test_syncoid_units(cluster):
    data = cluster.host("allyrion").data
    assert storage_files.syncoid_service(data["zfs_replicated_dataset"], data["zfs_replication_ssh_key"]) == golden("syncoid@.service")
    assert storage_files.syncoid_timer(data["zfs_replicated_dataset"]) == golden("syncoid@.timer")


def test_backports_sources(cluster):
    data = cluster.host("allyrion").data
    rendered = storage_files.backports_sources(
        data["debian_backports_apt_url"], data["debian_backports_suite"],
        data["debian_backports_components"], data["debian_backports_signed_by"],
    )
    assert rendered == golden("debian-backports.sources")
