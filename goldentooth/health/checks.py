"""Probes that avoid testinfra's known wrong answers (spec 99-verification.md §4).

Each probe runs one command through a testinfra host (or a `Node`) and parses its output exactly;
tests assert on the returned values. Arguments reach commands only as testinfra `%s` arguments,
which it quotes.
"""

from __future__ import annotations

import difflib
import ipaddress
import shlex
from dataclasses import dataclass
from typing import Any, Protocol

UNIT_SUFFIXES = frozenset(
    {"service", "socket", "timer", "mount", "automount", "target", "path", "slice", "scope", "swap", "device"}
)
UNIT_PROPERTIES = ("LoadState", "UnitFileState", "ActiveState", "SubState", "Result")
#: Exit status of `file_content`'s command when the path does not exist (cat itself exits 1).
_ABSENT = 3


class Runner(Protocol):
    """What the probes need of a host: testinfra's `run(command, *args)` (args are quoted)."""

    def run(self, command: str, *args: str) -> Any: ...


def _checked(node: Runner, command: str, *args: str) -> str:
    result = node.run(command, *args)
    if result.rc != 0:
        raise RuntimeError(f"{result.command!r} exited {result.rc}: {result.stderr.strip()}")
    return result.stdout


# systemd units (traps 1-4)


@dataclass(frozen=True)
class UnitState:
    """The systemd state of one unit as `systemctl show` reports it.

    `result` is None for unit types without a Result property (targets, slices, devices).
    """

    load_state: str
    unit_file_state: str
    active_state: str
    sub_state: str
    result: str | None = None

    @property
    def loaded(self) -> bool:
        return self.load_state == "loaded"

    @property
    def enabled(self) -> bool:
        """Enabled for real: `static`, `indirect`, `alias`, `generated`... are not (trap 1)."""
        return self.unit_file_state == "enabled"

    @property
    def active(self) -> bool:
        return self.active_state == "active"


def parse_unit_state(output: str) -> UnitState:
    """Parse `systemctl show -p LoadState,UnitFileState,ActiveState,SubState,Result UNIT` output.

    Key=Value lines are parsed by name: with `--value`, systemd prints the values in its own
    property order (not the order asked for) and leaves out properties the unit type lacks, so
    positional parsing of `--value` output silently swaps fields.
    """
    values: dict[str, str] = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if not sep or key not in UNIT_PROPERTIES:
            raise ValueError(f"unexpected systemctl show line: {line!r}")
        values[key] = value
    missing = [key for key in UNIT_PROPERTIES[:4] if key not in values]
    if missing:
        raise ValueError(f"systemctl show did not report {', '.join(missing)}: {output!r}")
    return UnitState(
        values["LoadState"],
        values["UnitFileState"],
        values["ActiveState"],
        values["SubState"],
        values.get("Result"),
    )


def unit_state(node: Runner, unit: str) -> UnitState:
    """The state of a unit given by its full name (`ssh.service`, `mnt-nfs.automount`).

    A name without a suffix is refused: systemd would fall back to SysV scripts (trap 3).
    `load_state == "not-found"` means the unit does not exist (trap 2's prefix match avoided).
    """
    if unit.rpartition(".")[2] not in UNIT_SUFFIXES:
        raise ValueError(f"{unit!r} is not a full unit name (expected a suffix such as .service)")
    properties = ",".join(UNIT_PROPERTIES)
    return parse_unit_state(_checked(node, f"systemctl show -p {properties} -- %s", unit))


# listening sockets (trap 7)


@dataclass(frozen=True)
class Listener:
    """One listening TCP socket: its exact local address (`0.0.0.0`, `::`, `*`, `10.4.0.10`).

    `*` is a dual-stack wildcard; `0.0.0.0` covers IPv4 only and `::` may be IPv6 only, so tests
    compare addresses exactly instead of asking whether an address is "covered".
    """

    address: str
    port: int
    interface: str | None = None


