"""Lab stand-in packages: real .deb files with upstream names and versions, built with dpkg-deb.

No registry reachable from the lab serves Kubernetes, Docker or NVIDIA packages, so the lab builds
packages with the same names, versions, dependencies and file paths, whose programs are the test
doubles in goldentooth/lab/doubles. Apt's repository, pin, hold and upgrade logic then runs for real.
Each package carries its own copy of the doubles under /usr/lib/goldentooth-lab/<package>/ (dpkg
forbids two packages owning one file) and a /usr/bin launcher.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

DOUBLES_DIR = Path(__file__).parent / "doubles"
LIB_ROOT = "/usr/lib/goldentooth-lab"
MAINTAINER = "goldentooth lab <lab@goldentooth.invalid>"

#: The Kubernetes stand-ins per pkgs.k8s.io minor repository: (kubernetes versions, cri-tools, cni).
KUBERNETES_RELEASES = {
    "1.32": (("1.32.3", "1.32.7"), "1.32.0", "1.6.0"),
    "1.33": (("1.33.2",), "1.33.0", "1.6.0"),
}
KUBERNETES_REVISION = "1.1"
NVIDIA_TOOLKIT_VERSION = "1.17.8-1"
DOCKER_VERSION = "5:28.3.2-1~debian.12~bookworm"


@dataclass(frozen=True)
class StandIn:
    """One stand-in package: control fields, plain files and double launchers."""

    name: str
    version: str
    section: str
    description: str
    depends: tuple[str, ...] = ()
    recommends: tuple[str, ...] = ()
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> (content, mode)
    conffiles: tuple[str, ...] = ()
    launchers: dict[str, str] = field(default_factory=dict)  # /usr/bin path -> doubles module

    def control(self, arch: str, installed_kib: int) -> str:
        lines = [
            f"Package: {self.name}",
            f"Version: {self.version}",
            f"Architecture: {arch}",
            f"Maintainer: {MAINTAINER}",
            f"Installed-Size: {installed_kib}",
        ]
        if self.depends:
            lines.append("Depends: " + ", ".join(self.depends))
        if self.recommends:
            lines.append("Recommends: " + ", ".join(self.recommends))
        lines += [f"Section: {self.section}", "Priority: optional",
                  f"Description: {self.description}",
                  " Lab stand-in built by goldentooth: same name, version and files as upstream,",
                  " with test doubles in place of the real programs. Never install outside the lab."]
        return "\n".join(lines) + "\n"


def launcher(package: str, module: str, version: str, lib_root: str = LIB_ROOT) -> str:
    """The /usr/bin script that runs a double from the package's private library directory."""
    return (
        "#!/usr/bin/python3\n"
        f'"""{module} lab double from the goldentooth stand-in package {package} {version}."""\n'
        "import sys\n"
        f"sys.path.insert(0, {f'{lib_root}/{package}'!r})\n"
        f"from doubles import {module}\n"
        f"sys.exit({module}.main(sys.argv[1:], version={version!r}))\n"
    )


def doubles_sources() -> list[Path]:
    """Every file of the doubles package, in a stable order."""
    return sorted(path for path in DOUBLES_DIR.rglob("*") if path.is_file() and "__pycache__" not in path.parts)


def sources_digest() -> str:
    """sha256 over this module, the catalog and the doubles: the stand-ins are rebuilt when it changes."""
    digest = hashlib.sha256()
    for path in [Path(__file__), Path(__file__).with_name("catalog.py"), *doubles_sources()]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_deb(package: StandIn, arch: str, out_dir: Path) -> Path:
    """Build ``package`` for ``arch`` into ``out_dir`` and return the .deb path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="standin-") as staging:
        root = Path(staging)
        root.chmod(0o755)
        for path, (content, mode) in package.files.items():
            _write(root, path, content, mode)
        if package.launchers:
            library = root / f"{LIB_ROOT}/{package.name}/doubles".lstrip("/")
            for source in doubles_sources():
                target = library / source.relative_to(DOUBLES_DIR)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            upstream_version = package.version.split(":")[-1].split("-")[0]
            for path, module in package.launchers.items():
                _write(root, path, launcher(package.name, module, upstream_version), 0o755)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        debian = root / "DEBIAN"
        debian.mkdir()
        (debian / "control").write_text(package.control(arch, max(1, size // 1024)))
        if package.conffiles:
            (debian / "conffiles").write_text("".join(f"{path}\n" for path in package.conffiles))
        filename = f"{package.name}_{package.version.split(':')[-1]}_{arch}.deb"
        target = out_dir / filename
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(target)],
                       check=True, capture_output=True)
    return target


def _write(root: Path, path: str, content: str, mode: int) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    target.chmod(mode)
