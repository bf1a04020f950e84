"""Error types shared by the library and the CLI, each with its own exit code."""

from __future__ import annotations

from dataclasses import dataclass


class GoldentoothError(Exception):
    """Base class for errors the CLI reports without a traceback."""

    exit_code = 1


@dataclass(frozen=True)
class Violation:
    """One broken inventory rule: where (host or group), which key, which rule, and why."""

    where: str
    key: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.key}: [{self.rule}] {self.message}"


class InvalidInventory(SystemExit):
    """The inventory or its data breaks a validation rule.

    A SystemExit, so that pyinfra (which wraps ordinary exceptions from inventory files in a
    traceback) stops with the readable message and a non-zero exit before it connects anywhere.
    """

    def __init__(self, source: str, violations: list[Violation]):
        self.source = source
        self.violations = violations
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"goldentooth: invalid inventory {self.source} ({len(self.violations)} problem(s)):"]
        lines += [f"  - {violation}" for violation in self.violations]
        return "\n".join(lines)
