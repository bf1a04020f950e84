"""`goldentooth test` against the lab over real SSH: every base check runs once per node, and
checks the lab's containers cannot answer are reported as skipped with their reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from goldentooth import PROJECT_ROOT
from goldentooth.health.report import read_junit

from .conftest import NODES, LabRun


def test_health_suite_runs_on_every_lab_node(lab: LabRun, tmp_path: Path) -> None:
    report = tmp_path / "health.xml"
    command = [str(Path(sys.executable).with_name("goldentooth")), "-i", str(lab.inventory), "test",
               "--capability", "base", "--junitxml", str(report)]
    done = subprocess.run(command, env=lab.env, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    cases = read_junit(report)
    per_host = {name: {case.test_id.split("[")[0]: case for case in cases if case.host == name} for name in NODES}
    checks = set(per_host[NODES[0]])
    assert {"test_base.py::test_hostname", "test_base.py::test_architecture", "test_base.py::test_no_swap"} <= checks
    for name in NODES:
        assert set(per_host[name]) == checks, name
        assert per_host[name]["test_base.py::test_hostname"].outcome == "passed"
        skipped = per_host[name]["test_base.py::test_no_swap"]
        assert skipped.outcome == "skipped" and skipped.message.startswith("lab: @kernel: ")
    assert [case.outcome for case in cases if case.test_id == "test_base.py::test_clocks_agree"] == ["passed"]
    assert f"on {len(NODES)} host(s)" in done.stdout.splitlines()[-1]
