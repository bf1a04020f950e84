"""apt operations that pyinfra does not provide: holds, exact versions, blocked packages, signing keys."""

from __future__ import annotations

import re

import time

from pyinfra import host, logger
from pyinfra.api import OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import File

from facts.apt import HeldPackages, SigningKey, SourcesMentioning

PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$")


@operation()
def holds(packages: list[str], held: bool = True):
    """
    Hold (or release) apt packages so that upgrades leave them at their installed version.

    + packages: Debian package names
    + held: whether the packages should be held (``apt-mark hold``) or not (``apt-mark unhold``)

    The hold is checked on every run, whether or not anything else changed.

    **Examples:**

    .. code:: python

        apt.holds(
            name="Hold the Kubernetes packages at their pinned version",
            packages=["kubeadm", "kubelet", "kubectl"],
        )
    """
    _check_names("apt.holds", packages)

    current = set(host.get_fact(HeldPackages))
    to_change = [name for name in packages if (name in current) != held]
    state = "held" if held else "not held"
    if not to_change:
        host.noop(f"packages {', '.join(packages)} are {state}")
        return
    yield StringCommand("apt-mark", "hold" if held else "unhold", *(QuoteString(name) for name in to_change))


def _check_names(operation_name: str, packages) -> None:
    """Refuse an empty list or a name that is not a Debian package name (it reaches a command)."""
    if not packages:
        raise OperationError(f"{operation_name} needs at least one package name")
    invalid = [name for name in packages if not PACKAGE_NAME.match(name)]
    if invalid:
        raise OperationError(f"{operation_name}: invalid package name(s): {', '.join(invalid)}")


VERSION = re.compile(r"^[0-9][A-Za-z0-9.+~:-]*$")
#: Touched after each successful `apt-get update` run by apt.installed.
UPDATE_STAMP = "/var/lib/apt/periodic/goldentooth-update-success"
REFRESH_STALE_LISTS = (
    f"if ! find {UPDATE_STAMP} -mmin -60 2>/dev/null | grep -q .;"
    f" then apt-get update && mkdir -p /var/lib/apt/periodic && touch {UPDATE_STAMP}; fi"
)
APT_GET_INSTALL = (
    "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
    " -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
)


@operation()
def installed(packages: dict[str, str | None], frozen_if_exists: str | None = None):
    """
    Install apt packages, at an exact version where one is given.

    + packages: package name -> exact Debian version, or ``None`` for any version
    + frozen_if_exists: a path whose presence means versions may no longer change here (a joined
      Kubernetes node's ``/etc/kubernetes/kubelet.conf``): a package at another version then fails
      the host with a drift message instead of being changed

    Before anything is installed the package lists are refreshed (``apt-get update``) unless this
    operation refreshed them less than an hour ago; a host where everything is in place runs
    nothing. (Refresh the lists explicitly when a source or key changes.) Changing the
    version of a held package is allowed (``--allow-change-held-packages``); re-hold it with
    ``apt.holds``.

    **Examples:**

    .. code:: python

        apt.installed(
            name="Install kubeadm, kubelet and kubectl at the pinned version",
            packages={"kubeadm": "1.32.3-1.1", "kubelet": "1.32.3-1.1", "kubectl": "1.32.3-1.1"},
            frozen_if_exists="/etc/kubernetes/kubelet.conf",
        )
    """
    _check_names("apt.installed", list(packages))
    bad = [f"{name}={version}" for name, version in packages.items() if version and not VERSION.match(version)]
    if bad:
        raise OperationError(f"apt.installed: invalid version(s): {', '.join(bad)}")

    present = host.get_fact(DebPackages)
    missing = [name for name in packages if name not in present]
    drifted = {
        name: version for name, version in packages.items()
        if version and name in present and version not in present[name]
    }
    if drifted and frozen_if_exists and host.get_fact(File, path=frozen_if_exists):
        details = ", ".join(f"{name} installed {'/'.join(present[name])}, data {version}" for name, version in drifted.items())
        raise OperationError(f"version drift: {details} — run the upgrade operation")
    todo = [name for name in packages if name in missing or name in drifted]
    if not todo:
        host.noop(f"packages {', '.join(packages)} are installed")
        return
    yield REFRESH_STALE_LISTS
    specs = [QuoteString(f"{name}={packages[name]}" if packages[name] else name) for name in todo]
    extra = ["--allow-downgrades", "--allow-change-held-packages"] if drifted else []
    yield StringCommand(APT_GET_INSTALL, *extra, *specs)


