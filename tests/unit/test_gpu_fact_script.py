"""The GpuNode shell script against nvidia-smi's real output formats.

The fixture tests feed `process` with the script's output; this test runs the script itself (with
/bin/sh, as pyinfra does) against executables printing what nvidia-smi prints, so the parsing of
the CSV query and the header's `CUDA Version` is exercised for real. The sysfs and dpkg parts
read this machine and are not asserted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from facts.gpu import _SCRIPT, GpuNode

HEADER_575 = """Sat Nov 21 06:00:00 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 575.51.03              Driver Version: 575.51.03      CUDA Version: 12.9     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|                                         |                        |               MIG M. |
|=========================================+========================+======================|
|   0  NVIDIA GeForce RTX 2070 ...    Off |   00000000:01:00.0 Off |                  N/A |
|  0%   38C    P8              9W /  215W |       1MiB /   8192MiB |      0%      Default |
|                                         |                        |                  N/A |
+-----------------------------------------+------------------------+----------------------+
"""
HEADER_NA = HEADER_575.replace("CUDA Version: 12.9  ", "CUDA Version: N/A   ")
CSV = "0, NVIDIA GeForce RTX 2070 SUPER, GPU-5d8c6e2e-8c6b-2b3a-6a0b-6c2d9f7e1a40, 575.51.03, 00000000:01:00.0\n"
NO_DRIVER = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running.\n"
)


def run_with_smi(tmp_path: Path, query: str, header: str, code: int) -> dict:
    (tmp_path / "query.txt").write_text(query)
    (tmp_path / "header.txt").write_text(header)
    smi = tmp_path / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\n"
        f'case "$1" in --query-gpu=*) cat "{tmp_path}/query.txt";; *) cat "{tmp_path}/header.txt";; esac\n'
        f"exit {code}\n"
    )
    smi.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}")
    result = subprocess.run(["/bin/sh", "-c", _SCRIPT], capture_output=True, text=True, env=env, check=True)
    return GpuNode().process(result.stdout.splitlines())


def test_query_and_header_formats(tmp_path):
    node = run_with_smi(tmp_path, CSV, HEADER_575, 0)
    assert node["gpus"] == [{
        "index": 0,
        "name": "NVIDIA GeForce RTX 2070 SUPER",
        "uuid": "GPU-5d8c6e2e-8c6b-2b3a-6a0b-6c2d9f7e1a40",
        "driver_version": "575.51.03",
        "pci_bus_id": "00000000:01:00.0",
    }]
    assert node["gpu_count"] == 1
    assert node["cuda_version"] == "12.9"
    assert node["nvidia_smi_error"] is None


def test_cuda_not_available_in_header(tmp_path):
    assert run_with_smi(tmp_path, CSV, HEADER_NA, 0)["cuda_version"] is None


def test_nvidia_smi_without_driver(tmp_path):
    node = run_with_smi(tmp_path, NO_DRIVER, NO_DRIVER, 9)
    assert node["gpus"] == [] and node["gpu_count"] == 0
    assert node["nvidia_smi_error"] == NO_DRIVER.strip()


@pytest.mark.skipif(shutil.which("nvidia-smi", path="/usr/sbin:/usr/bin:/sbin:/bin") is not None, reason="this machine has nvidia-smi")
def test_script_succeeds_without_any_nvidia_software(tmp_path):
    env = dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin")
    result = subprocess.run(["/bin/sh", "-c", _SCRIPT], capture_output=True, text=True, env=env, check=True)
    node = GpuNode().process(result.stdout.splitlines())
    assert node["gpus"] == [] and node["nvidia_smi_error"] is None and node["toolkit_version"] is None
