"""Data-only validation of an inventory (spec 00-topology-and-data.md §6.1, 70-nfs.md §2, 80-zfs.md §1).

Each rule is a function that yields Violations naming the host (or group), the key and the rule.
Nothing here touches a host.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .errors import Violation
from .gpu import POLICIES as GPU_POLICIES
from .model import DECLARED_GROUPS, HARDWARE_ARCH, Cluster, Host, version_minor
from .systemd_escape import PathNotNormalized, escape_path
from .zfs import arc_max_problem

HOST_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
VERSION = re.compile(r"^\d+\.\d+\.\d+$")
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
EXPORT_OPTIONS = frozenset(
    "rw ro sync async root_squash no_root_squash all_squash subtree_check no_subtree_check secure insecure mp".split()
)
#: Calico minor -> Kubernetes minors it is tested with.
CALICO_SUPPORT = {
    "v3.28": ("1.28", "1.29", "1.30"),
    "v3.29": ("1.29", "1.30", "1.31", "1.32"),
    "v3.30": ("1.30", "1.31", "1.32", "1.33"),
}
REQUIRED_SECRETS = ("haproxy_stats_password",)
#: Installed RAM per hardware model, for checks that must hold before any host is contacted.
HARDWARE_MEMORY = {"pi4b-8gb": 8 * 1024**3, "pi4b-4gb": 4 * 1024**3}

Rule = Callable[["Context"], Iterator[Violation]]
RULES: list[Rule] = []


def rule(func: Rule) -> Rule:
    RULES.append(func)
    return func


class Context:
    """What the rules look at: the cluster, the names as written, declared groups and raw group data."""

    def __init__(
        self,
        cluster: Cluster,
        raw_names: list[str],
        declared_groups: Mapping[str, list[str]],
        group_data: Mapping[str, Mapping[str, Any]],
    ):
        self.cluster = cluster
        self.raw_names = raw_names
        self.declared_groups = declared_groups
        self.group_data = group_data
        self.settings = cluster.settings

    def network(self, key: str) -> ipaddress.IPv4Network | None:
        try:
            return ipaddress.IPv4Network(str(self.settings.get(key)), strict=True)
        except (ValueError, TypeError):
            return None

    def dhcp_range(self) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address] | None:
        try:
            first, last = str(self.settings.get("dhcp_range", "")).split("-")
            return ipaddress.IPv4Address(first.strip()), ipaddress.IPv4Address(last.strip())
        except ValueError:
            return None


def _all(key: str, rule_id: str, message: str) -> Violation:
    return Violation("all", key, rule_id, message)


def _host(host: Host | str, key: str, rule_id: str, message: str) -> Violation:
    name = host if isinstance(host, str) else host.name
    return Violation(f"host {name}", key, rule_id, message)


def _group(group: str, rule_id: str, message: str) -> Violation:
    return Violation(f"group {group}", "members", rule_id, message)


def _address(value: Any) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        return None


def parse_duration(text: str) -> int | None:
    """`1h30m` -> 5400 seconds; None when the text is not a Go-style h/m/s duration."""
    match = DURATION.match(str(text))
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@rule
def host_names_and_addresses(ctx: Context) -> Iterator[Violation]:
    """§6.1.1: unique, DNS-label host names; unique IPv4 addresses."""
    seen: set[str] = set()
    for name in ctx.raw_names:
        if not HOST_NAME.match(name):
            yield _host(name, "name", "host-name", f"{name!r} must match {HOST_NAME.pattern}")
        if name in seen:
            yield _host(name, "name", "unique-host", f"host {name!r} is defined more than once")
        seen.add(name)
    owners: dict[str, str] = {}
    for host in ctx.cluster.hosts.values():
        address = host.address
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            yield _host(host, "ipv4_address", "ipv4-address", f"{address!r} is not an IPv4 address")
            continue
        if address in owners:
            yield _host(host, "ipv4_address", "unique-address", f"{address} is also the address of {owners[address]}")
        owners.setdefault(address, host.name)
        if host.hardware not in HARDWARE_ARCH:
            yield _host(host, "hardware", "hardware", f"{host.hardware!r} is not one of {sorted(HARDWARE_ARCH)}")


@rule
def addresses_in_network(ctx: Context) -> Iterator[Violation]:
    """§6.1.2: addresses inside the host network, off its edges, the gateway, DHCP and MetalLB."""
    network = ctx.network("host_network_cidr")
    metallb = ctx.network("metallb_cidr")
    dhcp = ctx.dhcp_range()
    for host in ctx.cluster.hosts.values():
        address = _address(host.address)
        if address is None:
            continue
        if network is not None:
            if address not in network:
                yield _host(host, "ipv4_address", "address-in-network", f"{address} is outside host_network_cidr {network}")
            elif address in (network.network_address, network.broadcast_address):
                yield _host(host, "ipv4_address", "address-in-network", f"{address} is the network or broadcast address of {network}")
        if str(address) == str(ctx.settings.get("gateway")):
            yield _host(host, "ipv4_address", "address-not-gateway", f"{address} is the gateway")
        if dhcp and dhcp[0] <= address <= dhcp[1]:
            yield _host(host, "ipv4_address", "address-outside-dhcp", f"{address} lies in dhcp_range {ctx.settings['dhcp_range']}")
        if metallb is not None and address in metallb:
            yield _host(host, "ipv4_address", "address-outside-metallb", f"{address} lies in metallb_cidr {metallb}")


@rule
def group_members_exist(ctx: Context) -> Iterator[Violation]:
    """Every host a group references is defined in the inventory; only known groups are declared."""
    for group, members in ctx.declared_groups.items():
        if group not in DECLARED_GROUPS:
            yield _group(group, "known-group", f"unknown group {group!r}; groups are {', '.join(DECLARED_GROUPS)}")
        for member in members:
            if member not in ctx.cluster.hosts:
                yield _group(group, "host-exists", f"{member!r} is not a host of the inventory")


@rule
def control_plane_odd(ctx: Context) -> Iterator[Violation]:
    """§6.1.3: an odd number of control planes (etcd quorum)."""
    count = len(ctx.cluster.groups.get("k8s_control_plane", ()))
    if count % 2 == 0:
        yield _group("k8s_control_plane", "odd-control-plane", f"needs an odd number of members (1, 3, 5...), has {count}")


@rule
def disjoint_roles(ctx: Context) -> Iterator[Violation]:
    """§6.1.4: control planes are not workers; the load balancer is not a Kubernetes node."""
    workers = set(ctx.cluster.groups.get("k8s_workers", ()))
    for name in ctx.cluster.groups.get("k8s_control_plane", ()):
        if name in workers:
            yield _host(name, "groups", "control-plane-not-worker", "is in both k8s_control_plane and k8s_workers")
    cluster = set(ctx.cluster.groups.get("k8s_cluster", ()))
    for name in ctx.cluster.groups.get("load_balancer", ()):
        if name in cluster:
            yield _host(name, "groups", "load-balancer-not-node", "is in load_balancer and k8s_cluster (HAProxy binds :6443)")


@rule
def api_endpoint_on_load_balancer(ctx: Context) -> Iterator[Violation]:
    """§6.1.5: exactly one load balancer, and the API endpoint is its address on :6443."""
    members = ctx.cluster.group("load_balancer")
    if len(members) != 1:
        yield _group("load_balancer", "one-load-balancer", f"needs exactly one member, has {len(members)}")
    endpoint = str(ctx.settings.get("api_endpoint_host"))
    if members and endpoint != members[0].address:
        yield _all(
            "api_endpoint_host",
            "endpoint-on-load-balancer",
            f"{endpoint} is not the address of the load balancer {members[0].name} ({members[0].address})",
        )
    if ctx.settings.get("api_endpoint_port") != 6443:
        yield _all("api_endpoint_port", "endpoint-port", "must be 6443 (the load balancer frontend)")


@rule
def networks(ctx: Context) -> Iterator[Violation]:
    """§6.1.6-7: CIDRs parse, do not overlap, MetalLB inside the host network, sizes fit."""
    parsed = {}
    for key in ("host_network_cidr", "service_cidr", "pod_cidr", "metallb_cidr"):
        network = ctx.network(key)
        if network is None:
            yield _all(key, "cidr", f"{ctx.settings.get(key)!r} is not an IPv4 network in CIDR form")
        else:
            parsed[key] = network
    keys = [key for key in ("host_network_cidr", "service_cidr", "pod_cidr") if key in parsed]
    for index, first in enumerate(keys):
        for second in keys[index + 1 :]:
            if parsed[first].overlaps(parsed[second]):
                yield _all(second, "cidr-overlap", f"{parsed[second]} overlaps {first} {parsed[first]}")
    metallb = parsed.get("metallb_cidr")
    host_net = parsed.get("host_network_cidr")
    if metallb and host_net and not metallb.subnet_of(host_net):
        yield _all("metallb_cidr", "metallb-in-host-network", f"{metallb} is not inside host_network_cidr {host_net}")
    dhcp = ctx.dhcp_range()
    if ctx.settings.get("dhcp_range") is not None and dhcp is None:
        yield _all("dhcp_range", "dhcp-range", f"{ctx.settings.get('dhcp_range')!r} must be FIRST-LAST addresses")
    if metallb and dhcp and not (dhcp[1] < metallb.network_address or dhcp[0] > metallb.broadcast_address):
        yield _all("metallb_cidr", "metallb-outside-dhcp", f"{metallb} overlaps dhcp_range {ctx.settings['dhcp_range']}")
    endpoint = _address(ctx.settings.get("api_endpoint_host"))
    if metallb and endpoint is not None and endpoint in metallb:
        yield _all("metallb_cidr", "metallb-outside-endpoint", f"{metallb} contains api_endpoint_host")
    service = parsed.get("service_cidr")
    if service and not 12 <= service.prefixlen <= 24:
        yield _all("service_cidr", "service-cidr-size", f"prefix /{service.prefixlen} must be between /12 and /24")
    pod = parsed.get("pod_cidr")
    nodes = len(ctx.cluster.groups.get("k8s_cluster", ()))
    if pod and (pod.prefixlen > 24 or 2 ** (24 - pod.prefixlen) < nodes):
        yield _all("pod_cidr", "pod-cidr-size", f"{pod} has room for fewer than one /24 per node ({nodes} nodes)")


@rule
def kubernetes_version(ctx: Context) -> Iterator[Violation]:
    """§6.1.8: exact version, sandbox image for its minor, Calico tested with that minor."""
    for host in _distinct_settings(ctx, "kubernetes_version", "sandbox_image_by_minor", "calico_version"):
        where = "all" if host is None else f"host {host.name}"
        data = ctx.settings if host is None else host.data
        version = str(data.get("kubernetes_version", ""))
        if not VERSION.match(version):
            yield Violation(where, "kubernetes_version", "version-format", f"{version!r} must look like 1.32.3 (no 'v')")
            continue
        minor = version_minor(version)
        if minor not in (data.get("sandbox_image_by_minor") or {}):
            yield Violation(where, "sandbox_image_by_minor", "sandbox-image", f"has no entry for Kubernetes {minor}")
        calico = str(data.get("calico_version", ""))
        calico_minor = ".".join(calico.split(".")[:2])
        if minor not in CALICO_SUPPORT.get(calico_minor, ()):
            yield Violation(where, "calico_version", "calico-compat", f"Calico {calico} is not tested with Kubernetes {minor}")


def _distinct_settings(ctx: Context, *keys: str) -> Iterator[Host | None]:
    """None for the cluster-wide value, then each host that overrides one of the keys itself."""
    yield None
    for host in ctx.cluster.hosts.values():
        if any(key in host.host_data for key in keys):
            yield host


@rule
def gpu_hosts(ctx: Context) -> Iterator[Violation]:
    """§6.1.9: GPU hosts are amd64 workers."""
    workers = set(ctx.cluster.groups.get("k8s_workers", ()))
    for host in ctx.cluster.group("gpu"):
        if host.name not in workers:
            yield _host(host, "groups", "gpu-is-worker", "is in gpu but not in k8s_workers")
        if host.expected_arch != "amd64":
            yield _host(host, "expected_arch", "gpu-amd64", f"GPU hosts must be amd64, not {host.expected_arch!r}")
        if host.get("gpu_on_missing_driver", "fail") not in GPU_POLICIES:
            yield _host(host, "gpu_on_missing_driver", "gpu-policy", f"must be one of {', '.join(GPU_POLICIES)}")


@rule
def zfs_roles(ctx: Context) -> Iterator[Violation]:
    """§6.1.10 and 80-zfs.md §1: a named replication source in `zfs`, replicas, safe devices."""
    members = ctx.cluster.names("zfs")
    if "zfs_pool_force" in ctx.group_data.get("zfs", {}) or "zfs_pool_force" in ctx.group_data.get("all", {}):
        yield _all("zfs_pool_force", "zfs-force-host-only", "may be set only in host data, never for a whole group")
    if not members:
        return
    source = ctx.cluster.zfs_source
    if source not in members:
        yield Violation("group zfs", "zfs_replication_source", "zfs-source", f"{source!r} is not a member of zfs")
    elif len(members) < 2:
        yield Violation("group zfs", "zfs_replication_source", "zfs-replicas", "needs at least one other zfs member as replica")
    elif not ctx.cluster.host(source).get("ssh_replication_principal"):
        yield _host(source, "ssh_replication_principal", "zfs-replication-login",
                    "needs a principal: Syncoid logs in to the replicas with the SSH certificate signed for it")
    for host in ctx.cluster.group("zfs"):
        device = host.get("zfs_pool_device")
        if device is not None and re.match(r"^/dev/(sd[a-z]+|nvme\d+n\d+|vd[a-z]+|mmcblk\d+)$", str(device)):
            yield _host(host, "zfs_pool_device", "zfs-stable-device", f"{device} is not stable; use /dev/disk/by-id/...")


@rule
def nfs_shares(ctx: Context) -> Iterator[Violation]:
    """§6.1.11 and 70-nfs.md §2: exports scoped to the host network, mounts pointing at real exports."""
    host_net = str(ctx.settings.get("host_network_cidr"))
    servers = set(ctx.cluster.groups.get("nfs_server", ()))
    for host in ctx.cluster.hosts.values():
        for export in host.host_data.get("nfs_exports", []) or []:
            if host.name not in servers:
                yield _host(host, "nfs_exports", "nfs-server-group", "has exports but is not in nfs_server")
            if export.get("clients") != host_net:
                yield _host(host, "nfs_exports", "nfs-clients", f"export {export.get('path')} clients {export.get('clients')!r} must be {host_net} (never '*')")
            unknown = sorted(set(export.get("options", [])) - EXPORT_OPTIONS)
            if unknown:
                yield _host(host, "nfs_exports", "nfs-export-options", f"export {export.get('path')} has unknown options {unknown}")
    for mount in ctx.settings.get("nfs_mounts", []) or []:
        name = mount.get("name", "?")
        server = mount.get("server")
        where = str(mount.get("where", ""))
        if server not in ctx.cluster.hosts:
            yield _all("nfs_mounts", "nfs-mount-server", f"share {name}: server {server!r} is not an inventory host")
            continue
        if server not in servers:
            yield _all("nfs_mounts", "nfs-mount-server", f"share {name}: server {server} is not in nfs_server")
        exports = {e.get("path") for e in ctx.cluster.host(server).host_data.get("nfs_exports", []) or []}
        if mount.get("export") not in exports:
            yield _all("nfs_mounts", "nfs-mount-export", f"share {name}: {server} exports no {mount.get('export')!r}")
        if not where.startswith("/") or posixpath.normpath(where) != where:
            yield _all("nfs_mounts", "nfs-mount-path", f"share {name}: where {where!r} must be absolute and normalised")


@rule
def zfs_arc_limit(ctx: Context) -> Iterator[Violation]:
    """80-zfs.md §3: zfs_arc_max_bytes is an integer OpenZFS accepts for the host's RAM."""
    for host in ctx.cluster.group("zfs"):
        value = host.get("zfs_arc_max_bytes")
        if not isinstance(value, int) or isinstance(value, bool):
            yield _host(host, "zfs_arc_max_bytes", "zfs-arc-max", f"{value!r} must be an integer number of bytes")
            continue
        memory = HARDWARE_MEMORY.get(host.hardware)
        arc_min = host.get("zfs_arc_min")
        problem = arc_max_problem(value, memory, arc_min) if memory else None
        if problem:
            yield _host(host, "zfs_arc_max_bytes", "zfs-arc-max", problem)


