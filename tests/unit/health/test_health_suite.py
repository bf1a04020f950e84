"""The health suite's conftest end to end, without hosts: collection, selection, lab skips, report.

Each case runs pytest in a subprocess on a scratch suite next to a copy of tests/health/conftest.py.
The scratch tests only read inventory data (no command runs), so nothing connects anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from goldentooth import PROJECT_ROOT
from goldentooth.health.report import read_junit

SUITE = {
    "test_alpha.py": '''
import pytest

from conftest import CLUSTER

@pytest.mark.groups("k8s_control_plane", "k8s_cluster")
def test_each_cluster_node_once(node, cluster):
    assert node.inventory is cluster.host(node.name)
    assert node.name in cluster.groups["k8s_cluster"]

@pytest.mark.groups("gpu")
@pytest.mark.kernel
def test_gpu_kernel(node):
    assert node.data["hardware"] == "x86_64"

@pytest.mark.groups("all", where=lambda host: host.name != "allyrion")
@pytest.mark.e2e(lab=True)
def test_everyone_but_allyrion(node):
    assert node.name != "allyrion"

@pytest.mark.cluster
def test_without_node(cluster, connect):
    assert connect(cluster.init_node).name == "bettley"

def test_chosen_hosts(hosts, request):
    expected = request.config.getoption("groups")
    assert hosts == (["bettley", "velaryon"] if expected == "bettley,gpu" else list(request.config.stash[CLUSTER].hosts))
''',
    "test_beta.py": '''
import pytest

pytestmark = pytest.mark.groups("zfs")

def test_zfs(node):
    assert node.inventory.in_group("zfs")
''',
}


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    directory = tmp_path / "suite"
    directory.mkdir()
    (directory / "conftest.py").write_text((PROJECT_ROOT / "tests/health/conftest.py").read_text())
    for name, text in SUITE.items():
        (directory / name).write_text(text)
    return directory


def run_suite(suite: Path, inventory: Path, *args: str, extra: dict[str, str] | None = None):
    """(exit code, output, {test id: (host, outcome, message)}) of one pytest run on the scratch suite."""
    report = suite.parent / "junit.xml"
    report.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "pytest", str(suite), "-c", str(PROJECT_ROOT / "pyproject.toml")]
    argv += ["--rootdir", str(suite.parent), "-p", "no:cacheprovider", "--junitxml", str(report)]
    argv += ["--inventory", str(inventory), *args]
    env = dict(os.environ, **(extra or {}))
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    cases = {case.test_id: (case.host, case.outcome, case.message) for case in read_junit(report)} if report.exists() else {}
    return done.returncode, done.stdout + done.stderr, cases


def test_hosts_from_groups_markers(suite, secrets):
    rc, output, cases = run_suite(suite, PROJECT_ROOT / "inventory.py")
    assert rc == 0, output
    each = {test: host for test, (host, _, _) in cases.items() if "each_cluster_node_once" in test}
    assert sorted(each.values()) == sorted(
        ["bettley", "cargyll", "dalt", "erenford", "fenn", "gardener", "harlton", "inchfield", "jast",
         "karstark", "lipps", "velaryon"]
    )
    assert all(test == f"test_alpha.py::test_each_cluster_node_once[{host}]" for test, host in each.items())
    assert cases["test_alpha.py::test_gpu_kernel[velaryon]"] == ("velaryon", "passed", "")
    assert len([test for test in cases if "everyone_but_allyrion" in test]) == 12
    assert cases["test_alpha.py::test_without_node"][:2] == ("-", "passed")
    assert cases["test_alpha.py::test_chosen_hosts"][:2] == ("-", "passed")
    assert sorted(test for test in cases if test.startswith("test_beta")) == [
        "test_beta.py::test_zfs[allyrion]", "test_beta.py::test_zfs[erenford]", "test_beta.py::test_zfs[gardener]",
    ]


def test_lab_skips_marked_checks_with_the_reason(suite, lab_inventory):
    rc, output, cases = run_suite(suite, lab_inventory)
    assert rc == 0, output
    host, outcome, message = cases["test_alpha.py::test_gpu_kernel[velaryon]"]
    assert outcome == "skipped" and message.startswith("lab: @kernel: needs real kernel features")
    assert cases["test_alpha.py::test_without_node"][1] == "skipped"
    assert cases["test_alpha.py::test_everyone_but_allyrion[bettley]"][1] == "passed"  # e2e(lab=True)
    assert cases["test_beta.py::test_zfs[erenford]"][1] == "passed"


def test_groups_option_deselects_other_hosts(suite, secrets):
    rc, output, cases = run_suite(suite, PROJECT_ROOT / "inventory.py", "--groups", "bettley,gpu")
    assert rc == 0, output
    assert {host for host, _, _ in cases.values()} == {"bettley", "velaryon", "-"}
    assert cases["test_alpha.py::test_chosen_hosts"][1] == "passed"
    assert not [test for test in cases if test.startswith("test_beta")]  # no zfs host chosen: not run, not skipped
    assert "deselected" in output


def test_capability_option_collects_only_that_module(suite, secrets):
    rc, output, cases = run_suite(suite, PROJECT_ROOT / "inventory.py", "--capability", "beta")
    assert rc == 0, output
    assert sorted(cases) == [f"test_beta.py::test_zfs[{name}]" for name in ("allyrion", "erenford", "gardener")]
    rc, output, _ = run_suite(suite, PROJECT_ROOT / "inventory.py", "--capability", "gamma")
    assert rc == 4 and "unknown capability gamma; known: alpha, beta" in output


def test_parallel_workers_give_the_same_cases(suite, secrets):
    serial = run_suite(suite, PROJECT_ROOT / "inventory.py")[2]
    rc, output, parallel = run_suite(suite, PROJECT_ROOT / "inventory.py", "-n", "3")
    assert rc == 0, output
    assert parallel == serial


@pytest.mark.parametrize(
    "test, error",
    [
        ("def test_x(node):\n    pass\n", "uses `node` without @pytest.mark.groups"),
        ("import pytest\n@pytest.mark.groups('k8s_worker')\ndef test_x(node):\n    pass\n", "unknown group(s) k8s_worker"),
    ],
)
def test_bad_groups_markers_are_collection_errors(suite, secrets, test, error):
    (suite / "test_gamma.py").write_text(test)
    rc, output, _ = run_suite(suite, PROJECT_ROOT / "inventory.py")
    assert rc == 2 and error in output


def test_invalid_inventory_is_a_usage_error(suite, tmp_path):
    rc, output, cases = run_suite(
        suite, PROJECT_ROOT / "inventory.py", extra={"GOLDENTOOTH_SECRETS": str(tmp_path / "none.yaml")}
    )
    assert rc == 4 and "haproxy_stats_password: [secret-required]" in output and not cases
