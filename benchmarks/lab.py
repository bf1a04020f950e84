"""Time the lab: base image build (cold and cached) and `lab up` / `lab down` for 3 and 13 nodes.

Run as root on Linux: `.venv/bin/python benchmarks/lab.py [--skip-cold]`. The cold build uses a
scratch cache (downloads included) that is removed afterwards; the lab runs use the machine's
image cache and a scratch state directory, without a package repository (--no-repo), so they time
the runtime alone. A benchmark, not a test: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDENTOOTH = str(Path(sys.executable).with_name("goldentooth"))
THREE = "allyrion,bettley,cargyll"


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    result = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{result.stderr}")
    return elapsed


def image_build(cache: Path) -> float:
    """Seconds for ensure_image() in a process whose image cache is `cache`."""
    code = "from goldentooth.lab import image; image.ensure_image(lambda message: None)"
    return timed([sys.executable, "-c", code], {**os.environ, "GOLDENTOOTH_LAB_CACHE": str(cache)})


def lab_cycle(hosts: str | None, state: Path) -> tuple[float, float]:
    env = {**os.environ, "GOLDENTOOTH_LAB_DIR": str(state), "GOLDENTOOTH_LAB_NAME": f"bench{os.getpid() % 10000}"}
    selection = ["--hosts", hosts] if hosts else []
    up = timed([GOLDENTOOTH, "-i", str(ROOT / "inventory.py"), "lab", "up", "--no-repo", *selection], env)
    down = timed([GOLDENTOOTH, "lab", "down"], env)
    return up, down


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold", action="store_true", help="do not time a cold image build")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("the lab benchmark needs root")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    if not args.skip_cold:
        scratch = Path(tempfile.mkdtemp(prefix="goldentooth-lab-bench-cache-", dir="/var/tmp"))
        try:
            print(f"image build, cold (download + debootstrap): {image_build(scratch):6.1f} s")
            print(f"image build, cached:                         {image_build(scratch):6.1f} s")
        finally:
            shutil.rmtree(scratch)
    print(f"image (machine cache) ready:                 {image_build(Path('/var/cache/goldentooth/lab')):6.1f} s")
    state = Path(tempfile.mkdtemp(prefix="goldentooth-lab-bench-", dir="/var/tmp"))
    try:
        for label, hosts in (("3 nodes", THREE), ("13 nodes", None)):
            up, down = lab_cycle(hosts, state)
            print(f"lab up {label:<9} {up:6.1f} s    lab down {down:5.1f} s")
    finally:
        shutil.rmtree(state, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
