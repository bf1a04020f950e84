"""Deploy simulation (spec 99 §1 L2): the storage deploys against pyinfra's fake connector.

Each host answers fact commands from scripted responses; the test asserts which commands the
deploy executes, e.g. that the mount-point guard keeps /etc/exports, exportfs and nfs-server
untouched (spec 70-nfs.md check 9) and that replicas never get `zfs create` (80-zfs.md check 22).
"""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path

from pyinfra.api import Config, Inventory, State
from pyinfra.api.connect import connect_all
from pyinfra.api.deploy import add_deploy
from pyinfra.api.operations import run_ops
from pyinfra.connectors.fake import FakeConnector

import goldentooth.inventory as goldentooth_inventory
from deploys.nfs import nfs_clients, nfs_server
from deploys.zfs import zfs_storage
from goldentooth import storage_files
from goldentooth.inventory import Node, build_cluster, load_group_data
from goldentooth.nfs import client_shares

REPO = Path(__file__).resolve().parents[2]
DEVICE = "/dev/disk/by-id/usb-Samsung_SSD_870_EVO_120GB_S5Y1NJ0R123456-0:0"
OPTIONS = ["rw", "sync", "no_root_squash", "no_subtree_check", "mp"]
NODES = [
    Node("allyrion", "10.4.0.10", "pi4b-8gb", data={
        "nfs_exports": [{"path": "/mnt/usb1", "clients": "10.4.0.0/20", "options": OPTIONS, "fs_type": "ext4"}],
        "zfs_pool_device": DEVICE,
    }),
    Node("bettley", "10.4.0.11", "pi4b-8gb"),
    Node("erenford", "10.4.0.14", "pi4b-8gb", data={"zfs_pool_device": DEVICE}),
    Node("velaryon", "10.4.0.30", "x86_64", data={
        "nfs_exports": [{"path": "/mnt/gpu-storage", "clients": "10.4.0.0/20", "options": OPTIONS, "fs_type": "ext4",
                         "fs_uuid": "5bc38d5b-a7a4-426e-acdb-e5caf0a809d9"}],
    }),
]
GROUPS = {"k8s_control_plane": ["bettley"], "k8s_workers": ["erenford", "velaryon"],
          "nfs_server": ["allyrion", "velaryon"], "zfs": ["allyrion", "erenford"]}
MOUNTED_USB = '{"filesystems": [{"target": "/mnt/usb1", "source": "/dev/sda1", "fstype": "ext4", "uuid": "0e4b7a0e"}]}'
DEBIAN = ["/etc/os-release", 'NAME="Debian GNU/Linux"', 'VERSION_ID="12"', "VERSION_CODENAME=bookworm", "ID=debian", "---"]


def stat_line(path: str, mode: str = "-rw-r--r--") -> str:
    return f"user=root group=root mode={mode} atime=1 mtime=1 ctime=1 size=1 '{path}'"


class RecordingConnector(FakeConnector):
    """The fake connector, also recording uploads (`PUT <path>`) next to commands."""

    def put_file(self, filename_or_io, remote_filename, *args, **kwargs):
        self.executed_commands.append(f"PUT {remote_filename}")
        return True


def simulate(monkeypatch, deploy, responses: dict[str, dict]) -> tuple[dict[str, list[str]], set[str]]:
    """Run one deploy on every host; return the commands per host and the failed host names."""
    group_data = load_group_data(REPO / "group_data")
    cluster = build_cluster(NODES, GROUPS, group_data, "simulation")
    monkeypatch.setattr(goldentooth_inventory, "_current", cluster)
    names = [
        (name, {**cluster.hosts[name].data, "fake_delay": 0, "fake_delay_jitter": 0, "fake_responses": responses.get(name, {})})
        for name in cluster.hosts
    ]
    inventory = Inventory((names, {}), **{group: (list(members), {}) for group, members in cluster.groups.items()})
    for host in inventory:
        host.connector_cls = RecordingConnector
    state = State(inventory, Config())
    connect_all(state)
    add_deploy(state, deploy)
    run_ops(state)
    commands = {host.name: host.connector.executed_commands for host in inventory}
    return commands, {host.name for host in state.failed_hosts}


