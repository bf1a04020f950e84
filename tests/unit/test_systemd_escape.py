"""systemd path escaping against the documented examples (spec 70-nfs.md §4.2, systemd.unit(5))."""

import shutil
import subprocess

import pytest

from goldentooth.systemd_escape import PathNotNormalized, escape_path, unit_name

EXAMPLES = [
    ("/mnt/nfs", "mnt-nfs"),
    ("/mnt/gpu-storage", "mnt-gpu\\x2dstorage"),
    ("/mnt/usb1", "mnt-usb1"),
    ("/data", "data"),
    ("/mnt/my share", "mnt-my\\x20share"),
    ("/mnt/a_b:c.d", "mnt-a_b:c.d"),
    ("/.hidden", "\\x2ehidden"),
    ("/mnt/.snap", "mnt-.snap"),
    ("//mnt//nfs/", "mnt-nfs"),
    ("/mnt/./nfs", "mnt-nfs"),
    ("/mnt/ü", "mnt-\\xc3\\xbc"),
    ("/", "-"),
    # systemd.unit(5): "/foo//bar/baz/" becomes "foo-bar-baz"; a backslash is escaped too.
    ("/foo//bar/baz/", "foo-bar-baz"),
    ("/mnt/back\\slash", "mnt-back\\x5cslash"),
]


@pytest.mark.parametrize(("path", "expected"), EXAMPLES)
def test_escape_path(path, expected):
    assert escape_path(path) == expected


def test_gpu_storage_name_length():
    # The backslash is part of the file name: 18 characters before the suffix.
    assert len(escape_path("/mnt/gpu-storage")) == 18


def test_unit_name():
    assert unit_name("/mnt/gpu-storage", "automount") == "mnt-gpu\\x2dstorage.automount"
    assert unit_name("/mnt/nfs", "mount") == "mnt-nfs.mount"


@pytest.mark.parametrize("path", ["mnt/nfs", "", "/mnt/../etc", "/.."])
def test_refuses_unnormalised(path):
    with pytest.raises(PathNotNormalized):
        escape_path(path)


@pytest.mark.skipif(shutil.which("systemd-escape") is None, reason="systemd-escape is not installed on this machine")
@pytest.mark.parametrize(("path", "expected"), EXAMPLES)
def test_matches_systemd_escape(path, expected):
    result = subprocess.run(["systemd-escape", "--path", path], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == expected
