"""Apt repository indexes for the lab: Packages, Release, and their signatures.

A repository is "flat" (``Suites: /``, like pkgs.k8s.io and NVIDIA's repository: Packages and
Release at its root) or "dists-style" (like Debian and Docker: ``dists/<suite>/<component>/
binary-<arch>/Packages``). Packages lists come from dpkg-scanpackages; Release files are written
here with their checksums and signed with the lab key (InRelease and Release.gpg), so apt on the
nodes verifies signatures exactly as against the upstream repositories.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .signing import LabKey


@dataclass(frozen=True)
class ReleaseInfo:
    """The descriptive fields of one Release file."""

    origin: str
    label: str
    suite: str
    codename: str = ""
    description: str = ""


def scan_packages(repo_root: Path, pool: str, arch: str) -> bytes:
    """The Packages index of every .deb under ``repo_root/pool`` for ``arch`` (and ``all``).

    Filename fields are relative to ``repo_root``, as apt resolves them against the repository URI.
    """
    result = subprocess.run(
        ["dpkg-scanpackages", "--multiversion", "--arch", arch, pool, "/dev/null"],
        cwd=repo_root,
        capture_output=True,
        check=True,
    )
    return result.stdout


def write_packages(index_dir: Path, content: bytes) -> list[Path]:
    """Write Packages and Packages.gz (deterministic gzip) into ``index_dir``."""
    index_dir.mkdir(parents=True, exist_ok=True)
    plain = index_dir / "Packages"
    plain.write_bytes(content)
    packed = index_dir / "Packages.gz"
    packed.write_bytes(gzip.compress(content, mtime=0))
    return [plain, packed]


def release_text(base: Path, files: list[Path], arch: str, info: ReleaseInfo, component: str = "") -> str:
    """A Release file listing ``files`` (relative to ``base``) with their sizes and checksums."""
    date = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S UTC")
    lines = [f"Origin: {info.origin}", f"Label: {info.label}", f"Suite: {info.suite}"]
    if info.codename:
        lines.append(f"Codename: {info.codename}")
    lines += [f"Date: {date}", f"Architectures: {arch}"]
    if component:
        lines.append(f"Components: {component}")
    if info.description:
        lines.append(f"Description: {info.description}")
    for field, algorithm in (("MD5Sum", "md5"), ("SHA256", "sha256")):
        lines.append(f"{field}:")
        for path in sorted(files):
            data = path.read_bytes()
            digest = hashlib.new(algorithm, data).hexdigest()
            lines.append(f" {digest} {len(data):>16} {path.relative_to(base).as_posix()}")
    return "\n".join(lines) + "\n"


def sign_release(release_dir: Path, text: str, key: LabKey) -> None:
    """Write Release, InRelease (clearsigned) and Release.gpg (detached, armoured)."""
    release = release_dir / "Release"
    release.write_text(text)
    key.sign(release, release_dir / "InRelease", clear=True)
    key.sign(release, release_dir / "Release.gpg", clear=False)


def index_flat(repo_root: Path, arch: str, info: ReleaseInfo, key: LabKey) -> None:
    """Index a flat repository whose .debs lie anywhere below ``repo_root``."""
    files = write_packages(repo_root, scan_packages(repo_root, ".", arch))
    sign_release(repo_root, release_text(repo_root, files, arch, info), key)


def index_dists(repo_root: Path, suite: str, component: str, arch: str, info: ReleaseInfo, key: LabKey) -> None:
    """Index a dists-style repository whose .debs lie under ``repo_root/pool/<component>``."""
    suite_dir = repo_root / "dists" / suite
    content = scan_packages(repo_root, f"pool/{component}", arch)
    files = write_packages(suite_dir / component / f"binary-{arch}", content)
    sign_release(suite_dir, release_text(suite_dir, files, arch, info, component), key)
