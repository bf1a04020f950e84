"""How goldentooth calls pyinfra for a run and for a plan."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from goldentooth import pyinfra_run

PLAN = {"plan": [{"name": "Node base | Write /etc/hostname", "hosts_with_change": ["bettley"]}]}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    seen: list[list[str]] = []

    def run(argv, **kwargs):
        seen.append(list(argv))
        return subprocess.CompletedProcess(argv, 0, stdout=json.dumps(PLAN), stderr="")

    monkeypatch.setattr(pyinfra_run.subprocess, "run", run)
    return seen


def test_a_plan_keeps_change_detection(calls):
    """`--dry -y` would skip change detection and report an empty plan."""
    report = pyinfra_run.run_json(Path("inventory.py"), Path("deploys/kubernetes.py"), "--dry")
    assert "--dry" in calls[0] and "-y" not in calls[0]
    assert report.changed == {"bettley": ["Node base | Write /etc/hostname"]}


def test_a_run_applies_without_asking(calls):
    pyinfra_run.run_json(Path("inventory.py"), Path("deploys/kubernetes.py"))
    assert "-y" in calls[0] and "--dry" not in calls[0]
