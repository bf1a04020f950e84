"""Kernel state: loaded modules, live sysctl values, boot command line tokens."""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand

#: Printed by SysctlValues for a key the running kernel does not have.
MISSING = "<missing>"


class LoadedModules(FactBase[list[str]]):
    """
    Which of the given kernel modules are loaded (``/sys/module/<name>`` exists), sorted.

    .. code:: python

        ["br_netfilter", "overlay"]
    """

    default = list

    def command(self, modules: list[str]) -> StringCommand:
        return StringCommand(
            "for module in", *(QuoteString(name) for name in modules),
            '; do if [ -d "/sys/module/$module" ]; then echo "$module"; fi; done',
        )

    def process(self, output: list[str]) -> list[str]:
        return sorted({line.strip() for line in output if line.strip()})


class SysctlValues(FactBase[dict[str, "str | None"]]):
    """
    Live values of the given sysctl keys, read in one command; ``None`` for a key the kernel
    does not have (``net.bridge.*`` before ``br_netfilter`` is loaded).

    .. code:: python

        {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": None}
    """

    default = dict

    def requires_command(self, keys: list[str]) -> str:
        return "sysctl"

    def command(self, keys: list[str]) -> StringCommand:
        return StringCommand(
            "for key in", *(QuoteString(key) for key in keys),
            '; do printf \'%s \' "$key"; sysctl -n "$key" 2>/dev/null || echo',
            QuoteString(MISSING), "; done",
        )

    def process(self, output: list[str]) -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for line in output:
            key, _, value = line.strip().partition(" ")
            if key:
                values[key] = None if value == MISSING else " ".join(value.split())
        return values


class BootCmdline(FactBase["list[str] | None"]):
    """
    The lines of a boot command-line file (``/boot/firmware/cmdline.txt`` on Raspberry Pi OS),
    or ``None`` when the file does not exist.

    .. code:: python

        ["console=serial0,115200 root=PARTUUID=6c586e13-02 rootwait"]
    """

    #: First line printed for an absent file (a real cmdline never starts with it).
    ABSENT = "<absent>"

    def command(self, path: str) -> StringCommand:
        return StringCommand(
            "if [ -f", QuoteString(path), "]; then cat", QuoteString(path),
            "; else echo", QuoteString(self.ABSENT), "; fi",
        )

    def process(self, output: list[str]) -> list[str] | None:
        if output and output[0] == self.ABSENT:
            return None
        return list(output)


class ModuleListFile(FactBase["bool | None"]):
    """
    Whether a ``/etc/modprobe.d`` file holds only bare module names (the original's mistake:
    ``modprobe.d`` understands directives, so such a file loads nothing). ``None`` when the file
    does not exist; ``False`` when it has any directive (``options``, ``blacklist``...) or is empty.

    .. code:: python

        True
    """

    def command(self, path: str) -> StringCommand:
        return StringCommand(
            "if [ -f", QuoteString(path), "]; then grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$'",
            QuoteString(path), "| awk '{print (NF == 1 && $1 ~ /^[A-Za-z0-9_-]+$/) ? \"bare\" : \"directive\"}';"
            " echo end; fi",
        )

    def process(self, output: list[str]) -> bool | None:
        if not output:
            return None
        kinds = set(output) - {"end"}
        return kinds == {"bare"}
