"""The lab apt repository: a directory tree that the lab serves over HTTP on its gateway.

Paths below the tree root mirror the upstream repositories, so deploys use the same relative
paths and only the base URL changes (see ``apt_data``):

    debian/                                  Debian bookworm (dists/bookworm/main), downloaded
    kubernetes/core:/stable:/v1.32/deb/      pkgs.k8s.io-style flat repositories with stand-ins
    kubernetes/core:/stable:/v1.33/deb/
    docker/linux/debian/                     Docker's layout (dists/bookworm/stable) with fixtures
    nvidia-container-toolkit/libnvidia-container/stable/deb/<arch>/   NVIDIA's flat layout
    lab-archive-key.asc                      the lab signing key (also at each upstream key path)

Each part is rebuilt only when its inputs change: the Debian part on the package list and mirror,
the stand-ins on the hash of their sources; both on the signing key. The served tree links them.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
STANDIN_ROOTS = ("kubernetes", "docker", "nvidia-container-toolkit")

PRUNE_DAYS = 14

Progress = Callable[[str], None]


def debian_packages(package_list: Path = PACKAGE_LIST) -> list[str]:
    """The Debian packages the lab repository holds: the list file plus what the stand-ins need."""
    return sorted(set(read_package_list(package_list)) | catalog.debian_dependencies())


def build_repository(cache_dir: Path, arch: str, *, package_list: Path = PACKAGE_LIST,
                     sources: str | None = None, progress: Progress = lambda message: None) -> Path:
    """Build (or reuse) the repository tree for ``arch`` under ``cache_dir``; return its root.

    Parts and trees are immutable and named by the digest of their inputs, so several labs on one
    machine (each possibly with its own package list) can serve their trees while another builds.
    Builders take a lock on the cache; parts unused for PRUNE_DAYS are removed.
    """
    cache_dir = cache_dir.resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / "repository.lock"):
        key = LabKey.ensure(cache_dir)
        packages = debian_packages(package_list)
        apt_sources = sources if sources is not None else sources_text()
        parts = cache_dir / "parts"
        debian = _part(parts / f"debian-{arch}-{_digest(arch, key.fingerprint, apt_sources, *packages)}",
                       lambda target: _build_debian(target, cache_dir / f"apt-{arch}", arch, packages, apt_sources,
                                                    key, progress), progress, "Debian packages")
        stand_ins = _part(parts / f"standins-{arch}-{_digest(arch, key.fingerprint, standins.sources_digest())}",
                          lambda target: build_standins(target, arch, key), progress, "stand-in packages")
        tree = cache_dir / "repository" / f"{arch}-{_digest(debian.name, stand_ins.name)}"

        def assemble(target: Path) -> None:
            (target / KEY_FILE).write_text(key.public_armoured())
            links = {"debian": debian, **{name: stand_ins / name for name in STANDIN_ROOTS}}
            for name, source in links.items():  # relative: the cache directory may be moved or mounted
                (target / name).symlink_to(os.path.relpath(source, tree))

        _part(tree, assemble, progress, "repository tree")
        _prune([parts, cache_dir / "repository"], keep={debian, stand_ins, tree})
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


def _part(target: Path, build: Callable[[Path], None], progress: Progress, what: str) -> Path:
    """``target`` as built by ``build`` (into a staging directory, then renamed), or as cached."""
    if target.is_dir():
        progress(f"{what}: cached")
        os.utime(target)
        return target
    progress(f"{what}: building")
    staging = target.with_name(f".{target.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    build(staging)
    staging.rename(target)
    return target


def _prune(directories: list[Path], keep: set[Path]) -> None:
    """Remove parts and trees not used by any build for PRUNE_DAYS."""
    horizon = time.time() - PRUNE_DAYS * 86400
    for directory in directories:
        for entry in directory.iterdir():
            if entry not in keep and not entry.name.startswith(".") and entry.stat().st_mtime < horizon:
                shutil.rmtree(entry)


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]
