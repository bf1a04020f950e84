"""`goldentooth gpu status`: driver, GPUs, toolkit, containerd runtime and allocatable GPUs per GPU node."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from .. import PROJECT_ROOT
from ..gpu import inconsistencies, missing
from ..pyinfra_run import pyinfra_command
from . import EXIT_FAILED, Context, cli, pass_context

GPU_FACT = "facts.gpu.GpuNode"
ALLOCATABLE_FACT = "facts.gpu.AllocatableGpus"
LOCAL = "@local"
ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf"


def gather(inventory: str, hosts: list[str] | None, kubeconfig: str | None) -> dict[str, dict[str, Any]]:
    """Run pyinfra's fact command once; {fact: {host: value}}. Hosts that failed are absent."""
    allocatable = [ALLOCATABLE_FACT, *([f"kubeconfig={kubeconfig}"] if kubeconfig else [])]
    argv = pyinfra_command(Path(inventory), "fact", GPU_FACT, *allocatable, "--json", limit=hosts)
    result = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    start = result.stdout.find("{")
    if start < 0:
        raise click.ClickException(f"pyinfra gathered no facts (exit {result.returncode}):\n{result.stderr.strip()}")
    payload = json.loads(result.stdout[start:])
    return {fact.split(" ")[0]: values or {} for fact, values in payload.items()}


def node_lines(node: Mapping[str, Any], expected_count: int | None) -> tuple[list[str], bool]:
    """Readable lines for one host's GPU state, and whether it is a ready GPU node."""
    absent = missing(node)
    problems = [] if absent else inconsistencies(node, expected_count)
    if absent:
        driver = "none: " + "; ".join(absent)
    else:
        driver = f"{node['driver_version']} (NVML {node.get('nvml_realpath') or 'absent'})"
    gpus = ", ".join(f"{gpu['index']}: {gpu['name']} ({gpu['uuid']})" for gpu in node.get("gpus", []))
    containerd = node.get("containerd_version")
    runtime = "configured" if node.get("runtime_configured") else "not configured"
    lines = [
        f"  driver       {driver}",
        f"  GPUs         {node.get('gpu_count', 0)}{': ' + gpus if gpus else ''}",
        f"  CUDA         {node.get('cuda_version') or '-'}",
        f"  toolkit      {node.get('toolkit_version') or 'not installed'}",
        f"  runtime      nvidia {runtime}" + (f" (containerd {containerd})" if containerd else " (no containerd)"),
    ]
    lines += [f"  problem      {problem}" for problem in problems]
    ready = not absent and not problems and bool(node.get("toolkit_version")) and bool(node.get("runtime_configured"))
    return lines, ready


def allocatable_line(nodes: Mapping[str, int] | None, name: str, expected: int | None) -> tuple[str, bool]:
    if not nodes:
        return "  allocatable  unknown (no cluster reachable)", True
    if name not in nodes:
        return f"  allocatable  {name} is not a node of the cluster", False
    count = nodes[name]
    ok = expected is None or count == expected
    return f"  allocatable  nvidia.com/gpu: {count}" + ("" if ok else f" (expected {expected})"), ok


@cli.group()
def gpu() -> None:
    """NVIDIA GPU nodes: driver, toolkit, containerd runtime and Kubernetes resources."""


@gpu.command()
@click.option("--local", "local", is_flag=True, help="Read this machine through pyinfra's @local connector, not the inventory.")
@click.option("--kubeconfig", help="With --local: kubeconfig for the allocatable count (default: kubectl's own).")
@pass_context
def status(context: Context, local: bool, kubeconfig: str | None) -> None:
    """Per GPU node: driver, GPUs, CUDA, toolkit version, nvidia runtime, allocatable nvidia.com/gpu.

    Without --local the inventory's `gpu` hosts are read over SSH and the allocatable count comes
    from kubectl on the first control plane (its admin kubeconfig). Exit 0 when every GPU node is
    ready (driver consistent, toolkit installed, runtime configured, allocatable as expected when a
    cluster answers), 1 otherwise.
    """
    if local:
        facts = gather(LOCAL, None, kubeconfig)
        rows = [(LOCAL, None, facts.get(GPU_FACT, {}).get(LOCAL), facts.get(ALLOCATABLE_FACT, {}).get(LOCAL))]
    else:
        cluster = context.cluster()
        gpu_hosts = cluster.group("gpu")
        if not gpu_hosts:
            click.echo(f"{cluster.source} has no host in group gpu")
            return
        admin = [cluster.init_node] if cluster.names("k8s_control_plane") else []
        facts = gather(str(context.inventory), [h.name for h in gpu_hosts] + admin, ADMIN_KUBECONFIG)
        nodes = facts.get(ALLOCATABLE_FACT, {}).get(admin[0]) if admin else None
        rows = [(h.name, int(h.get("gpu_expected_count", 1)), facts.get(GPU_FACT, {}).get(h.name), nodes) for h in gpu_hosts]
    all_ready = True
    for name, expected, node, nodes in rows:
        click.echo(name)
        if node is None:
            click.echo("  unreachable: no facts gathered")
            all_ready = False
            continue
        lines, ready = node_lines(node, expected)
        if local and nodes:
            counts = ", ".join(f"{node_name}={count}" for node_name, count in sorted(nodes.items()) if count) or "none"
            line, counted = f"  allocatable  nvidia.com/gpu on nodes: {counts}", True
        else:
            line, counted = allocatable_line(nodes, name, expected)
        click.echo("\n".join([*lines, line]))
        all_ready = all_ready and ready and counted
    if not all_ready:
        sys.exit(EXIT_FAILED)
