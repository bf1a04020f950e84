"""Node base, every host: the files and state the node-base deploy manages.

Spec 10-node-base.md "Checks" and 99-verification.md BASE-2..6. Host identity (architecture, OS,
hostname, address) is checked in test_base.py. Checks the lab's containers cannot pass (kernel
modules, sysctls under a read-only /proc/sys, time daemons without CAP_SYS_TIME, Raspberry Pi boot
files) carry the `kernel` marker.
"""

from __future__ import annotations

import pytest

from goldentooth.health.checks import assert_content, package_status, unit_state

pytestmark = pytest.mark.groups("all")


HOSTS_BEGIN, HOSTS_END = "# BEGIN goldentooth managed hosts", "# END goldentooth managed hosts"
SYSCTLS = ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables", "net.ipv4.ip_forward")
BLOCK_PIN = "/etc/apt/preferences.d/goldentooth-block-docker.pref"


def root_file(node, path: str, mode: int = 0o644):
    stat = node.file(path)
    assert stat.is_file, f"{path} is missing"
    assert (stat.user, stat.group, stat.mode) == ("root", "root", mode), f"{path}: {stat.user}:{stat.group} {stat.mode:o}"
    return stat


def installed(node, package: str) -> bool:
    status = package_status(node, package)
    return status is not None and status.installed


def test_hostname_file(node):
    assert_content(node, "/etc/hostname", f"{node.name}\n")


def test_hosts_block(node, cluster):
    lines = root_file(node, "/etc/hosts").content_string.splitlines()
    assert HOSTS_BEGIN in lines and HOSTS_END in lines
    block = lines[lines.index(HOSTS_BEGIN) + 1 : lines.index(HOSTS_END)]
    expected = [f"{host.address} {host.fqdn} {host.name}" for host in cluster.hosts.values()]
    expected.append(f"{node.data['api_endpoint_host']} {node.data['api_endpoint_alias']}")
    assert block == expected
    assert not [line for line in lines if line.startswith("127.0.1.1") and node.name in line.split()]


def test_hosts_resolve(node, cluster):
    other = next(host for host in cluster.hosts.values() if host.name != node.name)
    assert node.check_output("getent hosts %s", other.name).split()[0] == other.address
    alias = node.check_output("getent hosts %s", node.data["api_endpoint_alias"])
    assert alias.split()[0] == node.data["api_endpoint_host"]


def test_modules_load_file(node):
    root_file(node, "/etc/modules-load.d/kubernetes.conf")
    assert_content(node, "/etc/modules-load.d/kubernetes.conf", "overlay\nbr_netfilter\n")
    assert not node.file("/etc/modprobe.d/kubernetes.conf").exists


@pytest.mark.kernel(reason="the lab's containers share the controller's kernel and cannot load modules")
@pytest.mark.parametrize("module", ["overlay", "br_netfilter"])
def test_module_loaded(node, module):
    assert node.file(f"/sys/module/{module}").is_directory


def test_sysctl_file(node):
    root_file(node, "/etc/sysctl.d/99-kubernetes.conf")
    assert_content(node, "/etc/sysctl.d/99-kubernetes.conf", "".join(f"{key} = 1\n" for key in SYSCTLS))


@pytest.mark.kernel(reason="the lab's containers mount /proc/sys read-only")
def test_ip_forward(node):
    """The lab's containers mount /proc/sys read-only, hence the kernel marker."""
    assert node.check_output("sysctl -n net.ipv4.ip_forward") == "1"


@pytest.mark.kernel(reason="the lab's containers mount /proc/sys read-only")
@pytest.mark.parametrize("key", SYSCTLS[:2])
def test_bridge_sysctls(node, key):
    assert node.check_output("sysctl -n %s", key) == "1"


