"""The lab's base image: a Debian root built by debootstrap, cached and shared read-only by all nodes.

The image is keyed on everything that shapes it (suite, architecture, mirror, package list and
the recipe version below), so it is rebuilt only when one of them changes. Concurrent builds of
the same image (two labs starting at once) wait for each other on a lock file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from .command import run
from .errors import LabError

CACHE_DIR = Path(os.environ.get("GOLDENTOOTH_LAB_CACHE", "/var/cache/goldentooth/lab"))
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
#: Packages of the base image: a bootable systemd with sshd, plus what deploys expect on a node.
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "sudo", "iproute2",
    "ca-certificates", "curl", "gnupg", "procps", "kmod", "iputils-ping", "less",
)
#: Bump when the customisation in `_customise` changes, so cached images are rebuilt.
RECIPE_VERSION = 1
#: Timers that would take the dpkg lock behind a deploy's back (nodes have no upstream anyway).
MASKED_UNITS = ("apt-daily.timer", "apt-daily-upgrade.timer")

Progress = Callable[[str], None]


def controller_arch() -> str:
    """The Debian architecture of this machine (nodes run natively, e.g. amd64)."""
    return run(["dpkg", "--print-architecture"]).stdout.strip()


def mirror() -> str:
    """The Debian mirror debootstrap downloads from ($GOLDENTOOTH_LAB_MIRROR overrides)."""
    return os.environ.get("GOLDENTOOTH_LAB_MIRROR", DEFAULT_MIRROR)


def image_key(arch: str, source: str) -> str:
    """A short hash of everything that shapes the image."""
    recipe = {"suite": SUITE, "arch": arch, "mirror": source, "packages": sorted(PACKAGES), "recipe": RECIPE_VERSION}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def image_dir(arch: str | None = None) -> Path:
    """Where the image for the current recipe lives (its root is `<dir>/root`)."""
    arch = arch or controller_arch()
    return CACHE_DIR / "images" / f"{SUITE}-{arch}-{image_key(arch, mirror())}"


def is_built(directory: Path) -> bool:
    return (directory / "complete").is_file() and (directory / "root" / "sbin" / "init").exists()


def ensure_image(progress: Progress, arch: str | None = None) -> Path:
    """Return the root of the cached base image, building it first if the recipe changed."""
    directory = image_dir(arch)
    if is_built(directory):
        return directory / "root"
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f"{directory.name}.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_built(directory):
            build(directory, arch or controller_arch(), progress)
    return directory / "root"


def build(directory: Path, arch: str, progress: Progress) -> None:
    """debootstrap a fresh root into a scratch directory, customise it, then move it into place."""
    if shutil.which("debootstrap") is None:
        raise LabError("debootstrap is not installed: run `goldentooth lab prerequisites --install`")
    scratch = directory.with_name(directory.name + ".building")
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(directory, ignore_errors=True)
    (scratch / "root").mkdir(parents=True)
    debs = CACHE_DIR / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    progress(f"building the base image ({SUITE}, {arch}, {len(PACKAGES)} packages) into {directory}")
    started = time.monotonic()
    argv = [
        "debootstrap", "--variant=minbase", f"--arch={arch}", f"--include={','.join(PACKAGES)}",
        f"--cache-dir={debs}", SUITE, str(scratch / "root"), mirror(),
    ]
    _debootstrap(argv, scratch / "debootstrap.log", progress)
    _customise(scratch / "root")
    (scratch / "complete").write_text(json.dumps({"packages": list(PACKAGES), "built": time.time()}) + "\n")
    scratch.rename(directory)
    progress(f"base image ready in {time.monotonic() - started:.0f}s")


def _debootstrap(argv: list[str], log_path: Path, progress: Progress) -> None:
    """Run debootstrap, reporting each phase (retrieving, unpacking, configuring ...) and every 25th step."""
    counts: dict[str, int] = {}
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   stdin=subprocess.DEVNULL)
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if line.startswith("I: "):
                verb = line[3:].split(" ", 1)[0]
                counts[verb] = counts.get(verb, 0) + 1
                if counts[verb] == 1 or counts[verb] % 25 == 0:
                    progress(f"  debootstrap: {line[3:].strip()} ({verb.lower()} #{counts[verb]})")
        if process.wait() != 0:
            tail = "".join(log_path.read_text(encoding="utf-8").splitlines(keepends=True)[-15:])
            raise LabError(f"debootstrap failed (exit {process.returncode}); log {log_path}:\n{tail}")


def _customise(root: Path) -> None:
    """Make the root a template: no identity of its own, no timers that fight deploys."""
    for key in (root / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc" / "machine-id").write_text("")
    (root / "var" / "lib" / "dbus" / "machine-id").unlink(missing_ok=True)
    systemd = root / "etc" / "systemd" / "system"
    for unit in MASKED_UNITS:
        (systemd / unit).unlink(missing_ok=True)
        (systemd / unit).symlink_to("/dev/null")
    shutil.rmtree(root / "var" / "lib" / "apt" / "lists", ignore_errors=True)
    (root / "var" / "lib" / "apt" / "lists" / "partial").mkdir(parents=True)

