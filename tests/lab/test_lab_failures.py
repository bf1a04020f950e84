"""`lab up` refuses bad input before it starts anything, and removes what it started when it fails."""

from __future__ import annotations

import pytest

from goldentooth import PROJECT_ROOT
from goldentooth.lab import lifecycle, node
from goldentooth.lab.errors import LabError
from goldentooth.lab.state import Lab

from . import leftovers
from .conftest import lab_directory, make_lab


def test_unknown_host_is_refused_before_anything_starts() -> None:
    with lab_directory("u") as (directory, name):
        run = make_lab(directory, name)
        result = run.goldentooth("lab", "up", "--hosts", "bettley,nosuch", "--no-repo")
        assert result.returncode == 1
        assert "'nosuch' is not a host of" in result.stderr
        assert leftovers.everything(name, directory) == []
        assert not (directory / "state.json").exists()


def test_failed_boot_removes_everything_up_started(monkeypatch: pytest.MonkeyPatch) -> None:
    booted = node.wait_ready

    def cargyll_never_boots(record, log_path, deadline):
        if record.name == "cargyll":
            raise LabError("cargyll did not boot (injected)")
        return booted(record, log_path, deadline)

    monkeypatch.setattr(node, "wait_ready", cargyll_never_boots)
    with lab_directory("f") as (directory, name):
        monkeypatch.setenv("GOLDENTOOTH_LAB_NAME", name)
        messages: list[str] = []
        with pytest.raises(LabError, match="injected"):
            lifecycle.up(Lab(directory), PROJECT_ROOT / "inventory.py", messages.append,
                         hosts="bettley,cargyll", no_repo=True)
        assert "lab up failed: removing everything it started" in messages
        assert leftovers.everything(name, directory) == []
        assert not (directory / "state.json").exists()
