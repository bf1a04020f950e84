"""`goldentooth test`: command line, exit codes, and runs that touch no host."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from goldentooth import PROJECT_ROOT
from goldentooth.cli.health import HEALTH_DIR, default_workers, exit_code, pytest_argv


def goldentooth(*args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-c", "from goldentooth.cli import main; main()", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ), check=False)


def test_pytest_argv(tmp_path: Path):
    argv = pytest_argv(
        Path("inventory.py"), tmp_path / "j.xml", "k8s_cluster", ("base", "gpu"), "hostname", "not slow", 4, ("-x",)
    )
    assert argv[:4] == [sys.executable, "-m", "pytest", str(HEALTH_DIR)]
    assert argv[4:] == [
        "--inventory", str(Path("inventory.py").resolve()), "-q", "--tb=short", "-p", "no:cacheprovider",
        "--junitxml", str(tmp_path / "j.xml"), "-n", "4", "--dist", "load", "--groups", "k8s_cluster",
        "--capability", "base", "--capability", "gpu", "-k", "hostname", "-m", "not slow", "-x",
    ]
    serial = pytest_argv(Path("inventory.py"), tmp_path / "j.xml")
    assert serial[serial.index("-n") : serial.index("-n") + 3] == ["-n", "0"]
    assert "--dist" not in serial


@pytest.mark.parametrize("pytest_rc, expected", [(0, 0), (1, 1), (2, 1), (3, 1), (4, 2), (5, 1)])
def test_exit_codes(pytest_rc, expected):
    assert exit_code(pytest_rc) == expected


def test_default_workers():
    assert [default_workers(hosts, cpus=2) for hosts in (0, 1, 2, 13)] == [0, 0, 2, 4]
    assert default_workers(13, cpus=16) == 13


def test_unknown_capability_is_a_usage_error(secrets):
    done = goldentooth("test", "--capability", "base,nothing")
    assert done.returncode == 2 and "unknown capability nothing; known: base" in done.stderr


def test_unknown_group_is_a_usage_error(secrets):
    done = goldentooth("test", "--groups", "k8s_worker")
    assert done.returncode == 2 and "'k8s_worker' is neither a host nor a group" in done.stderr


def test_invalid_inventory_stops_before_pytest(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "from goldentooth.cli import main; main()", "test"],
        capture_output=True, text=True, check=False,
        env=dict(os.environ, GOLDENTOOTH_SECRETS=str(tmp_path / "absent.yaml")),
    )
    assert done.returncode == 2 and "[secret-required]" in done.stderr and "passed" not in done.stdout


def test_a_run_that_checks_nothing_fails(secrets):
    """Every case deselected by -k: pytest exits 5 before connecting; goldentooth reports failure."""
    done = goldentooth("-i", str(PROJECT_ROOT / "inventory.py"), "test", "-n", "0", "-k", "no_such_check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no check selected" in done.stderr
    assert "0 passed, 0 failed, 0 error, 0 skipped on 0 host(s)" in done.stdout
