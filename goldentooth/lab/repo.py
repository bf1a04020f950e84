"""The lab apt repository: a directory tree that the lab serves over HTTP on its gateway.

Paths below the tree root mirror the upstream repositories, so deploys use the same relative
paths and only the base URL changes (see ``apt_data``):

    debian/                                  Debian bookworm (dists/bookworm/main), downloaded
    kubernetes/core:/stable:/v1.32/deb/      pkgs.k8s.io-style flat repositories with stand-ins
    kubernetes/core:/stable:/v1.33/deb/
    docker/linux/debian/                     Docker's layout (dists/bookworm/stable) with fixtures
    nvidia-container-toolkit/libnvidia-container/stable/deb/<arch>/   NVIDIA's flat layout
    lab-archive-key.asc                      the lab signing key (also at each upstream key path)

Each part is rebuilt only when its inputs change: the Debian part on the package list, the
stand-ins on the hash of their sources; both on the signing key.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from . import apt_index, catalog, standins
from .apt_index import ReleaseInfo
from .debian_mirror import ThrowawayApt, read_package_list, sources_text
from .signing import LabKey

PACKAGE_LIST = Path(__file__).with_name("packages.txt")
KEY_FILE = "lab-archive-key.asc"
KUBERNETES_ROOT = "kubernetes/core:/stable:"
DOCKER_ROOT = "docker/linux/debian"
NVIDIA_ROOT = "nvidia-container-toolkit/libnvidia-container"

Progress = Callable[[str], None]


def debian_packages(package_list: Path = PACKAGE_LIST) -> list[str]:
    """The Debian packages the lab repository holds: the list file plus what the stand-ins need."""
    return sorted(set(read_package_list(package_list)) | catalog.debian_dependencies())


def build_repository(cache_dir: Path, arch: str, *, package_list: Path = PACKAGE_LIST,
                     sources: str | None = None, progress: Progress = lambda message: None) -> Path:
    """Build (or reuse) the repository tree for ``arch`` under ``cache_dir``; return its root."""
    key = LabKey.ensure(cache_dir)
    tree = cache_dir / "repository" / arch
    tree.mkdir(parents=True, exist_ok=True)
    (tree / KEY_FILE).write_text(key.public_armoured())
    packages = debian_packages(package_list)
    apt_sources = sources if sources is not None else sources_text()
    _rebuild_if_changed(
        tree / "debian", _digest(arch, key.fingerprint, apt_sources, *packages),
        lambda target: _build_debian(target, cache_dir / f"apt-{arch}", arch, packages, apt_sources, key, progress),
        progress, "Debian packages")
    _rebuild_if_changed(
        tree / "standins", _digest(arch, key.fingerprint, standins.sources_digest()),
        lambda target: build_standins(target, arch, key), progress, "stand-in packages")
    for name in ("kubernetes", "docker", "nvidia-container-toolkit"):
        link = tree / name
        if not link.is_symlink():
            link.symlink_to(Path("standins") / name)
    return tree


def build_standins(root: Path, arch: str, key: LabKey) -> None:
    """The Kubernetes, Docker and NVIDIA stand-in repositories under ``root``."""
    armoured = key.public_armoured()
    for minor in standins.KUBERNETES_RELEASES:
        repo = root / f"{KUBERNETES_ROOT}/v{minor}/deb"
        for package in catalog.kubernetes_packages(minor):
            standins.build_deb(package, arch, repo / arch)
        (repo / "Release.key").write_text(armoured)
        label = f"isv:kubernetes:core:stable:v{minor}"
        apt_index.index_flat(repo, arch, ReleaseInfo(f"obs://build.opensuse.org/{label}/deb", label, "./"), key)
    docker = root / DOCKER_ROOT
    for package in catalog.docker_packages():
        standins.build_deb(package, arch, docker / f"pool/stable/{arch}")
    (docker / "gpg").write_text(armoured)
    apt_index.index_dists(docker, "bookworm", "stable", arch, ReleaseInfo("Docker", "Docker CE", "bookworm", "bookworm"), key)
    nvidia = root / NVIDIA_ROOT
    flat = nvidia / f"stable/deb/{arch}"
    for package in catalog.nvidia_packages():
        standins.build_deb(package, arch, flat)
    (nvidia / "gpgkey").write_text(armoured)
    apt_index.index_flat(flat, arch, ReleaseInfo("https://nvidia.github.io/libnvidia-container/stable/deb/",
                                                 "NVIDIA CORPORATION", "./"), key)


def apt_data(base_url: str) -> dict[str, str]:
    """Inventory data keys that point the nodes' apt sources at a served repository tree."""
    base = base_url.rstrip("/")
    return {
        "debian_apt_url": f"{base}/debian",
        "kubernetes_apt_base": f"{base}/{KUBERNETES_ROOT}",
        "docker_apt_url": f"{base}/{DOCKER_ROOT}",
        "docker_apt_key_url": f"{base}/{DOCKER_ROOT}/gpg",
        "nvidia_container_toolkit_apt_url": f"{base}/{NVIDIA_ROOT}/stable/deb",
        "nvidia_container_toolkit_apt_key_url": f"{base}/{NVIDIA_ROOT}/gpgkey",
    }


def _build_debian(target: Path, workdir: Path, arch: str, packages: list[str], sources: str,
                  key: LabKey, progress: Progress) -> None:
    apt = ThrowawayApt(workdir, arch, sources)
    for stale in (workdir / "cache/archives").glob("*.deb"):
        stale.unlink()
    progress(f"downloading {len(packages)} Debian packages with their dependencies ({arch})")
    debs = apt.download_closure(packages)
    pool = target / "pool/main"
    pool.mkdir(parents=True)
    for deb in debs:
        shutil.copyfile(deb, pool / deb.name)
    (target / KEY_FILE).write_text(key.public_armoured())
    progress(f"indexing {len(debs)} Debian packages")
    apt_index.index_dists(target, "bookworm", "main", arch,
                          ReleaseInfo("Debian", "Debian", "stable", "bookworm", "Debian 12 (lab copy)"), key)


def _rebuild_if_changed(target: Path, digest: str, build: Callable[[Path], None],
                        progress: Progress, what: str) -> None:
    """Run ``build`` into a fresh directory and swap it in, unless ``target`` was built from ``digest``."""
    stamp = target.with_name(f".{target.name}.inputs")
    if target.is_dir() and stamp.exists() and stamp.read_text().strip() == digest:
        progress(f"{what}: cached")
        return
    progress(f"{what}: building")
    staging = target.with_name(f".{target.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    build(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    stamp.write_text(digest + "\n")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
