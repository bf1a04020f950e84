"""Facts about apt package state that pyinfra does not provide."""

from __future__ import annotations

from pyinfra.api import FactBase


class HeldPackages(FactBase[list[str]]):
    """
    Names of the packages whose dpkg selection is ``hold``, sorted.

    .. code:: python

        ["kubeadm", "kubectl", "kubelet"]
    """

    default = list

    def requires_command(self) -> str:
        return "apt-mark"

    def command(self) -> str:
        return "apt-mark showhold"

    def process(self, output: list[str]) -> list[str]:
        return sorted({line.strip() for line in output if line.strip()})
