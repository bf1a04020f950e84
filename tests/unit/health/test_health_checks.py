"""The trap-free probes of goldentooth.health.checks, on sample outputs of real commands."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

import pytest

from goldentooth.health import checks


@dataclass
class Result:
    rc: int = 0
    stdout: str = ""
    stderr: str = ""
    command: str = ""

    @property
    def stdout_bytes(self) -> bytes:
        return self.stdout.encode()


@dataclass
class FakeNode:
    """Answers commands with canned results and records them as testinfra would build them."""

    answers: list[Result]
    commands: list[str] = field(default_factory=list)

    def run(self, command: str, *args: str) -> Result:
        self.commands.append(command % tuple(shlex.quote(arg) for arg in args) if args else command)
        return self.answers.pop(0)


# `systemctl show -p LoadState,UnitFileState,ActiveState,SubState,Result UNIT` on Debian 12 (systemd 252):
# systemd prints in its own order (Result first), not in the order asked for.
SSH_SERVICE = "Result=success\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n"
STATIC_TIMER = "Result=success\nLoadState=loaded\nActiveState=active\nSubState=waiting\nUnitFileState=static\n"
MISSING = "Result=success\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n"
TARGET = "LoadState=loaded\nActiveState=active\nSubState=active\nUnitFileState=static\n"


def test_unit_state_enabled_and_running():
    node = FakeNode([Result(stdout=SSH_SERVICE)])
    state = checks.unit_state(node, "ssh.service")
    assert state == checks.UnitState("loaded", "enabled", "active", "running", "success")
    assert state.loaded and state.enabled and state.active
    assert node.commands == ["systemctl show -p LoadState,UnitFileState,ActiveState,SubState,Result -- ssh.service"]


def test_static_unit_is_not_enabled():
    state = checks.unit_state(FakeNode([Result(stdout=STATIC_TIMER)]), "sanoid.timer")
    assert state.unit_file_state == "static"
    assert not state.enabled
    assert state.active and state.sub_state == "waiting"


def test_missing_unit_is_not_found():
    state = checks.unit_state(FakeNode([Result(stdout=MISSING)]), "nope.service")
    assert state.load_state == "not-found" and not state.loaded and not state.enabled


def test_target_has_no_result():
    state = checks.unit_state(FakeNode([Result(stdout=TARGET)]), "multi-user.target")
    assert state == checks.UnitState("loaded", "static", "active", "active", None)


def test_unit_name_is_quoted():
    node = FakeNode([Result(stdout=MISSING)])
    checks.unit_state(node, r"mnt-gpu\x2dstorage.automount")
    assert node.commands[0].endswith(r"-- 'mnt-gpu\x2dstorage.automount'")


def test_unit_without_suffix_is_refused():
    with pytest.raises(ValueError, match="full unit name"):
        checks.unit_state(FakeNode([]), "ssh")


@pytest.mark.parametrize("output", ["LoadState=loaded\n", "Loaded: loaded\n", SSH_SERVICE + "Bogus=1\n"])
def test_unexpected_systemctl_output_is_an_error(output):
    with pytest.raises(ValueError):
        checks.parse_unit_state(output)


def test_failing_systemctl_raises():
    with pytest.raises(RuntimeError, match="exited 1"):
        checks.unit_state(FakeNode([Result(rc=1, stderr="Failed to connect to bus")]), "ssh.service")


SS = """\
LISTEN 0      128    0.0.0.0:22 0.0.0.0:*
LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*
LISTEN 0      3000       10.4.0.10:6443      0.0.0.0:*
LISTEN 0      128       [::]:22    [::]:*
LISTEN 0      4096               *:8404            *:*
LISTEN 0      64      [fe80::1%eth0]:9000        [::]:*
"""


def test_listeners_parse_exact_addresses():
    node = FakeNode([Result(stdout=SS)])
    sockets = checks.listeners(node)
    assert node.commands == ["ss -Hltn"]
    assert sockets == [
        checks.Listener("0.0.0.0", 22),
        checks.Listener("127.0.0.53", 53, "lo"),
        checks.Listener("10.4.0.10", 6443),
        checks.Listener("::", 22),
        checks.Listener("*", 8404),
        checks.Listener("fe80::1", 9000, "eth0"),
    ]
    assert checks.addresses_on(sockets, 22) == {"0.0.0.0", "::"}
    assert checks.addresses_on(sockets, 6443) == {"10.4.0.10"}
    assert checks.addresses_on(sockets, 80) == set()


def test_empty_ss_output_means_no_listener():
    assert checks.parse_listeners("") == []


@pytest.mark.parametrize("line", ["State Recv-Q Send-Q Local Peer", "LISTEN 0 4096 0.0.0.0:http 0.0.0.0:*"])
def test_unexpected_ss_lines_are_errors(line):
    with pytest.raises(ValueError):
        checks.parse_listeners(line)


def test_tcp_connect_builds_a_quoted_dev_tcp_connect():
    node = FakeNode([Result(rc=0), Result(rc=124)])
    assert checks.tcp_connect(node, "10.4.0.10", 6443)
    assert not checks.tcp_connect(node, "10.4.0.10", 6443)
    assert node.commands[0] == "timeout 2 bash -c 'exec 3<>/dev/tcp/10.4.0.10/6443'"


@pytest.mark.parametrize("address, port", [("10.4.0.10; reboot", 22), ("10.4.0.10", 0), ("10.4.0.10", 70000)])
def test_tcp_connect_refuses_bad_targets(address, port):
    with pytest.raises(ValueError):
        checks.tcp_connect(FakeNode([]), address, port)


def test_file_content_keeps_trailing_newline():
    node = FakeNode([Result(stdout="overlay\nbr_netfilter\n")])
    assert checks.file_content(node, "/etc/modules-load.d/kubernetes.conf") == b"overlay\nbr_netfilter\n"
    assert node.commands == [
        "test -e /etc/modules-load.d/kubernetes.conf || exit 3; cat -- /etc/modules-load.d/kubernetes.conf"
    ]


def test_file_content_absent_is_none_and_path_is_quoted():
    node = FakeNode([Result(rc=3)])
    assert checks.file_content(node, "/tmp/a b") is None
    assert node.commands == ["test -e '/tmp/a b' || exit 3; cat -- '/tmp/a b'"]


def test_unreadable_file_raises():
    with pytest.raises(RuntimeError, match="Permission denied"):
        checks.file_content(FakeNode([Result(rc=1, stderr="cat: x: Permission denied")]), "x")


def test_content_mismatch_is_byte_exact_with_a_diff():
    path = "/etc/modules-load.d/kubernetes.conf"
    assert checks.content_mismatch(path, b"overlay\nbr_netfilter\n", "overlay\nbr_netfilter\n") is None
    missing_newline = checks.content_mismatch(path, b"overlay\nbr_netfilter", "overlay\nbr_netfilter\n")
    assert "+br_netfilter\n\\ no newline at end" in missing_newline
    assert checks.content_mismatch(path, None, "x") == f"{path} does not exist"
    # a regex-looking expectation is compared literally (testinfra's contains() would grep it)
    assert checks.content_mismatch(path, b"a.b\n", "a*b\n") is not None


def test_assert_content_fails_with_the_diff():
    with pytest.raises(AssertionError, match=r"-overlay\n\+overlay "):
        checks.assert_content(FakeNode([Result(stdout="overlay \n")]), "/f", "overlay\n")
    checks.assert_content(FakeNode([Result(stdout="overlay\n")]), "/f", b"overlay\n")


def test_held_package():
    node = FakeNode([Result(stdout="hold ok installed\t1.32.3-1.1\n")])
    status = checks.package_status(node, "kubeadm")
    assert status == checks.PackageStatus("hold", "ok", "installed", "1.32.3-1.1")
    assert status.held and status.installed
    assert node.commands == [r"LC_ALL=C dpkg-query -W -f '${Status}\t${Version}\n' -- kubeadm"]


def test_installed_but_not_held_package():
    status = checks.package_status(FakeNode([Result(stdout="install ok installed\t1.32.3-1.1\n")]), "kubelet")
    assert status.installed and not status.held


def test_removed_package_with_config_files():
    status = checks.package_status(FakeNode([Result(stdout="deinstall ok config-files\t1.7.24~ds1-6\n")]), "x")
    assert not status.installed and not status.held


def test_unknown_package_is_none():
    node = FakeNode([Result(rc=1, stderr="dpkg-query: no packages found matching kubectl\n")])  # Debian 12
    assert checks.package_status(node, "kubectl") is None


def test_dpkg_query_failure_raises():
    with pytest.raises(RuntimeError, match="exited 2"):
        checks.package_status(FakeNode([Result(rc=2, stderr="dpkg-query: error: --show needs a package")]), "x")


@pytest.mark.parametrize("output", ["hold ok installed\n", "hold installed\t1\n", "a\tb\nc\td\n"])
def test_unexpected_dpkg_query_output_is_an_error(output):
    with pytest.raises(ValueError):
        checks.parse_package_status(output)