def test_fstab_has_no_swap(node):
    fstab = node.file("/etc/fstab").content_string if node.file("/etc/fstab").exists else ""
    active = [line.split() for line in fstab.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert not [fields for fields in active if len(fields) > 2 and fields[2] == "swap"]


@pytest.mark.groups("raspberry_pi")
@pytest.mark.kernel(reason="Raspberry Pi OS only; the lab's nodes are Debian containers")
def test_dphys_swapfile_masked(node):
    assert unit_state(node, "dphys-swapfile.service").unit_file_state == "masked"
    assert not node.file("/var/swap").exists


def test_time_service_installed(node):
    if node.data["time_sync_service"] == "chrony":
        assert installed(node, "chrony") and not installed(node, "systemd-timesyncd")
        unit = "chrony.service"
    else:
        unit = "systemd-timesyncd.service"
    assert unit_state(node, unit).enabled


@pytest.mark.kernel(reason="time daemons need CAP_SYS_TIME, which the lab's containers lack")
def test_time_synchronised(node):
    unit = "chrony.service" if node.data["time_sync_service"] == "chrony" else "systemd-timesyncd.service"
    assert unit_state(node, unit).active
    assert node.check_output("timedatectl show -p NTPSynchronized --value") == "yes"


def test_timezone(node):
    """What `timedatectl set-timezone` writes: the /etc/localtime link (read without the bus)."""
    assert node.check_output("readlink /etc/localtime").endswith(f"/zoneinfo/{node.data['timezone']}")


def test_ntp_servers_file(node):
    servers = node.data["ntp_servers"]
    path = "/etc/chrony/sources.d/goldentooth.sources"
    if node.data["time_sync_service"] != "chrony":
        path = "/etc/systemd/timesyncd.conf.d/goldentooth.conf"
    if not servers:
        assert not node.file(path).exists
    elif path.endswith(".sources"):
        assert [line for line in node.file(path).content_string.splitlines() if line.startswith("server ")] == [
            f"server {server} iburst" for server in servers
        ]
    else:
        assert f"NTP={' '.join(servers)}" in node.file(path).content_string.splitlines()


def test_docker_block_pin(node):
    text = root_file(node, BLOCK_PIN).content_string
    assert "Pin: release *" in text.splitlines() and "Pin-Priority: -1" in text.splitlines()
    assert "containerd.io" not in text.split("Package:")[1].splitlines()[0]
    assert not node.file("/etc/apt/preferences.d/block-docker").exists


def test_docker_engine_has_no_candidate(node):
    policy = node.check_output("apt-cache policy docker-ce docker.io")
    candidates = [line.split(":", 1)[1].strip() for line in policy.splitlines() if line.strip().startswith("Candidate:")]
    assert candidates and all(candidate == "(none)" for candidate in candidates), policy


def test_docker_engine_not_installed(node):
    assert [name for name in node.data["apt_blocked_packages"] if installed(node, name)] == []


def test_journald_limit(node):
    root_file(node, "/etc/systemd/journald.conf.d/60-goldentooth.conf")
    assert f"SystemMaxUse={node.data['journald_system_max_use']}" in node.file(
        "/etc/systemd/journald.conf.d/60-goldentooth.conf"
    ).content_string.splitlines()


@pytest.mark.groups("raspberry_pi")
@pytest.mark.kernel(reason="Raspberry Pi boot files do not exist in the lab's containers")
def test_raspberry_pi_cmdline(node):
    lines = node.file("/boot/firmware/cmdline.txt").content_string.splitlines()
    assert len(lines) == 1
    tokens = lines[0].split()
    for token in node.data["pi_cmdline_tokens"]:
        assert tokens.count(token) == 1, token


@pytest.mark.groups("raspberry_pi")
@pytest.mark.kernel(reason="Raspberry Pi boot files do not exist in the lab's containers")
def test_raspberry_pi_config_block(node):
    text = node.file("/boot/firmware/config.txt").content_string
    block = text.split("# BEGIN goldentooth managed\n", 1)[1].split("# END goldentooth managed", 1)[0]
    assert "[all]" in block.splitlines()
    fan = node.data["pi_fan"]
    assert f"dtoverlay=gpio-fan,gpiopin={fan['gpiopin']},temp={fan['temp']}" in block.splitlines()
    assert text.rstrip().endswith("# END goldentooth managed")