def changes(commands: list[str]) -> list[str]:
    """Executed changes only: fact probes (stat, show, dpkg -l, ...) left out."""
    probes = ("if command -v", "! (test -e", "if [ ", "cd /etc/ &&", "( test -e", "if [ -n \"$TMPDIR\"", "grep -e ", "test -e ",
              "for path in ")
    return [command for command in commands if not command.startswith(probes)]


def test_guard_refuses_an_unmounted_export(monkeypatch):
    refused = {"refusing to export": {"success": False, "stderr": "refusing"}}
    commands, failed = simulate(monkeypatch, nfs_server, {"allyrion": refused})
    allyrion = changes(commands["allyrion"])
    assert "allyrion" in failed
    assert any("refusing to export /mnt/usb1: not the expected mounted filesystem" in c for c in allyrion)
    assert not [c for c in allyrion if "/etc/exports" in c or "exportfs" in c or "nfs-server" in c]


def test_server_exports_a_mounted_filesystem(monkeypatch):
    running = {"--mountpoint /mnt/usb1": MOUNTED_USB, "SubState nfs-server.service": ["Id=nfs-server.service", "SubState=exited"]}
    commands, failed = simulate(monkeypatch, nfs_server, {"allyrion": running})
    allyrion = changes(commands["allyrion"])
    assert failed.isdisjoint({"allyrion"})
    assert "PUT /etc/exports" in allyrion
    assert "exportfs -ra" in allyrion
    assert "systemctl enable nfs-server.service" in allyrion
    assert not [c for c in allyrion if "nfs-kernel-server.service" in c or "systemctl restart" in c or "reload" in c]


def test_server_mounts_by_uuid_and_verifies(monkeypatch):
    commands, _ = simulate(monkeypatch, nfs_server, {})
    velaryon = changes(commands["velaryon"])
    assert "mount /mnt/gpu-storage" in velaryon
    assert any(c.startswith("findmnt -n --mountpoint /mnt/gpu-storage -t ext4 -S UUID=5bc38d5b") for c in velaryon)
    assert any("UUID=5bc38d5b-a7a4-426e-acdb-e5caf0a809d9 /mnt/gpu-storage ext4 defaults,nofail 0 2" in c for c in velaryon)


def test_wrong_filesystem_is_refused_untouched(monkeypatch):
    other = '{"filesystems": [{"target": "/mnt/gpu-storage", "source": "/dev/sdb1", "fstype": "ext4", "uuid": "0e4b7a0e"}]}'
    responses = {"velaryon": {"--mountpoint /mnt/gpu-storage": other, "refusing to export": {"success": False}}}
    commands, failed = simulate(monkeypatch, nfs_server, responses)
    velaryon = changes(commands["velaryon"])
    assert "velaryon" in failed
    assert any("expected 5bc38d5b-a7a4-426e-acdb-e5caf0a809d9" in c for c in velaryon)
    assert not [c for c in velaryon if c.startswith(("mount ", "chmod", "chown", "PUT /etc/exports", "systemctl"))]


def test_clients_enable_and_start_only_the_automount(monkeypatch):
    commands, _ = simulate(monkeypatch, nfs_clients, {})
    bettley = changes(commands["bettley"])
    for unit in ("mnt-nfs", "'mnt-gpu\\x2dstorage"):
        assert f"systemctl start {unit}.automount" + ("'" if unit.startswith("'") else "") in bettley
        assert f"systemctl enable {unit}.automount" + ("'" if unit.startswith("'") else "") in bettley
    assert not [c for c in bettley if re.search(r"systemctl (start|enable) \S*\.mount", c)]
    assert bettley.count("systemctl daemon-reload") == 2
    assert "PUT /etc/systemd/system/mnt-gpu\\x2dstorage.mount" in bettley


def test_a_server_never_mounts_its_own_export(monkeypatch):
    commands, _ = simulate(monkeypatch, nfs_clients, {})
    assert not [c for c in commands["allyrion"] if "PUT /etc/systemd/system/mnt-nfs." in c]
    assert not [c for c in commands["velaryon"] if "PUT /etc/systemd/system/mnt-gpu" in c]
    assert "PUT /etc/systemd/system/mnt-nfs.automount" in commands["velaryon"]


