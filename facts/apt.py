"""Facts about apt package state that pyinfra does not provide."""

from __future__ import annotations

from typing import Any

from pyinfra.api import FactBase, QuoteString, StringCommand


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


def _expiries(lines: list[str]) -> list[int | None]:
    """Expiry (epoch seconds, None = never) of each signing-capable key in gpg --with-colons lines."""
    expiries: list[int | None] = []
    for line in lines:
        fields = line.split(":")
        if len(fields) > 11 and fields[0] in ("pub", "sub") and "s" in fields[11]:
            expiries.append(int(fields[6]) if fields[6].isdigit() else None)
    return expiries


class SigningKey(FactBase[dict[str, Any]]):
    """
    An apt repository signing key: the one installed at ``path`` and the one published at
    ``url`` (downloaded by the host, 10 s timeout, kept only if it is an armoured public key).

    ``installed``/``available`` are sha256 checksums, ``None`` when the file is absent or the
    download failed. ``*_expiries`` list the expiry (epoch seconds, ``None`` = never) of every
    signing-capable key per ``gpg --show-keys --with-colons``; empty when gpg is not installed.

    .. code:: python

        {"installed": "3f6c...", "available": "3f6c...",
         "installed_expiries": [1780000000], "available_expiries": [1780000000]}
    """

    default = dict

    def command(self, url: str, path: str) -> StringCommand:
        return StringCommand(
            'show() { gpg --show-keys --with-colons "$2" 2>/dev/null | sed "s/^/$1 /"; };',
            StringCommand("key=", QuoteString(path), ";", _separator=""),
            'if [ -f "$key" ]; then echo "installed $(sha256sum < "$key" | cut -d" " -f1)";',
            'show installed-key "$key"; fi;',
            "new=$(mktemp) &&",
            "if curl -fsSL --max-time 10 -o \"$new\"", QuoteString(url),
            "2>/dev/null && grep -q '^-----BEGIN PGP PUBLIC KEY BLOCK-----' \"$new\"; then",
            'echo "available $(sha256sum < "$new" | cut -d" " -f1)"; show available-key "$new"; fi;',
            'rm -f "$new"',
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        state: dict[str, Any] = {"installed": None, "available": None}
        keys: dict[str, list[str]] = {"installed-key": [], "available-key": []}
        for line in output:
            kind, _, value = line.partition(" ")
            if kind in ("installed", "available"):
                state[kind] = value.strip() or None
            elif kind in keys:
                keys[kind].append(value.strip())
        state["installed_expiries"] = _expiries(keys["installed-key"])
        state["available_expiries"] = _expiries(keys["available-key"])
        return state


class SourcesMentioning(FactBase[list[str]]):
    """
    Files in ``/etc/apt/sources.list.d`` whose text mentions any of the given strings (fixed
    strings, not patterns), sorted.

    .. code:: python

        ["/etc/apt/sources.list.d/kubernetes.list"]
    """

    default = list

    def command(self, needles: list[str]) -> StringCommand:
        return StringCommand(
            "grep -rlsF", *(StringCommand("-e", QuoteString(needle)) for needle in needles),
            "/etc/apt/sources.list.d || true",
        )

    def process(self, output: list[str]) -> list[str]:
        return sorted({line.strip() for line in output if line.strip()})
