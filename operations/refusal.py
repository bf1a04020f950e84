"""A command that fails one host, at execution time, with a message saying why.

Raising OperationError while operations are being prepared stops pyinfra for every host. A
condition that concerns one host only (no GPU driver there, no admin kubeconfig there) must fail
that host and let the others converge: operations yield `refuse(message)` instead.
"""

from __future__ import annotations

from pyinfra import logger
from pyinfra.api import FunctionCommand


def _refuse(state, host, message: str) -> bool:
    """Log the reason in red with the host's prefix and report failure to pyinfra."""
    host.log_styled(message, fg="red", log_func=logger.error)
    return False


def refuse(message: str) -> FunctionCommand:
    """The command that fails the current host with `message`."""
    return FunctionCommand(_refuse, (message,), {})
