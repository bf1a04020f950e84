"""Node base, every host: identity, OS, architecture, cgroups, address, swap.

Spec 00-topology-and-data.md "Checks: host-level" and 99-verification.md BASE-1 and BASE-3.
Checks of files the node-base deploy writes (hosts file, modules, sysctls, apt pins, time sync)
sit below the host identity checks in this module.
"""

from __future__ import annotations

import ipaddress
import shlex
import time

import pytest

pytestmark = pytest.mark.groups("all")
CLOCK_SPREAD_LIMIT = 1.0  # seconds (BASE-2)


def os_release(text: str) -> dict[str, str]:
    """KEY=value pairs of /etc/os-release (values may be shell-quoted)."""
    pairs = (line.partition("=") for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {key: " ".join(shlex.split(value)) for key, _, value in pairs}


def test_architecture(node):
    """BASE-1: the dpkg architecture is the one the host's hardware implies."""
    assert node.check_output("dpkg --print-architecture") == node.inventory.expected_arch


def test_operating_system(node):
    release = os_release(node.file("/etc/os-release").content_string)
    assert f"{release.get('ID')} {release.get('VERSION_ID')}" == node.inventory.expected_os


def test_hostname(node):
    assert node.check_output("hostname") == node.name


@pytest.mark.kernel(reason="the lab's containers see the controller's hardware")
def test_device_tree_model(node):
    """A Raspberry Pi exactly when the inventory says so."""
    model = node.run("cat /proc/device-tree/model")
    is_pi = model.rc == 0 and model.stdout.startswith("Raspberry Pi")
    assert is_pi == node.inventory.in_group("raspberry_pi"), model.stdout or model.stderr


@pytest.mark.kernel(reason="the lab's containers get the controller's cgroup hierarchy")
def test_cgroup_v2(node):
    """The unified cgroup hierarchy (kubelet's systemd cgroup driver expects it)."""
    assert node.check_output("stat -fc %s /sys/fs/cgroup", "%T") == "cgroup2fs"


def test_address_on_interface(node):
    """The inventory address sits on an interface with the host network's prefix length."""
    prefix = ipaddress.ip_network(node.data["host_network_cidr"]).prefixlen
    addresses = {line.split()[3] for line in node.check_output("ip -4 -o addr show").splitlines()}
    assert f"{node.inventory.address}/{prefix}" in addresses


@pytest.mark.kernel(reason="the lab's containers see the controller's swap")
def test_no_swap(node):
    """BASE-3: no swap is active (kubelet refuses to run with swap by default)."""
    assert node.check_output("swapon --show --noheadings") == ""


def test_clocks_agree(hosts, connect):
    """BASE-2: no two hosts' clocks differ by more than a second.

    Each host's clock is read between two readings of the controller's, which bounds its offset
    to an interval; the check fails only when two intervals are certainly too far apart, so a slow
    SSH round trip cannot fail it.
    """
    bounds = {}
    for name in hosts:
        before = time.time()
        remote = float(connect(name).check_output("date +%s", "%s.%N"))
        after = time.time()
        bounds[name] = (remote - after, remote - before)
    lowest = min(bounds, key=lambda name: bounds[name][1])
    highest = max(bounds, key=lambda name: bounds[name][0])
    spread = bounds[highest][0] - bounds[lowest][1]
    assert spread <= CLOCK_SPREAD_LIMIT, f"{highest} is at least {spread:.2f} s ahead of {lowest}"
