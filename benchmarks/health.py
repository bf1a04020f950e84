"""The health suite's own time on a fresh lab, per size, with cold and warm SSH connections.

    python -m benchmarks.health [--sizes 1,4,13] [--workers 0,2,4,8]

Runs on bare lab nodes (no deploy needed: checks of capabilities that are not deployed fail
fast, which is still their cost); `benchmarks.converge` times it on a converged cluster.
"""

from __future__ import annotations

import argparse

from benchmarks.converge import SIZES
from benchmarks.timing import close_ssh_connections, emit, health_suite, lab, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="13", help="comma-separated lab sizes among 1, 4, 13")
    parser.add_argument("--workers", default="", help="comma-separated -n values (default: goldentooth's own)")
    args = parser.parse_args()
    workers = [["-n", value] for value in args.workers.split(",") if value] or [[]]
    print(f"machine: {machine()}", flush=True)
    for size in (int(value) for value in args.sizes.split(",")):
        with lab(SIZES[size], repository=False) as inventory:
            for extra in workers:
                label = f"{size} nodes" + (f", -n {extra[1]}" if extra else "")
                close_ssh_connections(inventory)
                emit(health_suite(inventory, f"health cold ({label})", *extra))
                emit(health_suite(inventory, f"health warm ({label})", *extra))


if __name__ == "__main__":
    main()
