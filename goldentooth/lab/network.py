"""The lab network: one namespace per node, veths to a bridge in the lab's own fabric namespace.

The fabric namespace holds the gateway address on its bridge; the root namespace holds no lab
address at all. A `prohibit` route for the lab subnet in the root namespace makes any stray
direct connection to a lab address fail at once instead of leaving the machine; several labs share
it (same subnet), so it is reference-counted by files under /run and removed by the last lab.
Interfaces are created directly inside their namespaces, so their names never meet another lab's.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .command import run

NETNS_DIR = Path("/run/netns")
ROUTES_DIR = Path("/run/goldentooth/lab/routes")
BRIDGE = "br0"
NODE_INTERFACE = "eth0"


def netns_path(namespace: str) -> Path:
    return NETNS_DIR / namespace


def namespaces(prefix: str) -> list[str]:
    """Existing network namespaces whose names start with `<prefix>-`."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(entry.name for entry in NETNS_DIR.iterdir() if entry.name.startswith(f"{prefix}-"))


def _ip(namespace: str, *args: str) -> None:
    run(["ip", "-n", namespace, *args])


def create_fabric(namespace: str, gateway: str, cidr: str) -> None:
    """The fabric namespace: a bridge carrying the gateway address; no route anywhere else."""
    run(["ip", "netns", "add", namespace])
    prefixlen = ipaddress.ip_network(cidr).prefixlen
    _ip(namespace, "link", "set", "lo", "up")
    _ip(namespace, "link", "add", BRIDGE, "type", "bridge")
    _ip(namespace, "addr", "add", f"{gateway}/{prefixlen}", "dev", BRIDGE)
    _ip(namespace, "link", "set", BRIDGE, "up")


def fabric_port(index: int, node: str) -> str:
    """The fabric-side veth name of a node (unique by index, at most 15 characters)."""
    return f"v{index}-{node}"[:15]


def create_node_netns(namespace: str, fabric: str, port: str, address: str, cidr: str, gateway: str) -> None:
    """A node's namespace with eth0 (its inventory address) cabled to the fabric bridge."""
    run(["ip", "netns", "add", namespace])
    prefixlen = ipaddress.ip_network(cidr).prefixlen
    run([
        "ip", "link", "add", NODE_INTERFACE, "netns", namespace, "type", "veth",
        "peer", "name", port, "netns", fabric,
    ])
    _ip(fabric, "link", "set", port, "master", BRIDGE)
    _ip(fabric, "link", "set", port, "up")
    _ip(namespace, "link", "set", "lo", "up")
    _ip(namespace, "addr", "add", f"{address}/{prefixlen}", "dev", NODE_INTERFACE)
    _ip(namespace, "link", "set", NODE_INTERFACE, "up")
    _ip(namespace, "route", "add", "default", "via", gateway)


def delete_netns(namespace: str) -> None:
    """Delete a namespace (its veths and bridge go with it); absent is fine."""
    if netns_path(namespace).exists():
        run(["ip", "netns", "delete", namespace])


def _route_dir(cidr: str) -> Path:
    return ROUTES_DIR / cidr.replace("/", "_")


@contextmanager
def _routes_locked() -> Iterator[None]:
    ROUTES_DIR.mkdir(parents=True, exist_ok=True)
    with open(ROUTES_DIR / ".lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _has_prohibit_route(cidr: str) -> bool:
    return bool(run(["ip", "route", "show", "type", "prohibit", "exact", cidr]).stdout.strip())


def hold_guard_route(cidr: str, lab: str) -> None:
    """Add the root namespace's `prohibit` route for the lab subnet (if absent) and note this lab uses it."""
    with _routes_locked():
        holders = _route_dir(cidr)
        holders.mkdir(parents=True, exist_ok=True)
        (holders / lab).touch()
        if not _has_prohibit_route(cidr):
            run(["ip", "route", "add", "prohibit", cidr])


def release_guard_route(cidr: str, lab: str) -> None:
    """Drop this lab's use of the guard route; the last lab to leave removes the route."""
    with _routes_locked():
        holders = _route_dir(cidr)
        (holders / lab).unlink(missing_ok=True)
        if holders.is_dir() and not any(holders.iterdir()):
            holders.rmdir()
            if _has_prohibit_route(cidr):
                run(["ip", "route", "del", "prohibit", cidr])


def routes_held_by(lab: str) -> list[str]:
    """The subnets whose guard route this lab holds."""
    if not ROUTES_DIR.is_dir():
        return []
    return sorted(entry.name.replace("_", "/") for entry in ROUTES_DIR.iterdir() if (entry / lab).exists())


def namespace_inode(namespace: str) -> int | None:
    """Inode of a namespace file: a process whose /proc/PID/ns/net has it lives in that namespace."""
    try:
        return os.stat(netns_path(namespace)).st_ino
    except OSError:
        return None