@rule
def storage_paths(ctx: Context) -> Iterator[Violation]:
    """70-nfs.md §4.2: every client mount point has a systemd unit name; share names are unique."""
    names: set[str] = set()
    for mount in ctx.settings.get("nfs_mounts", []) or []:
        name = mount.get("name", "?")
        if name in names:
            yield _all("nfs_mounts", "nfs-mount-name", f"share name {name!r} is used twice")
        names.add(name)
        try:
            escape_path(str(mount.get("where", "")))
        except PathNotNormalized as error:
            yield _all("nfs_mounts", "nfs-mount-path", f"share {name}: {error}")
        if not mount.get("options"):
            yield _all("nfs_mounts", "nfs-mount-options", f"share {name}: options must not be empty")
        timeout = mount.get("idle_timeout_sec")
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 0:
            yield _all("nfs_mounts", "nfs-idle-timeout", f"share {name}: idle_timeout_sec must be a whole number of seconds")


@rule
def labels_and_taints(ctx: Context) -> Iterator[Violation]:
    """§6.1.12: label syntax, no kubelet-owned prefixes, valid taint effects."""
    for host in ctx.cluster.hosts.values():
        for key, value in (host.get("node_labels") or {}).items():
            problem = label_key_problem(str(key))
            if problem:
                yield _host(host, "node_labels", "label-syntax", f"label {key!r}: {problem}")
            if not LABEL_VALUE.match(str(value)) or len(str(value)) > 63:
                yield _host(host, "node_labels", "label-syntax", f"label {key!r} value {value!r} is not a valid label value")
        for taint in host.get("node_taints") or []:
            if taint.get("effect") not in TAINT_EFFECTS:
                yield _host(host, "node_taints", "taint-effect", f"taint {taint.get('key')!r} effect {taint.get('effect')!r} must be one of {', '.join(TAINT_EFFECTS)}")
            if label_key_problem(str(taint.get("key", ""))):
                yield _host(host, "node_taints", "taint-key", f"taint key {taint.get('key')!r} is not a valid key")


