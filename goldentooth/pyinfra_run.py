"""Run pyinfra as a subprocess against an inventory and read its JSON report.

The CLI drives pyinfra through its own command line so that a goldentooth run is exactly what a
user gets from `pyinfra inventory.py deploys/<name>.py`; the JSON output (pyinfra 3.10 `--json`)
gives per-operation, per-host results for summaries and idempotency checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import PROJECT_ROOT
from .errors import GoldentoothError

DEPLOYS_DIR = PROJECT_ROOT / "deploys"


def deploy_names() -> list[str]:
    """Deploy entry files a user can name (deploys/<name>.py with a module docstring)."""
    return sorted(path.stem for path in DEPLOYS_DIR.glob("*.py") if not path.stem.startswith("_"))


def deploy_file(name: str) -> Path:
    path = DEPLOYS_DIR / f"{name.removesuffix('.py')}.py"
    if not path.is_file() or name.startswith("_"):
        raise GoldentoothError(f"no deploy named {name!r}; deploys: {', '.join(deploy_names()) or 'none'}")
    return path


def pyinfra_executable() -> str:
    """The pyinfra script installed beside this Python (a virtualenv's bin/), else the one on PATH."""
    beside = Path(sys.executable).with_name("pyinfra")
    return str(beside) if beside.exists() else "pyinfra"


def pyinfra_command(inventory: Path, *args: str, limit: list[str] | None = None) -> list[str]:
    command = [pyinfra_executable(), str(inventory)]
    for target in limit or []:
        command += ["--limit", target]
    return command + list(args)


@dataclass
class RunReport:
    """What one pyinfra --json run did or would do, per host."""

    changed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    conditional: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    failed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    failed_hosts: list[str] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> RunReport:
        report = cls()
        results = payload.get("results")
        if results is None:
            for op in payload.get("plan", []):
                for host in op.get("hosts_with_change", []):
                    report.changed[host].append(op["name"])
                for host in op.get("hosts_with_conditional_change", []):
                    report.conditional[host].append(op["name"])
            return report
        for op in results.get("operations", []):
            for host in op.get("success", []):
                report.changed[host].append(op["name"])
            for host in op.get("error", []):
                report.failed[host].append(op["name"])
        report.failed_hosts = list(results.get("failed_hosts", []))
        report.totals = dict(results.get("totals", {}))
        return report

    @property
    def change_count(self) -> int:
        return sum(len(names) for names in self.changed.values())


def run_json(inventory: Path, deploy: Path, *extra: str, limit: list[str] | None = None) -> RunReport:
    """Run a deploy with --json (add --dry in `extra` for a plan) and parse the report.

    A plan goes without -y: pyinfra's -y skips change detection, so `--dry -y` plans nothing.
    """
    confirm = [] if "--dry" in extra else ["-y"]
    command = pyinfra_command(inventory, *extra, "--json", *confirm, str(deploy), limit=limit)
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    start = result.stdout.find("{")
    if start < 0:
        raise GoldentoothError(f"pyinfra printed no report (exit {result.returncode}):\n{result.stderr.strip()}")
    try:
        payload = json.loads(result.stdout[start:])
    except json.JSONDecodeError as error:
        raise GoldentoothError(f"pyinfra printed an unreadable report: {error}\n{result.stderr.strip()}") from error
    report = RunReport.from_json(payload)
    if result.returncode != 0 and not report.failed_hosts:
        report.failed_hosts = ["(pyinfra)"]
        report.failed["(pyinfra)"].append(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed")
    return report
