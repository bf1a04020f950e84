"""What every benchmark shares: wall-clock timing, result lines, the lab's lifecycle, deploy runs.

Numbers are printed as `name  seconds  key=value ...` lines and, when $GOLDENTOOTH_BENCH_JSON
names a file, appended to it as JSON lines, so BENCHMARKS.md can be filled from real runs.
Benchmarks never assert: they measure and report.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from goldentooth import PROJECT_ROOT
from goldentooth.health.node import connect
from goldentooth.inventory import load_inventory
from goldentooth.pyinfra_run import RunReport, deploy_file, run_json

GOLDENTOOTH = [sys.executable, "-c", "from goldentooth.cli import main; main()"]
LAB_INVENTORY = PROJECT_ROOT / ".lab" / "inventory.py"
#: Units whose start times prove that a no-op run restarted nothing (those absent on a host are ignored).
WATCHED_UNITS = ("ssh.service", "haproxy.service", "containerd.service", "kubelet.service", "chrony.service")


@dataclass
class Sample:
    """One measurement: what, how long, the facts that qualify it (changes, hosts...) and details
    worth reading when a number is off (changed operations, failed checks)."""

    name: str
    seconds: float
    fields: dict[str, Any] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    def line(self) -> str:
        extra = " ".join(
            f"{key}={value!r}" if isinstance(value, str) and " " in value else f"{key}={value}"
            for key, value in self.fields.items()
        )
        return f"{self.name:<34} {self.seconds:8.2f} s  {extra}".rstrip()


def emit(sample: Sample) -> Sample:
    """Print a sample and append it to $GOLDENTOOTH_BENCH_JSON if set."""
    print(sample.line(), flush=True)
    for detail in sample.details:
        print(f"    {detail}", flush=True)
    target = os.environ.get("GOLDENTOOTH_BENCH_JSON")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"name": sample.name, "seconds": round(sample.seconds, 3), **sample.fields}) + "\n")
    return sample


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as elapsed:` ... `elapsed[0]` holds the wall-clock seconds afterwards."""
    elapsed = [0.0]
    started = time.monotonic()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.monotonic() - started


def machine() -> str:
    """The controller the numbers were taken on, with its load average (other work skews them)."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} CPUs, {memory_kib / 2**20:.0f} GiB, Linux {platform.release()}, load {load}"


def goldentooth(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the goldentooth CLI from the project root (output shown)."""
    return subprocess.run([*GOLDENTOOTH, *args], cwd=PROJECT_ROOT, check=check)


@contextmanager
def lab(hosts: Sequence[str] | None = None, repository: bool = True) -> Iterator[Path]:
    """A fresh lab (this worktree's) with these hosts (all by default), always taken down afterwards.

    Without `repository` the nodes get no package repository (enough for checks, not for deploys).
    """
    goldentooth("lab", "down")
    try:
        selection = ["--hosts", ",".join(hosts)] if hosts else []
        goldentooth("lab", "up", *selection, *([] if repository else ["--no-repo"]))
        yield LAB_INVENTORY
    finally:
        goldentooth("lab", "down", check=False)


def deploy(inventory: Path, name: str, *extra: str) -> tuple[float, RunReport]:
    """Run deploys/<name>.py with --json (add "--dry" for a plan); (seconds, per-host report)."""
    with stopwatch() as elapsed:
        report = run_json(inventory, deploy_file(name), *extra)
    return elapsed[0], report


def changed_operations(report: RunReport) -> list[str]:
    """`host: operation` for every operation that changed (or would change) something."""
    return [f"{host}: {op}" for host, ops in sorted(report.changed.items()) for op in ops]


def report_fields(report: RunReport) -> dict[str, Any]:
    return {
        "changes": report.change_count,
        "hosts_changed": len([host for host, ops in report.changed.items() if ops]),
        "failed_hosts": ",".join(report.failed_hosts) or "none",
    }


def health_suite(inventory: Path, name: str, *args: str) -> Sample:
    """Time `goldentooth -i INVENTORY test` as a user runs it; its last summary line qualifies it."""
    with stopwatch() as elapsed:
        done = subprocess.run([*GOLDENTOOTH, "-i", str(inventory), "test", *args], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    after = lines[lines.index("failures:") + 1 :] if "failures:" in lines else []
    details = [line.strip() for line in itertools.takewhile(str.strip, after)]
    return Sample(name, elapsed[0], {"exit": done.returncode, "result": lines[-1] if lines else "no summary"}, details)


def close_ssh_connections(inventory: Path) -> None:
    """End the shared SSH connections to every host, so the next run starts cold."""
    cluster = load_inventory(inventory)
    for name in cluster.hosts:
        config = str(cluster.host(name).get("ssh_config_file") or "")
        subprocess.run(["ssh", *(["-F", config] if config else []), "-O", "exit", name],
                       capture_output=True, check=False)


def unit_starts(inventory: Path) -> dict[tuple[str, str], str]:
    """(host, unit) -> start timestamps of the watched units that run, one SSH command per host.

    Units that are not active (absent, or crash-looping like the lab's kubelet, which cannot run
    in a container) are left out: their start times move without anyone restarting them.
    """
    cluster = load_inventory(inventory)
    starts: dict[tuple[str, str], str] = {}
    properties = "LoadState,ActiveState,ExecMainStartTimestampMonotonic,ActiveEnterTimestampMonotonic"
    for name in cluster.hosts:
        output = connect(cluster, name).check_output(
            f"systemctl show -p {properties} -- " + " ".join(["%s"] * len(WATCHED_UNITS)), *WATCHED_UNITS
        )
        for unit, block in zip(WATCHED_UNITS, output.split("\n\n")):
            if "ActiveState=active" in block.split():
                starts[(name, unit)] = " ".join(sorted(block.split()))
    return starts
