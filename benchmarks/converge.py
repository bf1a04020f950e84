"""Converge benchmarks on a fresh lab, for one or more cluster sizes.

    python -m benchmarks.converge [--sizes 1,4,13] [--deploy kubernetes]

Per size: boot a fresh lab with that many hosts, then time
  cold     the first converge (every operation changes something),
  noop     the same deploy again (changed operations and restarted units should be 0),
  dry      `--dry` planning of the converged cluster,
  health   `goldentooth test` over all its hosts,
and take the lab down. Sizes pick hosts so that each capability keeps at least one host.
"""

from __future__ import annotations

import argparse

from benchmarks.timing import (
    Sample,
    changed_operations,
    deploy,
    emit,
    health_suite,
    lab,
    machine,
    report_fields,
    unit_starts,
)

#: Kubernetes nodes per lab size and the hosts booted for it (None = every inventory host): 1 = the
#: init control plane, with the load balancer its API endpoint lives on (kubeadm init waits for the
#: API through it); 4 adds a worker and the GPU node.
SIZES = {
    1: ["allyrion", "bettley"],
    4: ["allyrion", "bettley", "erenford", "velaryon"],
    13: None,
}
#: The health suites of what a deploy converges; a deploy not listed gets every suite (site).
SUITES = {"kubernetes": "base,node_base,haproxy,containerd,kubernetes_node,kubeadm,gpu"}


def converge(size: int, name: str) -> list[Sample]:
    """Every measurement for one lab size."""
    samples = []
    with lab(SIZES[size]) as inventory:
        seconds, report = deploy(inventory, name)
        samples.append(emit(Sample(f"cold converge ({size} nodes)", seconds, report_fields(report))))
        before = unit_starts(inventory)
        seconds, report = deploy(inventory, name)
        after = unit_starts(inventory)
        restarted = sorted(f"{host}:{unit}" for (host, unit), start in before.items() if after.get((host, unit)) != start)
        fields = {**report_fields(report), "restarts": len(restarted), "restarted": ",".join(restarted) or "none"}
        samples.append(emit(Sample(f"no-op re-run ({size} nodes)", seconds, fields, changed_operations(report))))
        seconds, report = deploy(inventory, name, "--dry")
        planned = {"planned_changes": report.change_count}
        samples.append(emit(Sample(f"--dry plan ({size} nodes)", seconds, planned, changed_operations(report))))
        suites = ["--capability", SUITES[name]] if name in SUITES else []
        samples.append(emit(health_suite(inventory, f"health suite ({size} nodes)", *suites)))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="13", help="comma-separated lab sizes among 1, 4, 13")
    parser.add_argument("--deploy", default="kubernetes", help="deploy under deploys/ (default kubernetes)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    unknown = [size for size in sizes if size not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; known: {sorted(SIZES)}")
    print(f"machine: {machine()}", flush=True)
    results = [sample for size in sizes for sample in converge(size, args.deploy)]
    print("\nsummary:")
    for sample in results:
        print(sample.line())


if __name__ == "__main__":
    main()
