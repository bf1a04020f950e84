"""Inventories for testing the health framework without hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from goldentooth import PROJECT_ROOT
from goldentooth.inventory import load_inventory
from goldentooth.model import Cluster

LAB_INVENTORY = """\
import runpy
from pathlib import Path

from goldentooth.inventory import publish

_base = runpy.run_path({inventory!r})
_extra = {{node.name: {{"lab": True, "ssh_config_file": {ssh_config!r}}} for node in _base["_NODES"]}}
globals().update(publish(_base["_NODES"], _base["_GROUPS"], __file__, extra_host_data=_extra,
                         group_data_dir=Path({group_data!r})))
"""


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A secret file holding every required secret, selected through $GOLDENTOOTH_SECRETS."""
    path = tmp_path / "secrets.yaml"
    path.write_text("haproxy_stats_password: not-a-real-password\n", encoding="utf-8")
    path.chmod(0o600)
    monkeypatch.setenv("GOLDENTOOTH_SECRETS", str(path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return path


@pytest.fixture
def cluster(secrets: Path) -> Cluster:
    """The project's real inventory (13 hosts)."""
    return load_inventory(PROJECT_ROOT / "inventory.py")


@pytest.fixture
def lab_inventory(secrets: Path, tmp_path: Path) -> Path:
    """The real inventory with the lab overlay (`lab: True`, an ssh_config file) on every host."""
    path = tmp_path / "lab" / "inventory.py"
    path.parent.mkdir()
    ssh_config = tmp_path / "lab" / "ssh_config"
    ssh_config.write_text("# lab ssh_config\n", encoding="utf-8")
    path.write_text(
        LAB_INVENTORY.format(
            inventory=str(PROJECT_ROOT / "inventory.py"),
            ssh_config=str(ssh_config),
            group_data=str(PROJECT_ROOT / "group_data"),
        ),
        encoding="utf-8",
    )
    return path
