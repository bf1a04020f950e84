"""NFS server health (spec 70-nfs.md Checks 1-8, 99-verification.md NFS-1, NFS-3).

Runs on every `nfs_server` host that has exports in its data; expected bytes come from the same
renderer the deploy uses, fed with the host's data.
"""

from __future__ import annotations

import pytest

from goldentooth.health.checks import assert_content, package_status, unit_state
from goldentooth.storage_files import exports_file

pytestmark = pytest.mark.groups("nfs_server", where=lambda host: bool(host.get("nfs_exports")))


def exports(node) -> list[dict]:
    return list(node.data["nfs_exports"])


@pytest.mark.parametrize("package", ["nfs-kernel-server", "nfs-common"])
def test_packages_installed(node, package):
    status = package_status(node, package)
    assert status is not None and status.installed


def test_nfs_server_enabled(node):
    """The canonical unit, not the nfs-kernel-server alias (spec 99 §4 trap 19)."""
    assert unit_state(node, "nfs-server.service").enabled


@pytest.mark.kernel(reason="nfsd needs the kernel NFS server, which lab containers lack")
def test_nfs_server_active(node):
    assert unit_state(node, "nfs-server.service").active


def test_exports_file(node):
    assert_content(node, "/etc/exports", exports_file(exports(node)))
    exports_stat = node.file("/etc/exports")
    assert (exports_stat.user, exports_stat.group, exports_stat.mode) == ("root", "root", 0o644)


def test_exports_never_world(node):
    for export in exports(node):
        assert export["clients"] == node.data["host_network_cidr"]
        assert "mp" in export["options"]


def test_export_root_ownership(node):
    for export in exports(node):
        root = node.file(export["path"])
        assert (root.user, root.group, root.mode) == ("root", "root", 0o755), export["path"]


def test_export_path_is_a_mount_point(node):
    """The guard's view: something is mounted at each export path (the lab bind-mounts one)."""
    for export in exports(node):
        result = node.run("findmnt -n -o FSTYPE --mountpoint %s", export["path"])
        assert result.rc == 0 and result.stdout.strip() == export["fs_type"], export["path"]


@pytest.mark.kernel(reason="real disks with recorded UUIDs exist only on the cluster")
def test_fstab_line_by_uuid(node):
    for export in exports(node):
        if not export.get("fs_uuid"):
            continue
        lines = [line for line in node.file("/etc/fstab").content_string.splitlines()
                 if len(line.split()) > 1 and line.split()[1] == export["path"] and not line.startswith("#")]
        assert lines == [f"UUID={export['fs_uuid']} {export['path']} {export['fs_type']} defaults,nofail 0 2"]
        mounted = node.run("findmnt -n -o UUID --mountpoint %s", export["path"])
        assert mounted.stdout.strip() == export["fs_uuid"]


def parse_exportfs(text: str) -> dict[str, list[tuple[str, set[str]]]]:
    """`exportfs -v` → {path: [(client, options)]}; continuation lines start with whitespace."""
    entries: list[str] = []
    for line in text.splitlines():
        if line[:1].isspace() and entries:
            entries[-1] += " " + line.strip()
        elif line.strip():
            entries.append(line.strip())
    table: dict[str, list[tuple[str, set[str]]]] = {}
    for entry in entries:
        path, _, rest = entry.partition(" ")
        for client in rest.split():
            name, _, options = client.partition("(")
            table.setdefault(path, []).append((name, set(options.rstrip(")").split(","))))
    return table


@pytest.mark.kernel(reason="the kernel export table needs nfsd")
def test_kernel_export_table(node):
    table = parse_exportfs(node.check_output("exportfs -v"))
    for export in exports(node):
        clients = table.get(export["path"], [])
        assert [client for client, _ in clients] == [export["clients"]]
        assert {"rw", "sync", "no_root_squash", "no_subtree_check", "mountpoint"} <= clients[0][1]
    assert not [client for rows in table.values() for client, _ in rows if client in ("*", "<world>")]


@pytest.mark.kernel(reason="showmount needs a running NFS server")
def test_showmount_from_another_host(node, cluster, connect):
    other = next(name for name in cluster.hosts if name != node.name)
    output = connect(other).check_output("showmount -e %s", node.inventory.address)
    lines = output.splitlines()
    assert lines[0] == f"Export list for {node.inventory.address}:"
    listed = {line.split()[0]: line.split()[1:] for line in lines[1:] if line.strip()}
    for export in exports(node):
        assert listed.get(export["path"]) == [export["clients"]]
