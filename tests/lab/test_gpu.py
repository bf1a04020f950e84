"""The GPU node in the lab: velaryon booted alone, containerd then the GPU deploy over real SSH.

No lab node has an NVIDIA GPU, so each gpu_on_missing_driver policy is exercised explicitly with
pyinfra's --data: `fail` fails velaryon with a message naming what is missing and changes nothing;
`skip` changes nothing; `prepare` installs the toolkit stand-in (1.17.8-1, held) and the containerd
runtime drop-in, containerd's effective config then has the `nvidia` runtime beside the default
`runc`, and a second run changes nothing and restarts nothing.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from goldentooth import PROJECT_ROOT
from goldentooth.pyinfra_run import RunReport, run_json

from .conftest import LabRun, lab_directory, make_lab


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is absent
        return False


if not _available("goldentooth.lab.repo") or not (PROJECT_ROOT / "deploys" / "containerd.py").exists():
    pytest.skip("needs the lab runtime with its repository builder and the containerd deploy", allow_module_level=True)

import testinfra  # noqa: E402

HOST = "velaryon"
DEPLOYS = PROJECT_ROOT / "deploys"
TOOLKIT = ("nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools", "libnvidia-container1")


@pytest.fixture(scope="module")
def gpu_lab() -> Iterator[LabRun]:
    with lab_directory("g") as (directory, name):
        lab = make_lab(directory, name)
        try:
            up = lab.goldentooth("lab", "up", "--hosts", HOST)
            assert up.returncode == 0, up.stdout + up.stderr
            containerd = deploy(lab, "containerd")
            assert not containerd.failed_hosts, containerd.failed
            yield lab
        finally:
            down = lab.goldentooth("lab", "down")
            assert down.returncode == 0, down.stdout + down.stderr


def deploy(lab: LabRun, name: str, *extra: str) -> RunReport:
    return run_json(lab.inventory, DEPLOYS / f"{name}.py", *extra, limit=[HOST])


def gpu(lab: LabRun, policy: str) -> RunReport:
    return deploy(lab, "gpu", "--data", f"gpu_on_missing_driver={policy}")


def node(lab: LabRun):
    return testinfra.get_host(f"ssh://{HOST}", ssh_config=str(lab.ssh_config))


def nothing_gpu_installed(host) -> bool:
    return not host.file("/etc/containerd/conf.d/99-nvidia.toml").exists and not host.package("nvidia-container-toolkit").is_installed


def test_fail_policy_fails_the_host_naming_what_is_missing_and_changes_nothing(gpu_lab):
    # pyinfra prints no JSON report when every host failed, so read its own output.
    command = [str(Path(sys.executable).with_name("pyinfra")), str(gpu_lab.inventory), "--limit", HOST, "-y",
               "--data", "gpu_on_missing_driver=fail", str(DEPLOYS / "gpu.py")]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"[{HOST}] host is in group gpu but no NVIDIA GPU on the PCI bus" in output
    assert "no NVIDIA driver is loaded (/sys/module/nvidia absent)" in output
    assert "Install the driver and reboot, or set gpu_on_missing_driver: skip" in output
    assert "Starting operation: NVIDIA GPU node | Check the NVIDIA driver and GPUs" in output
    assert "Starting operation: NVIDIA GPU node | Fetch" not in output
    assert nothing_gpu_installed(node(gpu_lab))


def test_skip_policy_changes_nothing(gpu_lab):
    report = gpu(gpu_lab, "skip")
    assert not report.failed_hosts and not report.changed.get(HOST)
    assert nothing_gpu_installed(node(gpu_lab))


def test_prepare_installs_toolkit_and_runtime_then_converges(gpu_lab):
    first = gpu(gpu_lab, "prepare")
    assert not first.failed_hosts, first.failed
    assert "NVIDIA GPU node | Add the containerd nvidia runtime drop-in" in first.changed[HOST]
    assert "NVIDIA GPU node | Restart containerd to load the nvidia runtime" in first.changed[HOST]
    host = node(gpu_lab)
    started = host.check_output("systemctl show containerd -p ExecMainStartTimestamp --value")

    second = gpu(gpu_lab, "prepare")
    assert not second.failed_hosts and second.change_count == 0, second.changed
    assert host.check_output("systemctl show containerd -p ExecMainStartTimestamp --value") == started

    held = set(host.check_output("apt-mark showhold").split())
    for package in TOOLKIT:
        assert host.check_output(f"dpkg-query -W -f='${{Version}}' {package}") == "1.17.8-1"
        assert package in held
    dump = tomllib.loads(host.check_output("containerd config dump"))
    cri = dump["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]
    assert cri["default_runtime_name"] == "runc"
    assert cri["runtimes"]["nvidia"]["runtime_type"] == "io.containerd.runc.v2"
    assert cri["runtimes"]["nvidia"]["options"] == {"BinaryName": "/usr/bin/nvidia-container-runtime", "SystemdCgroup": True}
    assert cri["runtimes"]["runc"]["options"]["SystemdCgroup"] is True


def test_gpu_status_reads_the_lab_node(gpu_lab):
    result = gpu_lab.goldentooth("gpu", "status", inventory=gpu_lab.inventory)
    assert result.stdout.splitlines()[0] == HOST
    assert "  toolkit      1.17.8-1" in result.stdout
    assert "  runtime      nvidia configured" in result.stdout
    assert result.returncode == 1  # no driver: not a ready GPU node
