"""Shared fixtures for tests that need no hosts: a secret file, the default inventory and its variants."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from goldentooth import PROJECT_ROOT
from goldentooth.inventory import load_inventory
from goldentooth.model import Cluster
from goldentooth.secrets import write_secrets

INVENTORY_TEMPLATE = '''\
import runpy
from dataclasses import replace
from goldentooth.inventory import Node, publish

_base = runpy.run_path({base!r})
_NODES = list(_base["_NODES"])
_GROUPS = {{name: list(members) for name, members in _base["_GROUPS"].items()}}
{patch}
globals().update(publish(_NODES, _GROUPS, __file__))
'''


@pytest.fixture(autouse=True)
def secrets(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own operator secret file (never the user's real one)."""
    path = tmp_path_factory.mktemp("secrets") / "secrets.yaml"
    write_secrets(path, {"haproxy_stats_password": "test-only-password"})
    monkeypatch.setenv("GOLDENTOOTH_SECRETS", str(path))
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The repository's inventory, loaded once per module; the golden files hold its test secret."""
    path = tmp_path_factory.mktemp("secrets") / "secrets.yaml"
    write_secrets(path, {"haproxy_stats_password": "golden-password"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOLDENTOOTH_SECRETS", str(path))
        yield load_inventory(PROJECT_ROOT / "inventory.py")


@pytest.fixture
def make_inventory(tmp_path: Path):
    """Write a variant of the default inventory: `patch` is Python run on _NODES/_GROUPS,
    `data` maps a group_data file name to lines appended to it (later lines win)."""

    def make(patch: str = "", data: dict[str, str] | None = None) -> Path:
        shutil.copytree(PROJECT_ROOT / "group_data", tmp_path / "group_data")
        for group, lines in (data or {}).items():
            with (tmp_path / "group_data" / f"{group}.py").open("a", encoding="utf-8") as handle:
                handle.write("\n" + textwrap.dedent(lines) + "\n")
        path = tmp_path / "inventory.py"
        path.write_text(
            INVENTORY_TEMPLATE.format(base=str(PROJECT_ROOT / "inventory.py"), patch=textwrap.dedent(patch)),
            encoding="utf-8",
        )
        return path

    return make
