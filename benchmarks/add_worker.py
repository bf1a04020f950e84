"""Adding one worker to a converged lab: time, and which other hosts the run changed.

    python -m benchmarks.add_worker [--worker lipps] [--deploy kubernetes]

Boots all inventory hosts, converges the cluster as if the worker were not in the inventory yet
(the lab inventory with that host left out of its published hosts), then converges the full
inventory and reports the time and the changed operations per host. Only the new worker (and
the load balancer, if its configuration depends on workers) should change.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from benchmarks.timing import Sample, changed_operations, deploy, emit, lab, machine, report_fields


def without_host(inventory: Path, host: str) -> Path:
    """A copy of the lab inventory beside it that publishes every booted host except `host`."""
    tree = ast.parse(inventory.read_text(encoding="utf-8"))
    booted = [
        keyword for node in ast.walk(tree) if isinstance(node, ast.Call)
        for keyword in node.keywords if keyword.arg == "booted"
    ]
    if len(booted) != 1 or not isinstance(booted[0].value, ast.List):
        raise SystemExit(f"{inventory}: expected one `booted=[...]` list in the lab inventory")
    names = [element.value for element in booted[0].value.elts if isinstance(element, ast.Constant)]
    if host not in names:
        raise SystemExit(f"{host} is not a booted lab host ({', '.join(names)})")
    booted[0].value = ast.List([ast.Constant(name) for name in names if name != host], ast.Load())
    path = inventory.with_name(f"inventory-without-{host}.py")
    path.write_text(ast.unparse(ast.fix_missing_locations(tree)) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", default="lipps", help="the worker to add (default lipps)")
    parser.add_argument("--deploy", default="kubernetes", help="deploy under deploys/ (default kubernetes)")
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    with lab() as inventory:
        smaller = without_host(inventory, args.worker)
        seconds, report = deploy(smaller, args.deploy)
        emit(Sample(f"converge without {args.worker}", seconds, report_fields(report)))
        seconds, report = deploy(inventory, args.deploy)
        others = sorted(host for host, ops in report.changed.items() if ops and host != args.worker)
        fields = {**report_fields(report), "worker_changes": len(report.changed.get(args.worker, [])),
                  "other_hosts_changed": ",".join(others) or "none"}
        details = [line for line in changed_operations(report) if not line.startswith(f"{args.worker}: ")]
        emit(Sample(f"add worker {args.worker}", seconds, fields, details))


if __name__ == "__main__":
    main()
