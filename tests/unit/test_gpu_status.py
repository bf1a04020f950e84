"""`goldentooth gpu status`: its per-node lines from fact values, and a real run on this machine."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from goldentooth.cli import cli
from goldentooth.cli.gpu import allocatable_line, node_lines

FACTS = Path(__file__).parent / "facts" / "gpu.GpuNode"


def fact(name: str) -> dict:
    return yaml.safe_load((FACTS / f"{name}.yaml").read_text())["fact"]


def test_ready_node():
    lines, ready = node_lines(fact("velaryon_ready"), 1)
    assert ready
    assert lines == [
        "  driver       575.51.03 (NVML /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.575.51.03)",
        "  GPUs         1: 0: NVIDIA GeForce RTX 2070 SUPER (GPU-5d8c6e2e-8c6b-2b3a-6a0b-6c2d9f7e1a40)",
        "  CUDA         12.9",
        "  toolkit      1.17.8-1",
        "  runtime      nvidia configured (containerd 1.7.27)",
    ]


def test_node_without_driver_names_what_is_missing():
    lines, ready = node_lines(fact("driver_not_loaded"), 1)
    assert not ready
    assert lines[0].startswith("  driver       none: no NVIDIA driver is loaded (/sys/module/nvidia absent); nvidia-smi says: NVIDIA-SMI has failed")
    assert lines[3] == "  toolkit      not installed"


def test_mismatch_is_a_problem_line():
    lines, ready = node_lines(fact("library_mismatch"), 1)
    assert not ready
    assert any(line.startswith("  problem      driver versions differ") for line in lines)


def test_allocatable():
    assert allocatable_line({"velaryon": 1, "bettley": 0}, "velaryon", 1) == ("  allocatable  nvidia.com/gpu: 1", True)
    assert allocatable_line({"velaryon": 0}, "velaryon", 1) == ("  allocatable  nvidia.com/gpu: 0 (expected 1)", False)
    assert allocatable_line({}, "velaryon", 1) == ("  allocatable  unknown (no cluster reachable)", True)


def test_local_status_runs_pyinfra_local_connector():
    result = CliRunner().invoke(cli, ["gpu", "status", "--local"])
    assert result.output.splitlines()[0] == "@local"
    assert "  driver       " in result.output and "  toolkit      " in result.output
    assert result.exit_code in (0, 1)
