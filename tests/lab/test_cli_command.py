"""`goldentooth command` runs shell commands over SSH on hosts and groups, pipes and redirects included."""

from __future__ import annotations

import re

from tests.lab.conftest import LabRun


def test_command_on_hosts_and_groups_with_pipes_and_redirects(lab: LabRun) -> None:
    result = lab.goldentooth(
        "-i", str(lab.inventory), "command", "allyrion,k8s_control_plane",
        "hostname | tr a-z A-Z > /tmp/goldentooth-command && cat /tmp/goldentooth-command",
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for name in ("allyrion", "bettley", "cargyll"):
        assert re.search(rf"\[{name}\]\s+{name.upper()}$", output, re.MULTILINE), output


def test_command_failure_is_reported(lab: LabRun) -> None:
    result = lab.goldentooth("-i", str(lab.inventory), "command", "bettley", "echo broken >&2; exit 3")
    assert result.returncode != 0
    assert "broken" in result.stdout + result.stderr
