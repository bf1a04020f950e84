"""Running host commands for the lab: argument lists only (no shell), errors that show the output."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from .errors import LabError


def run(argv: Sequence[str], check: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output; raise LabError with the output when it fails and `check`."""
    try:
        result = subprocess.run(
            list(argv), capture_output=True, text=True, input=input_text, check=False,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as error:
        raise LabError(f"{argv[0]} is not installed: run `goldentooth lab prerequisites --install`") from error
    if check and result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise LabError(f"`{' '.join(argv)}` failed (exit {result.returncode}): {output}")
    return result