def test_stale_units_of_an_own_share_are_removed(monkeypatch):
    mount = "/etc/systemd/system/mnt-gpu\\x2dstorage.mount"
    stale = {
        f"stat -c 'user=%U group=%G mode=%A atime=%X mtime=%Y ctime=%Z size=%s %N' '{mount}'": stat_line(mount),
        "SubState 'mnt-gpu\\x2dstorage.automount'": ["Id=mnt-gpu\\x2dstorage.automount", "SubState=waiting"],
        "UnitFileState 'mnt-gpu\\x2dstorage.automount'": ["Id=mnt-gpu\\x2dstorage.automount", "UnitFileState=enabled"],
    }
    commands, _ = simulate(monkeypatch, nfs_clients, {"velaryon": stale})
    velaryon = changes(commands["velaryon"])
    stop, disable = "systemctl stop 'mnt-gpu\\x2dstorage.automount'", "systemctl disable 'mnt-gpu\\x2dstorage.automount'"
    remove = f"rm -f '{mount}'"
    assert stop in velaryon and disable in velaryon and remove in velaryon
    last_reload = len(velaryon) - 1 - velaryon[::-1].index("systemctl daemon-reload")
    assert velaryon.index(stop) < velaryon.index(remove) < last_reload
    # The local ext4 filesystem at the export path shares the .mount name: it is never stopped.
    assert "systemctl stop 'mnt-gpu\\x2dstorage.mount'" not in velaryon


def test_container_skips_only_kernel_steps(monkeypatch):
    container = {"systemd-detect-virt": ["container=systemd-nspawn"], "--mountpoint /mnt/usb1": MOUNTED_USB}
    commands, _ = simulate(monkeypatch, nfs_clients, {"bettley": container})
    bettley = changes(commands["bettley"])
    assert "systemctl enable mnt-nfs.automount" in bettley
    assert "systemctl start mnt-nfs.automount" not in bettley
    commands, _ = simulate(monkeypatch, nfs_server, {"allyrion": container})
    allyrion = changes(commands["allyrion"])
    assert "PUT /etc/exports" in allyrion and "systemctl enable nfs-server.service" in allyrion
    assert "exportfs -ra" not in allyrion and "systemctl start nfs-server.service" not in allyrion


ZFS_BLANK = {
    "-release": DEBIAN,
    "/sys/module/zfs/version": ["2.3.2-1~bpo12+1", "0"],
    "lsblk -n -P": ['PATH="/dev/sda" TYPE="disk" FSTYPE="" PTTYPE="" LABEL=""'],
    "zfs list -H -p -t filesystem": ["rpool\tfilesystem\t/rpool\tyes\t559104\t115964116992"],
}


def test_zfs_source_and_replica(monkeypatch):
    commands, failed = simulate(monkeypatch, zfs_storage, {"allyrion": ZFS_BLANK, "erenford": ZFS_BLANK})
    allyrion, erenford = changes(commands["allyrion"]), changes(commands["erenford"])
    assert not failed
    create = f"zpool create -o ashift=12 -O compression=lz4 -O atime=off rpool {DEVICE}"
    assert create in allyrion and create in erenford
    assert "zfs create -o mountpoint=/data rpool/data" in allyrion
    assert not [c for c in erenford if c.startswith("zfs create")]
    assert "echo 1073741824 > /sys/module/zfs/parameters/zfs_arc_max" in allyrion
    assert any("install" in c and "-t bookworm-backports" in c and "zfs-dkms" in c for c in allyrion)
    assert "PUT /etc/apt/sources.list.d/debian-backports.sources" in allyrion
    assert "PUT /etc/systemd/system/syncoid@.timer" in allyrion
    assert "systemctl enable syncoid@erenford.timer" in allyrion
    assert not [c for c in erenford if "PUT /etc/systemd/system/syncoid" in c or "syncoid@" in c and "enable" in c]
    assert "PUT /etc/sanoid/sanoid.conf" in allyrion and "systemctl enable sanoid.timer" in erenford


