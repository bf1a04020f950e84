"""Facts about an NVIDIA GPU node: hardware, driver, NVML, toolkit and containerd runtime (spec 60-gpu.md §2).

Everything a GPU deploy and `goldentooth gpu status` need is read by ONE shell script in one SSH
round trip (facts are not cached by pyinfra). On a host without a GPU, driver, toolkit or
containerd every field is empty (``None``, ``False`` or ``[]``), never an error.
"""

from __future__ import annotations

import json
from typing import Any

from pyinfra.api import FactBase, QuoteString, StringCommand

from facts.containerd import parse_version

# Each line of output is `key=value`; repeated keys (pci, smi, dev) form lists.
_SCRIPT = r"""
echo "arch=$(dpkg --print-architecture 2>/dev/null)"
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor" 2>/dev/null)" = 0x10de ] || continue
  c=$(cat "$d/class" 2>/dev/null)
  case "$c" in 0x0300*|0x0302*) echo "pci=${d##*/} $c $(cat "$d/device" 2>/dev/null)";; esac
done
[ -d /sys/module/nvidia ] && echo module=yes
[ -r /proc/driver/nvidia/version ] && echo procfs=yes
[ -r /sys/module/nvidia/version ] && echo "driver_version=$(cat /sys/module/nvidia/version)"
[ -d /sys/module/nouveau ] && echo nouveau=yes
nvml=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null | awk '/libnvidia-ml[.]so[.]1 /{print $NF; exit}')
[ -n "$nvml" ] && echo "nvml=$nvml" && echo "nvml_realpath=$(readlink -f "$nvml")"
if command -v nvidia-smi >/dev/null 2>&1; then
  out=$(nvidia-smi --query-gpu=index,name,uuid,driver_version,pci.bus_id --format=csv,noheader 2>&1)
  echo "smi_rc=$?"
  printf '%s\n' "$out" | sed -e '/^$/d' -e 's/^/smi=/'
  nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9][0-9.]*\).*/cuda=\1/p'
fi
for n in /dev/nvidiactl /dev/nvidia-uvm /dev/nvidia[0-9]*; do [ -e "$n" ] && echo "dev=$n"; done
echo "toolkit=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' nvidia-container-toolkit 2>/dev/null)"
echo "containerd=$(containerd --version 2>/dev/null)"
containerd config dump 2>/dev/null | grep -q 'containerd[.]runtimes[.]nvidia[]"'"'"']*$' && echo runtime=yes
true
""".strip()

_SMI_COLUMNS = ("index", "name", "uuid", "driver_version", "pci_bus_id")


