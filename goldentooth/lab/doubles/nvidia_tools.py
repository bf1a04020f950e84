"""NVIDIA Container Toolkit doubles: nvidia-ctk, nvidia-container-cli, nvidia-container-runtime(-hook).

They report their versions in the real formats; anything that needs a GPU or a driver fails, as
it does on a host without one. (The deploys render the containerd drop-in themselves and never
call `nvidia-ctk runtime configure`, spec 60-gpu.md §5.)
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str], version: str) -> int:
    tool = os.path.basename(sys.argv[0])
    if argv[:1] in (["--version"], ["-v"], ["version"]):
        if tool == "nvidia-ctk":
            print(f"NVIDIA Container Toolkit CLI version {version}\ncommit: lab-double")
        elif tool == "nvidia-container-cli":
            print(f"cli-version: {version}\nlib-version: {version}\nbuild date: lab double")
        else:
            print(f"NVIDIA Container Runtime version {version}\ncommit: lab-double\nspec: 1.2.0")
        return 0
    print(f"{tool}: lab double: no NVIDIA driver or GPU in a lab node ({' '.join(argv) or 'no arguments'})",
          file=sys.stderr)
    return 1