def test_replication_login_left_to_ssh_certificates(monkeypatch):
    """The certificate capability owns the replication login: the ZFS deploy writes no key or SSH lines."""
    commands, failed = simulate(monkeypatch, zfs_storage, {"allyrion": ZFS_BLANK, "erenford": ZFS_BLANK})
    assert not failed
    for name in ("allyrion", "erenford"):
        assert not [c for c in changes(commands[name]) if "ssh-keygen" in c or "authorized_keys" in c or "known_hosts" in c]
    assert "systemctl enable syncoid@erenford.timer" in changes(commands["allyrion"])


def test_zfs_refuses_a_disk_in_use_on_that_host_only(monkeypatch):
    in_use = {
        **ZFS_BLANK,
        "lsblk -n -P": ['PATH="/dev/sda" TYPE="disk" FSTYPE="" PTTYPE="gpt" LABEL=""',
                        'PATH="/dev/sda1" TYPE="part" FSTYPE="ext4" PTTYPE="gpt" LABEL=""'],
        "device holds data": {"success": False},
    }
    commands, failed = simulate(monkeypatch, zfs_storage, {"allyrion": in_use, "erenford": ZFS_BLANK})
    allyrion = changes(commands["allyrion"])
    assert failed == {"allyrion"}
    assert any(c.startswith("echo 'device holds data; set zfs_pool_force in host data to overwrite") for c in allyrion)
    assert not [c for c in allyrion if c.startswith(("zpool create", "zfs create", "PUT /etc/sanoid"))]
    assert any(c.startswith("zpool create") for c in changes(commands["erenford"]))


# Converged twin (spec 99 §5.5): every fact already shows the deployed state, so no command runs.


def _file(path: str, content: str | None = None, mode: str = "-rw-r--r--") -> dict:
    """Fake responses for a managed path: its stat line and, for files, the FileStates line of `content`."""
    quoted = shlex.quote(path)
    responses: dict = {re.compile(rf"stat -c .* {re.escape(quoted)} 2> /dev/null"): stat_line(path, mode)}
    if content is not None:
        responses |= _file_state(path, hashlib.sha256(content.encode()).hexdigest(), mode)
    return responses


def _file_state(path: str, digest: str, mode: str = "-rw-r--r--") -> dict:
    """The answer of facts.files.FileStates for one managed file: digest, owner, group, octal mode, path."""
    octal = sum(1 << (8 - index) for index, flag in enumerate(mode[1:]) if flag != "-")
    return {re.compile(rf"for path in {re.escape(shlex.quote(path))} ;"): f"{digest} root root {octal:o} {path}"}


def _unit(unit: str, sub_state: str = "running") -> dict:
    quoted = shlex.quote(unit)
    return {
        f"SubState {quoted}": [f"Id={unit}", f"SubState={sub_state}"],
        f"UnitFileState {quoted}": [f"Id={unit}", "UnitFileState=enabled"],
    }


def _dpkg(*packages: str) -> dict:
    return {"dpkg -l": [f"ii  {name}  1.0-1  amd64  package" for name in packages]}


def _client(cluster, name: str) -> dict:
    responses: dict = {}
    for share in client_shares(cluster, name):
        responses |= _file(share.where, mode="drwxr-xr-x")
        responses |= _file(f"/etc/systemd/system/{share.mount_unit}", storage_files.mount_unit(share.share, share.server_address))
        responses |= _file(f"/etc/systemd/system/{share.automount_unit}", storage_files.automount_unit(share.share))
        responses |= _unit(share.automount_unit, "waiting")
    return responses


def _server(data: dict, findmnt: str) -> dict:
    export = data["nfs_exports"][0]
    responses = {f"--mountpoint {export['path']}": findmnt, **_file(export["path"], mode="drwxr-xr-x"), **_file("/etc", mode="drwxr-xr-x")}
    responses |= _file("/etc/exports", storage_files.exports_file(data["nfs_exports"])) | _unit("nfs-server.service", "exited")
    if export.get("fs_uuid"):
        responses["/etc/fstab"] = f"UUID={export['fs_uuid']} {export['path']} ext4 defaults,nofail 0 2"
    return responses