def _lines(output: list[str]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in output:
        key, sep, value = line.partition("=")
        if sep:
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def _first(values: dict[str, list[str]], key: str) -> str | None:
    found = values.get(key) or [""]
    return found[0] or None


def _installed_version(status_and_version: str | None) -> str | None:
    """`ii 1.17.8-1` / `hi 1.17.8-1` -> `1.17.8-1`; removed or unknown packages -> None."""
    if not status_and_version or len(status_and_version) < 3 or status_and_version[1] != "i":
        return None
    return status_and_version[3:].strip() or None


def _containerd_version(line: str | None) -> str | None:
    """`containerd containerd.io 1.7.27 05044ec...` -> `1.7.27` (Debian: `1.6.20~ds1` -> `1.6.20`)."""
    parsed = parse_version(line or "")
    return parsed["version"] if parsed else None


def _gpus(smi_lines: list[str], smi_ok: bool) -> list[dict[str, Any]]:
    if not smi_ok:
        return []
    gpus = []
    for line in smi_lines:
        fields = [field.strip() for field in line.split(", ")]
        if len(fields) != len(_SMI_COLUMNS) or not fields[0].isdigit():
            continue
        gpu: dict[str, Any] = dict(zip(_SMI_COLUMNS, fields))
        gpu["index"] = int(fields[0])
        gpus.append(gpu)
    return gpus


class GpuNode(FactBase[dict[str, Any]]):
    """
    The NVIDIA state of a host, gathered in one command. ``None``/``False``/``[]`` mean absent.

    ``nvidia_smi_error`` holds nvidia-smi's message when it is installed but failed (no driver,
    driver/library mismatch); ``runtime_configured`` is whether ``containerd config dump`` shows
    a runtime named ``nvidia``.

    .. code:: python

        {
            "arch": "amd64",
            "pci_devices": [{"slot": "0000:01:00.0", "class": "0x030000", "device": "0x1e84"}],
            "driver_loaded": True,
            "driver_version": "575.51.03",
            "nouveau_loaded": False,
            "nvml_library": "/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
            "nvml_realpath": "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.575.51.03",
            "nvidia_smi_error": None,
            "gpus": [{"index": 0, "name": "NVIDIA GeForce RTX 2070 SUPER", "uuid": "GPU-...",
                      "driver_version": "575.51.03", "pci_bus_id": "00000000:01:00.0"}],
            "gpu_count": 1,
            "cuda_version": "12.9",
            "device_nodes": ["/dev/nvidia-uvm", "/dev/nvidia0", "/dev/nvidiactl"],
            "toolkit_version": "1.17.8-1",
            "containerd_version": "1.7.27",
            "runtime_configured": True,
        }
    """

    default = dict

    def command(self) -> str:
        return _SCRIPT

    def process(self, output: list[str]) -> dict[str, Any]:
        values = _lines(output)
        smi_rc = _first(values, "smi_rc")
        smi_lines = values.get("smi", [])
        gpus = _gpus(smi_lines, smi_rc == "0")
        pci = []
        for entry in values.get("pci", []):
            slot, _, rest = entry.partition(" ")
            device_class, _, device = rest.partition(" ")
            pci.append({"slot": slot, "class": device_class, "device": device or None})
        return {
            "arch": _first(values, "arch"),
            "pci_devices": pci,
            "driver_loaded": "module" in values and "procfs" in values,
            "driver_version": _first(values, "driver_version"),
            "nouveau_loaded": "nouveau" in values,
            "nvml_library": _first(values, "nvml"),
            "nvml_realpath": _first(values, "nvml_realpath"),
            "nvidia_smi_error": " ".join(smi_lines) if smi_rc not in (None, "0") else None,
            "gpus": gpus,
            "gpu_count": len(gpus),
            "cuda_version": _first(values, "cuda"),
            "device_nodes": sorted(set(values.get("dev", []))),
            "toolkit_version": _installed_version(_first(values, "toolkit")),
            "containerd_version": _containerd_version(_first(values, "containerd")),
            "runtime_configured": "runtime" in values,
        }


class AllocatableGpus(FactBase[dict[str, int]]):
    """
    ``nvidia.com/gpu`` allocatable per Kubernetes node, read with kubectl; ``{}`` when kubectl,
    the kubeconfig or the API is unavailable (no cluster). Nodes without GPUs map to 0.

    .. code:: python

        {"bettley": 0, "velaryon": 1}
    """

    default = dict

    def requires_command(self, kubeconfig: str | None = None) -> str:
        return "kubectl"

    def command(self, kubeconfig: str | None = None) -> StringCommand:
        target = ["--kubeconfig", QuoteString(kubeconfig)] if kubeconfig else []
        return StringCommand(
            "kubectl", *target, "get", "nodes", "-o", "json", "--request-timeout=10s", "2>/dev/null", "||", "true"
        )

    def process(self, output: list[str]) -> dict[str, int]:
        text = "\n".join(output).strip()
        if not text:
            return {}
        try:
            nodes = json.loads(text).get("items", [])
        except (json.JSONDecodeError, AttributeError):
            return {}
        result = {}
        for node in nodes:
            allocatable = node.get("status", {}).get("allocatable", {}) or {}
            result[node["metadata"]["name"]] = int(allocatable.get("nvidia.com/gpu", 0) or 0)
        return result
