"""HAProxy configuration that is validated on the host before it replaces the live file."""

from __future__ import annotations

import hashlib
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, QuoteString, StringCommand, operation

from facts.files import FileStates


@operation()
def config(
    content: str,
    path: str = "/etc/haproxy/haproxy.cfg",
    user: str = "root",
    group: str = "haproxy",
    mode: str = "640",
):
    """
    Install an HAProxy configuration only if ``haproxy -c`` accepts it without warnings.

    + content: the complete configuration text
    + path: the live configuration file
    + user: owner of the file
    + group: group of the file (HAProxy reads it as this group)
    + mode: octal permissions of the file (it holds the stats password)

    The text is uploaded to ``<path>.candidate`` and checked with ``haproxy -c -dW -f``
    (zero-warning mode: a warning fails too). Only then is it renamed over the live file. On
    failure the run stops for this host with HAProxy's message; the live file and the running
    process stay untouched and the candidate is left for inspection (remove it before the next
    attempt, e.g. with ``files.file(present=False)``). A byte-identical configuration changes
    nothing. Reload the service with ``_if=<this op>.did_change``.

    **Examples:**

    .. code:: python

        haproxy.config(
            name="Validate and install the HAProxy configuration",
            content=rendered_text,
        )
    """
    if not content.endswith("\n"):
        raise OperationError("haproxy.config: the configuration must end with a newline")
    if not mode.isdigit() or len(mode) not in (3, 4):
        raise OperationError(f"haproxy.config: mode must be octal digits, got {mode!r}")

    candidate = f"{path}.candidate"
    live = host.get_fact(FileStates, paths=[path]).get(path)
    wanted = hashlib.sha256(content.encode()).hexdigest()

    if live and live["sha256"] == wanted:
        if (live["user"], live["group"], live["mode"]) != (user, group, mode.lstrip("0") or "0"):
            yield StringCommand("chown", QuoteString(f"{user}:{group}"), QuoteString(path))
            yield StringCommand("chmod", QuoteString(mode), QuoteString(path))
        else:
            host.noop(f"haproxy configuration {path} is up to date")
        return

    yield FileUploadCommand(StringIO(content), candidate, remote_temp_filename=host.get_temp_filename(candidate))
    yield StringCommand("chown", QuoteString(f"{user}:{group}"), QuoteString(candidate))
    yield StringCommand("chmod", QuoteString(mode), QuoteString(candidate))
    yield StringCommand("haproxy", "-c", "-dW", "-f", QuoteString(candidate))
    yield StringCommand("mv", "-f", QuoteString(candidate), QuoteString(path))
