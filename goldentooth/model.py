"""The typed cluster model: hosts, groups, data and the values derived from them.

Derived values (init node, package version, apt URLs, service IPs...) are computed here and never
written in data (spec 00-topology-and-data.md §3). Facts never land in this model.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Groups written by hand in an inventory (00-topology-and-data.md §2).
DECLARED_GROUPS = (
    "load_balancer",
    "k8s_control_plane",
    "k8s_workers",
    "gpu",
    "nfs_server",
    "zfs",
    "raspberry_pi",
)
#: Groups computed from the declared ones.
DERIVED_GROUPS = ("k8s_cluster",)

HARDWARE_ARCH = {"pi4b-8gb": "arm64", "pi4b-4gb": "arm64", "pi5": "arm64", "x86_64": "amd64"}
HARDWARE_OS = {"pi4b-8gb": "debian 12", "pi4b-4gb": "debian 12", "pi5": "debian 12", "x86_64": "ubuntu 24.04"}

#: Keys whose values are secrets: never printed, never written to the repository.
SECRET_KEYS = frozenset({"haproxy_stats_password"})


def version_minor(version: str) -> str:
    """`1.32.3` -> `1.32`."""
    return ".".join(version.split(".")[:2])


@dataclass(frozen=True)
class Host:
    """One inventory host with its merged data (all < groups < host)."""

    name: str
    groups: tuple[str, ...]
    data: Mapping[str, Any]
    host_data: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @property
    def address(self) -> str:
        return str(self.data.get("ipv4_address", ""))

    @property
    def hardware(self) -> str:
        return str(self.data.get("hardware", ""))

    @property
    def expected_arch(self) -> str:
        return str(self.data.get("expected_arch") or HARDWARE_ARCH.get(self.hardware, ""))

    @property
    def expected_os(self) -> str:
        return str(self.data.get("expected_os") or HARDWARE_OS.get(self.hardware, ""))

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.data['node_domain']}"

    def in_group(self, group: str) -> bool:
        return group in self.groups

    # Kubernetes values derived from this host's data (§3).
    @property
    def kubernetes_minor(self) -> str:
        return version_minor(str(self.data["kubernetes_version"]))

    @property
    def kubernetes_package_version(self) -> str:
        return f"{self.data['kubernetes_version']}-{self.data['kubernetes_package_revision']}"

    @property
    def kubernetes_apt_repo_url(self) -> str:
        return f"{str(self.data['kubernetes_apt_base']).rstrip('/')}/v{self.kubernetes_minor}/deb/"

    @property
    def kubernetes_apt_key_url(self) -> str:
        return f"{self.kubernetes_apt_repo_url}Release.key"

    @property
    def sandbox_image(self) -> str:
        return str(self.data["sandbox_image_by_minor"][self.kubernetes_minor])


@dataclass(frozen=True)
class Cluster:
    """The whole inventory: hosts in inventory order and every group, derived ones included."""

    hosts: Mapping[str, Host]
    groups: Mapping[str, tuple[str, ...]]
    settings: Mapping[str, Any]
    source: str = "inventory.py"

    def host(self, name: str) -> Host:
        return self.hosts[name]

    def group(self, name: str) -> list[Host]:
        return [self.hosts[member] for member in self.groups.get(name, ()) if member in self.hosts]

    def names(self, group: str) -> list[str]:
        return [host.name for host in self.group(group)]

    def select(self, targets: str) -> list[Host]:
        """Hosts named by a comma-separated list of host and group names, in inventory order.

        Raises KeyError naming the first target that is neither a host nor a group.
        """
        wanted: set[str] = set()
        for target in filter(None, (part.strip() for part in targets.split(","))):
            if target == "all":
                wanted.update(self.hosts)
            elif target in self.hosts:
                wanted.add(target)
            elif target in self.groups:
                wanted.update(self.groups[target])
            else:
                raise KeyError(target)
        return [host for name, host in self.hosts.items() if name in wanted]

    # Derived values (§3).
    @property
    def init_node(self) -> str:
        return self.names("k8s_control_plane")[0]

    @property
    def joining_control_planes(self) -> list[str]:
        return self.names("k8s_control_plane")[1:]

    @property
    def control_plane_endpoint(self) -> str:
        return f"{self.settings['api_endpoint_host']}:{self.settings['api_endpoint_port']}"

    @property
    def kubernetes_service_ip(self) -> str:
        return str(ipaddress.ip_network(self.settings["service_cidr"])[1])

    @property
    def cluster_dns_ip(self) -> str:
        return str(ipaddress.ip_network(self.settings["service_cidr"])[10])

    def nfs_clients(self, share: Mapping[str, Any]) -> list[str]:
        """Every host except the share's own server (a host never mounts its own export)."""
        return [name for name in self.hosts if name != share.get("server")]

    @property
    def zfs_source(self) -> str | None:
        members = self.group("zfs")
        return str(members[0].get("zfs_replication_source")) if members else None

    @property
    def zfs_replicas(self) -> list[str]:
        return [name for name in self.names("zfs") if name != self.zfs_source]


def derive_groups(declared: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """Add the computed groups: k8s_cluster = control planes then workers, without repeats."""
    groups = {name: tuple(members) for name, members in declared.items()}
    cluster: list[str] = []
    for member in [*declared.get("k8s_control_plane", []), *declared.get("k8s_workers", [])]:
        if member not in cluster:
            cluster.append(member)
    groups["k8s_cluster"] = tuple(cluster)
    return groups


def merge_host_data(
    name: str,
    host_data: Mapping[str, Any],
    groups: Mapping[str, tuple[str, ...]],
    group_data: Mapping[str, Mapping[str, Any]],
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The groups of one host and its data as pyinfra sees it: all < each group < host."""
    member_of = tuple(group for group, members in groups.items() if name in members)
    data: dict[str, Any] = dict(group_data.get("all", {}))
    for group in member_of:
        data.update(group_data.get(group, {}))
    data.update(host_data)
    return member_of, data