def _zfs(data: dict, role_name: str) -> dict:
    dataset = data["zfs_replicated_dataset"]
    responses = {
        "-release": DEBIAN,
        "/sys/module/zfs/version": ["2.3.2-1~bpo12+1", str(data["zfs_arc_max_bytes"])],
        "zpool list -H": ["rpool\t118111600640\t577536\t118111023104\tONLINE"],
        "zfs get -H": [f"{dataset}\tmountpoint\t/data\tlocal"],
        "zfs list -H -p -t filesystem": ["rpool\tfilesystem\t/rpool\tyes\t559104\t115964116992"]
        + ([f"{dataset}\tfilesystem\t/data\tyes\t54272\t115964116992"] if role_name == "source" else []),
    }
    backports = storage_files.backports_sources(
        data["debian_backports_apt_url"], data["debian_backports_suite"],
        data["debian_backports_components"], data["debian_backports_signed_by"],
    )
    responses |= _file(data["debian_backports_sources_file"], backports)
    responses |= _file("/etc/modprobe.d/zfs.conf", storage_files.zfs_modprobe_conf(data["zfs_arc_max_bytes"]))
    responses |= _file("/etc/sanoid", mode="drwxr-xr-x")
    responses |= _file("/etc/sanoid/sanoid.conf", storage_files.sanoid_conf(role_name, dataset, data["sanoid_retention"], "allyrion"))
    responses |= _unit("sanoid.timer", "waiting")
    if role_name == "source":
        responses |= {
            "UnitFileState 'syncoid@*.timer'": ["Id=syncoid@erenford.timer", "UnitFileState=enabled"],
        }
        responses |= _unit("syncoid@erenford.timer", "waiting")
        responses |= _file("/etc/systemd/system/syncoid@.service", storage_files.syncoid_service(dataset, data["zfs_replication_ssh_key"]))
        responses |= _file("/etc/systemd/system/syncoid@.timer", storage_files.syncoid_timer(dataset))
    return responses


def converged_responses() -> dict[str, dict]:
    group_data = load_group_data(REPO / "group_data")
    cluster = build_cluster(NODES, GROUPS, group_data, "simulation")
    data = {name: dict(cluster.hosts[name].data) for name in cluster.hosts}
    gpu_mounted = '{"filesystems": [{"target": "/mnt/gpu-storage", "source": "/dev/nvme1n1p1", "fstype": "ext4", "uuid": "5bc38d5b-a7a4-426e-acdb-e5caf0a809d9"}]}'
    packages = _dpkg("nfs-common", "nfs-kernel-server", "zfs-dkms", "zfsutils-linux", "zfs-zed", "linux-headers-rpi-v8",
                     "sanoid", "lzop", "mbuffer", "pv")
    return {
        "allyrion": packages | _client(cluster, "allyrion") | _server(data["allyrion"], MOUNTED_USB) | _zfs(data["allyrion"], "source"),
        "bettley": packages | _client(cluster, "bettley"),
        "erenford": packages | _client(cluster, "erenford") | _zfs(data["erenford"], "replica"),
        "velaryon": packages | _client(cluster, "velaryon") | _server(data["velaryon"], gpu_mounted),
    }


def run_all(monkeypatch, responses) -> dict[str, list[str]]:
    ran: dict[str, list[str]] = {}
    for deploy in (nfs_clients, nfs_server, zfs_storage):
        commands, failed = simulate(monkeypatch, deploy, responses)
        assert not failed
        for name, executed in commands.items():
            ran.setdefault(name, []).extend(changes(executed))
    return ran


def test_converged_hosts_run_no_command(monkeypatch):
    assert run_all(monkeypatch, converged_responses()) == {"allyrion": [], "bettley": [], "erenford": [], "velaryon": []}


def test_one_drift_gives_exactly_its_repair(monkeypatch):
    """The twin is not vacuous: a hand-edited /etc/exports is rewritten and re-exported, nothing else."""
    responses = converged_responses()
    # re.compile caches patterns: this key is the converged one, so `|` replaces its answer in place.
    responses["allyrion"] = responses["allyrion"] | _file_state("/etc/exports", "0" * 64)
    ran = run_all(monkeypatch, responses)
    assert ran["allyrion"] == ["PUT /etc/exports", "chown root:root /etc/exports", "chmod 644 /etc/exports", "exportfs -ra"]
    assert ran["bettley"] == ran["erenford"] == ran["velaryon"] == []