def parse_listeners(output: str) -> list[Listener]:
    """Parse `ss -Hltn` output (`LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:*`); unknown lines are errors."""
    listeners = []
    for line in output.splitlines():
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) < 5 or fields[0] != "LISTEN":
            raise ValueError(f"unexpected ss line: {line!r}")
        host, sep, port = fields[3].rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"unexpected local address in ss line: {line!r}")
        host = host.removeprefix("[").removesuffix("]")
        address, _, interface = host.partition("%")
        listeners.append(Listener(address, int(port), interface or None))
    return listeners


def listeners(node: Runner) -> list[Listener]:
    """Every listening TCP socket of the host, parsed from `ss -Hltn`."""
    return parse_listeners(_checked(node, "ss -Hltn"))


def addresses_on(sockets: list[Listener], port: int) -> set[str]:
    """The exact local addresses listening on a port (empty when nothing listens)."""
    return {socket.address for socket in sockets if socket.port == port}


def tcp_connect(node: Runner, address: str, port: int, timeout: int = 2) -> bool:
    """Whether the host can open a TCP connection to address:port within `timeout` seconds.

    A real connect from the host (bash's /dev/tcp), unlike `socket(...).is_listening`.
    """
    ip = ipaddress.ip_address(address)
    if not 0 < int(port) < 65536:
        raise ValueError(f"invalid TCP port {port!r}")
    script = f"exec 3<>/dev/tcp/{ip}/{int(port)}"
    return node.run("timeout %s bash -c %s", str(int(timeout)), script).rc == 0


# files (traps 9 and 12)


def file_content(node: Runner, path: str) -> bytes | None:
    """The exact bytes of a file (trailing newline kept), or None when it does not exist."""
    result = node.run(f"test -e %s || exit {_ABSENT}; cat -- %s", path, path)
    if result.rc == _ABSENT:
        return None
    if result.rc != 0:
        raise RuntimeError(f"cannot read {path}: {result.stderr.strip()}")
    return result.stdout_bytes


def content_mismatch(path: str, actual: bytes | None, expected: bytes | str) -> str | None:
    """None when the content is exactly as expected, else a readable unified diff (or 'absent')."""
    want = expected.encode() if isinstance(expected, str) else expected
    if actual == want:
        return None
    if actual is None:
        return f"{path} does not exist"
    diff = difflib.unified_diff(
        want.decode(errors="replace").splitlines(keepends=True),
        actual.decode(errors="replace").splitlines(keepends=True),
        f"{path} (expected)",
        f"{path} (on host)",
    )
    text = "".join(line if line.endswith("\n") else line + "\n\\ no newline at end\n" for line in diff)
    return text or f"{path} differs only in bytes that do not decode: {actual!r}"


def assert_content(node: Runner, path: str, expected: bytes | str) -> None:
    """Fail with a diff unless the file holds exactly `expected` (str is compared as UTF-8)."""
    problem = content_mismatch(path, file_content(node, path), expected)
    assert problem is None, problem


# packages (trap 11)


@dataclass(frozen=True)
class PackageStatus:
    """dpkg's selection and state of one package (`hold ok installed`, version)."""

    want: str
    error: str
    state: str
    version: str

    @property
    def installed(self) -> bool:
        return self.state == "installed"

    @property
    def held(self) -> bool:
        return self.want == "hold"


def parse_package_status(output: str) -> PackageStatus:
    """Parse one line of `dpkg-query -W -f '${Status}\\t${Version}\\n'`."""
    status, sep, version = output.rstrip("\n").partition("\t")
    words = status.split()
    if not sep or len(words) != 3 or "\n" in version:
        raise ValueError(f"unexpected dpkg-query output: {output!r}")
    return PackageStatus(*words, version)


def package_status(node: Runner, package: str) -> PackageStatus | None:
    """The dpkg status of a package, or None when dpkg has never heard of it."""
    fmt = shlex.quote(r"${Status}\t${Version}\n")
    result = node.run(f"LC_ALL=C dpkg-query -W -f {fmt} -- %s", package)
    if result.rc == 1 and "no packages found" in result.stderr:
        return None
    if result.rc != 0:
        raise RuntimeError(f"dpkg-query {package} exited {result.rc}: {result.stderr.strip()}")
    return parse_package_status(result.stdout)
