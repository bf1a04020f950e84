"""Facts about OpenSSH keys and certificates on a host, parsed on the operator's machine."""

from __future__ import annotations

from typing import Any

from pyinfra.api import FactBase, QuoteString, StringCommand

from goldentooth.pki.certificates import describe, parse


def _read_if_present(path: str) -> StringCommand:
    """`test -f PATH && cat PATH || true`: empty output for a missing file."""
    return StringCommand("test", "-f", QuoteString(path), "&&", "cat", QuoteString(path), "||", "true")


class PublicKey(FactBase[str | None]):
    """
    The OpenSSH public key line in a file (e.g. a host key's ``.pub``), or ``None`` when the
    file is missing or empty.

    .. code:: python

        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... root@allyrion"
    """

    def requires_command(self, path: str) -> str:
        return "cat"

    def command(self, path: str) -> StringCommand:
        return _read_if_present(path)

    def process(self, output: list[str]) -> str | None:
        lines = [line.strip() for line in output if line.strip()]
        return lines[0] if lines else None


class Certificate(FactBase[dict[str, Any] | None]):
    """
    An OpenSSH certificate file, parsed: its line and fields, ``{"line": ..., "error": ...}``
    when it does not parse, or ``None`` when the file is missing or empty.

    .. code:: python

        {
            "line": "ssh-ed25519-cert-v01@openssh.com AAAA... allyrion",
            "kind": "host",
            "key_id": "allyrion",
            "serial": 8741093,
            "principals": ["allyrion", "allyrion.nodes.goldentooth.net", "10.4.0.10"],
            "valid_after": 1752869622,
            "valid_before": 1755461922,
            "critical_options": {},
            "extensions": [],
            "public_key": "ssh-ed25519 AAAA...",
            "signature_key": "ssh-ed25519 AAAA...",
        }
    """

    def requires_command(self, path: str) -> str:
        return "cat"

    def command(self, path: str) -> StringCommand:
        return _read_if_present(path)

    def process(self, output: list[str]) -> dict[str, Any] | None:
        lines = [line.strip() for line in output if line.strip()]
        if not lines:
            return None
        try:
            return {"line": lines[0], **describe(parse(lines[0]))}
        except ValueError as error:
            return {"line": lines[0], "error": str(error)}
