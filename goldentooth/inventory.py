"""Build, validate and load goldentooth inventories.

An inventory file lists `Node`s and the declared groups, then calls `publish`, which computes the
derived groups, merges group data (group_data/*.py beside the inventory, as pyinfra does) and the
operator's secrets, validates everything and returns the group lists pyinfra reads. The same file
is loaded by `load_inventory` for the CLI and the tests, without importing pyinfra's CLI.
"""

from __future__ import annotations

import ast
import runpy
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import GoldentoothError, InvalidInventory
from .model import Cluster, Host, derive_groups, merge_host_data
from .secrets import load_secrets
from .validation import validate

#: Key under which `publish` leaves the Cluster in the inventory's namespace (pyinfra ignores `_` names).
CLUSTER_KEY = "_goldentooth_cluster"

_current: Cluster | None = None


def current() -> Cluster:
    """The Cluster of the inventory this process loaded last (deploys use it for derived values)."""
    if _current is None:
        raise GoldentoothError("no goldentooth inventory loaded: run pyinfra with inventory.py or a lab inventory")
    return _current


@dataclass(frozen=True)
class Node:
    """One host as written in an inventory file."""

    name: str
    ipv4_address: str
    hardware: str
    mac_address: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def host_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ipv4_address": self.ipv4_address, "hardware": self.hardware}
        if self.mac_address:
            data["mac_address"] = self.mac_address
        data.update(self.data)
        return data


def _imported_names(path: Path) -> set[str]:
    """Names bound by import statements in a Python file (they are not data)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def load_group_data(directory: Path) -> dict[str, dict[str, Any]]:
    """Read group_data/<group>.py files the way pyinfra does: public, non-imported module names."""
    group_data: dict[str, dict[str, Any]] = {}
    if not directory.is_dir():
        return group_data
    for path in sorted(directory.glob("*.py")):
        namespace = runpy.run_path(str(path))
        skip = _imported_names(path)
        group_data[path.stem] = {
            key: value for key, value in namespace.items() if not key.startswith("_") and key not in skip
        }
    return group_data


def build_cluster(
    nodes: list[Node],
    declared_groups: Mapping[str, list[str]],
    group_data: Mapping[str, Mapping[str, Any]],
    source: str,
    extra_host_data: Mapping[str, Mapping[str, Any]] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> Cluster:
    """The Cluster for a list of nodes and groups, data merged, not yet validated.

    Secrets join the cluster-wide settings only, never any host's data (which pyinfra may print).
    """
    groups = derive_groups(declared_groups)
    hosts: dict[str, Host] = {}
    for node in nodes:
        own = node.host_data()
        own.update((extra_host_data or {}).get(node.name, {}))
        member_of, merged = merge_host_data(node.name, own, groups, group_data)
        hosts.setdefault(node.name, Host(node.name, member_of, merged, own))
    settings = {**group_data.get("all", {}), **(secrets or {})}
    return Cluster(hosts=hosts, groups=groups, settings=settings, source=source)


def restrict(cluster: Cluster, names: Collection[str]) -> Cluster:
    """The same cluster with only the named hosts (groups keep their members among them)."""
    hosts = {name: host for name, host in cluster.hosts.items() if name in names}
    groups = {group: tuple(member for member in members if member in hosts) for group, members in cluster.groups.items()}
    return replace(cluster, hosts=hosts, groups=groups)


def pyinfra_groups(cluster: Cluster) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The group lists pyinfra reads: every group as [(host, host data)], declared and derived."""
    return {
        group: [(name, dict(cluster.hosts[name].host_data)) for name in members if name in cluster.hosts]
        for group, members in cluster.groups.items()
    }


def publish(
    nodes: list[Node],
    declared_groups: Mapping[str, list[str]],
    inventory_file: str,
    extra_host_data: Mapping[str, Mapping[str, Any]] | None = None,
    group_data_dir: Path | None = None,
    secrets_file: Path | None = None,
    only_hosts: Collection[str] | None = None,
) -> dict[str, Any]:
    """Validate an inventory and return its groups for pyinfra; raise InvalidInventory if it breaks a rule.

    `secrets_file` replaces the operator's secret file (the lab keeps its own); `only_hosts`
    publishes just those hosts (a lab running part of the cluster) after the whole inventory
    was validated.
    """
    source = Path(inventory_file)
    group_data = load_group_data(group_data_dir or source.resolve().parent / "group_data")
    cluster = build_cluster(nodes, declared_groups, group_data, source.name, extra_host_data,
                            load_secrets(secrets_file))
    raw_names = [node.name for node in nodes]
    violations = validate(cluster, raw_names, declared_groups, group_data)
    if violations:
        raise InvalidInventory(source.name, violations)
    if only_hosts is not None:
        cluster = restrict(cluster, only_hosts)
    global _current
    _current = cluster
    published: dict[str, Any] = dict(pyinfra_groups(cluster))
    published[CLUSTER_KEY] = cluster
    return published


def load_inventory(path: str | Path) -> Cluster:
    """Load and validate an inventory file (raises InvalidInventory)."""
    namespace = runpy.run_path(str(path))
    cluster = namespace.get(CLUSTER_KEY)
    if not isinstance(cluster, Cluster):
        raise GoldentoothError(f"{path} is not a goldentooth inventory (it never calls publish())")
    return cluster
