"""Download Debian bookworm packages with their whole dependency closure, on the controller.

apt runs with a throwaway configuration: its own sources (bookworm, bookworm-updates,
bookworm-security), its own lists and cache, and an empty dpkg status, so dependencies are
resolved against a clean package set rather than against the controller's installed packages.
The closure is therefore a superset of what any lab node (debootstrap minbase plus systemd,
openssh-server, python3, sudo, iproute2) may need; Recommends are included because apt on the
nodes installs them by default.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
ARCHIVE_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def read_package_list(path: Path) -> list[str]:
    """Package names from a list file: one per line, '#' starts a comment, blanks ignored."""
    names = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return sorted({name for name in names if name})


def sources_text(mirror: str = DEFAULT_MIRROR, security_mirror: str = DEFAULT_SECURITY_MIRROR) -> str:
    """deb822 sources for bookworm with its updates and security suites."""
    return (
        f"Types: deb\nURIs: {mirror}\nSuites: bookworm bookworm-updates\nComponents: main\n"
        f"Signed-By: {ARCHIVE_KEYRING}\n\n"
        f"Types: deb\nURIs: {security_mirror}\nSuites: bookworm-security\nComponents: main\n"
        f"Signed-By: {ARCHIVE_KEYRING}\n"
    )


class ThrowawayApt:
    """apt-get confined to ``workdir``: its own sources, lists, cache and empty dpkg status."""

    def __init__(self, workdir: Path, arch: str, sources: str):
        self.workdir = workdir
        self.arch = arch
        for sub in ("etc/sources.list.d", "etc/preferences.d", "lists/partial", "cache/archives/partial", "dpkg"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        (workdir / "etc/sources.list.d/debian.sources").write_text(sources)
        (workdir / "dpkg/status").write_text("")

    def options(self) -> list[str]:
        w = self.workdir
        settings = {
            "Dir::Etc::SourceList": "/dev/null",
            "Dir::Etc::SourceParts": w / "etc/sources.list.d",
            "Dir::Etc::Preferences": "/dev/null",
            "Dir::Etc::PreferencesParts": w / "etc/preferences.d",
            "Dir::State": w,
            "Dir::State::Lists": w / "lists",
            "Dir::State::status": w / "dpkg/status",
            "Dir::Cache": w / "cache",
            "Dir::Cache::archives": w / "cache/archives",
            "APT::Architecture": self.arch,
            "APT::Architectures": self.arch,
            "APT::Install-Recommends": "true",
            "APT::Get::List-Cleanup": "false",
            "Debug::NoLocking": "true",
            "Acquire::Languages": "none",
        }
        return [arg for key, value in settings.items() for arg in ("-o", f"{key}={value}")]

    def run(self, *args: str) -> None:
        command = ["apt-get", "-q", *self.options(), *args]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"apt-get {' '.join(args)} failed:\n{result.stderr.strip() or result.stdout.strip()}")

    def download_closure(self, packages: list[str]) -> list[Path]:
        """Fetch ``packages`` and everything they need; return the downloaded .deb files."""
        self.run("update")
        self.run("install", "--download-only", "--yes", *packages)
        return sorted((self.workdir / "cache/archives").glob("*.deb"))
