"""Errors raised by the lab runtime (reported by the CLI without a traceback)."""

from __future__ import annotations

from ..errors import GoldentoothError


class LabError(GoldentoothError):
    """The lab cannot do what was asked; the message says why and what to do."""