@operation()
def not_installed(packages: list[str], reason: str):
    """
    Fail the host when any of the packages is installed (drift that an operator removes).

    + packages: package names that must not be installed
    + reason: why, for the error message

    Nothing is removed: removing software (Docker Engine, its data) is an explicit operator step.

    **Examples:**

    .. code:: python

        apt.not_installed(
            name="Check that no Docker Engine package is installed",
            packages=["docker-ce", "docker.io"],
            reason="Docker Engine breaks the cluster's containerd",
        )
    """
    _check_names("apt.not_installed", packages)
    present = host.get_fact(DebPackages)  # read once: one round trip for the whole list
    found = sorted(name for name in packages if name in present)
    if found:
        raise OperationError(f"installed but forbidden: {', '.join(found)} ({reason})")
    host.noop(f"none of {', '.join(packages)} is installed")
    yield from ()  # a check only: it never changes the host


KEY_WARN_SECONDS = 30 * 86400


def _usable(expiries: list[int | None], now: float) -> bool:
    """A key is usable while one of its signing keys is unexpired (unknown expiry counts as usable)."""
    return not expiries or any(expiry is None or expiry > now for expiry in expiries)


@operation()
def signing_key(url: str, path: str):
    """
    Keep an apt repository signing key in step with the key its repository publishes.

    + url: where the repository publishes its ASCII-armoured key (``.../Release.key``)
    + path: where apt reads it (``/etc/apt/keyrings/<name>.asc``, named by ``Signed-By``)

    The host downloads the published key each run and installs it when it differs from the stored
    one (a renewed key replaces an expired one: the original cluster's ``EXPKEYSIG`` failure). If
    the download fails the stored key is kept with a warning, unless it has expired or is missing:
    then the host fails, naming the key and the URL. A key expiring within 30 days is warned about.

    **Examples:**

    .. code:: python

        apt.signing_key(
            name="Refresh the Kubernetes repository key",
            url="https://pkgs.k8s.io/core:/stable:/v1.32/deb/Release.key",
            path="/etc/apt/keyrings/kubernetes.asc",
        )
    """
    if not url.startswith(("https://", "http://")):
        raise OperationError(f"apt.signing_key: url must be http(s), got {url!r}")
    if not path.startswith("/"):
        raise OperationError(f"apt.signing_key: path must be absolute, got {path!r}")
    state = host.get_fact(SigningKey, url=url, path=path)
    now = time.time()
    if state["available"] is None or state["available"] == state["installed"]:
        fresh = state["available"] is not None
        if state["installed"] is None or not _usable(state["installed_expiries"], now):
            problem = "is missing" if state["installed"] is None else "has expired"
            source = "offers no newer key" if fresh else "could not be downloaded"
            raise OperationError(f"signing key {path} {problem} and {url} {source}")
        if not fresh:
            logger.warning(f"{host.name}: could not download {url}; keeping the installed {path}")
        elif not _usable(state["installed_expiries"], now + KEY_WARN_SECONDS):
            logger.warning(f"{host.name}: signing key {path} from {url} expires within 30 days")
        host.noop(f"signing key {path} is current")
        return
    temporary = f"{path}.new"
    yield StringCommand(
        "curl", "-fsSL", "--max-time", "10", "-o", QuoteString(temporary), QuoteString(url),
        "&&", "grep", "-q", QuoteString("^-----BEGIN PGP PUBLIC KEY BLOCK-----"), QuoteString(temporary),
        "&&", "chmod", "0644", QuoteString(temporary),
        "&&", "mv", "-f", QuoteString(temporary), QuoteString(path),
    )


@operation()
def only_source(keep: str, mentions: list[str]):
    """
    Remove every apt source file that mentions one of ``mentions`` except ``keep``, so exactly
    one repository of that kind (one Kubernetes minor) is configured.

    + keep: the source file to keep (written by the deploy)
    + mentions: host names or URL fragments that identify the repository (``pkgs.k8s.io``)

    **Examples:**

    .. code:: python

        apt.only_source(
            name="Remove other and legacy Kubernetes apt sources",
            keep="/etc/apt/sources.list.d/kubernetes.sources",
            mentions=["pkgs.k8s.io", "apt.kubernetes.io", "packages.cloud.google.com"],
        )
    """
    if not mentions or any(not needle.strip() for needle in mentions):
        raise OperationError("apt.only_source needs non-empty strings to look for")
    extra = [path for path in host.get_fact(SourcesMentioning, needles=mentions) if path != keep]
    if not extra:
        host.noop(f"{keep} is the only source mentioning {', '.join(mentions)}")
        return
    yield StringCommand("rm", "-f", *(QuoteString(path) for path in extra))