def label_key_problem(key: str) -> str | None:
    """Why a Kubernetes label key is invalid (None when it is valid)."""
    prefix, _, name = key.rpartition("/")
    if not LABEL_NAME.match(name):
        return "name must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    if prefix:
        if len(prefix) > 253 or not LABEL_PREFIX.match(prefix):
            return "prefix must be a DNS subdomain"
        if prefix.endswith(("kubernetes.io", "k8s.io")):
            return "the kubernetes.io/ and k8s.io/ prefixes belong to Kubernetes"
    return None


@rule
def preflight_ignores(ctx: Context) -> Iterator[Violation]:
    """§6.1.13: preflight errors are ignored by name only, never `all`."""
    if any(str(item).lower() == "all" for item in ctx.settings.get("kubeadm_ignore_preflight_errors", [])):
        yield _all("kubeadm_ignore_preflight_errors", "no-ignore-all", "'all' is refused; name the checks to ignore")
    for host in ctx.cluster.hosts.values():
        if any(str(item).lower() == "all" for item in host.host_data.get("kubeadm_ignore_preflight_errors", [])):
            yield _host(host, "kubeadm_ignore_preflight_errors", "no-ignore-all", "'all' is refused; name the checks to ignore")


@rule
def join_token_ttl(ctx: Context) -> Iterator[Violation]:
    """§6.1.14: 0 < join_token_ttl <= 24h."""
    seconds = parse_duration(str(ctx.settings.get("join_token_ttl", "")))
    if seconds is None or not 0 < seconds <= 86400:
        yield _all("join_token_ttl", "token-ttl", f"{ctx.settings.get('join_token_ttl')!r} must be a duration above 0 and at most 24h")


@rule
def timezone(ctx: Context) -> Iterator[Violation]:
    """§6.1.15: an IANA zone name."""
    zone = str(ctx.settings.get("timezone", ""))
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        yield _all("timezone", "timezone", f"{zone!r} is not an IANA time zone name")


@rule
def secrets_present(ctx: Context) -> Iterator[Violation]:
    """§6.1.16: required secrets are in the operator's secret file."""
    for key in REQUIRED_SECRETS:
        if not ctx.settings.get(key):
            yield _all(key, "secret-required", "missing: set it in the secret file (see `goldentooth secrets --help`)")


def validate(
    cluster: Cluster,
    raw_names: list[str],
    declared_groups: Mapping[str, list[str]],
    group_data: Mapping[str, Mapping[str, Any]],
) -> list[Violation]:
    """Every violation of every rule, in rule order."""
    ctx = Context(cluster, raw_names, declared_groups, group_data)
    return [violation for check in RULES for violation in check(ctx)]
