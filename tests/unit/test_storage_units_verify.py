"""`systemd-analyze verify --man=no` on every unit the storage deploys write (spec 99 §4 trap 5).

The units are rendered into a scratch root that holds this machine's systemd units; the
`syncoid` binary their ExecStart names is a placeholder script there, because verify checks
that the command exists. Skipped where systemd-analyze is not installed.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from goldentooth import storage_files
from goldentooth.systemd_escape import unit_name

SYSTEM_UNITS = Path("/lib/systemd/system")
pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or not SYSTEM_UNITS.is_dir(),
    reason="systemd-analyze and /lib/systemd/system are needed to verify units",
)

SHARES = [
    {"name": "primary", "export": "/mnt/usb1", "where": "/mnt/nfs", "options": ["rw", "hard"], "idle_timeout_sec": 300},
    {"name": "gpu_storage", "export": "/mnt/gpu-storage", "where": "/mnt/gpu-storage", "options": ["rw", "hard"], "idle_timeout_sec": 300},
]


@pytest.fixture
def root(tmp_path):
    shutil.copytree(SYSTEM_UNITS, tmp_path / "usr/lib/systemd/system", symlinks=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    syncoid = tmp_path / "usr/sbin/syncoid"
    syncoid.parent.mkdir(parents=True)
    syncoid.write_text("#!/bin/sh\n# placeholder: verify only checks that ExecStart's binary exists\n")
    syncoid.chmod(0o755)
    return tmp_path


def verify(root: Path, files: dict[str, str], *units: str) -> subprocess.CompletedProcess:
    for name, content in files.items():
        (root / "etc/systemd/system" / name).write_text(content)
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", *units],
        capture_output=True, text=True, check=False,
    )


@pytest.mark.parametrize("share", SHARES, ids=lambda share: share["name"])
def test_nfs_units_verify_clean(root, share):
    mount, automount = unit_name(share["where"], "mount"), unit_name(share["where"], "automount")
    files = {mount: storage_files.mount_unit(share, "10.4.0.10"), automount: storage_files.automount_unit(share)}
    result = verify(root, files, mount, automount)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_syncoid_units_verify_clean(root):
    files = {
        "syncoid@.service": storage_files.syncoid_service("rpool/data", "/root/.ssh/id_ed25519_zfs_replication"),
        "syncoid@.timer": storage_files.syncoid_timer("rpool/data"),
    }
    # zfs-import.target ships with zfsutils-linux; give the scratch root one when this machine has none.
    target = root / "usr/lib/systemd/system/zfs-import.target"
    if not target.exists():
        target.write_text("[Unit]\nDescription=ZFS pool import target (placeholder for verification)\n")
    result = verify(root, files, "syncoid@erenford.service", "syncoid@erenford.timer")
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_verify_detects_a_misnamed_mount_unit(root):
    """The harness is not vacuous: systemd refuses a .mount whose name does not match Where=."""
    share = SHARES[1]
    result = verify(root, {"mnt-gpux2dstorage.mount": storage_files.mount_unit(share, "10.4.0.30")}, "mnt-gpux2dstorage.mount")
    assert result.returncode != 0
    assert "Where= setting doesn't match unit name" in result.stdout + result.stderr
