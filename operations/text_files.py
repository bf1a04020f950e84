"""Files whose whole content the deploy renders (units, exports, configuration)."""

from __future__ import annotations

import hashlib
from io import StringIO

from pyinfra import host
from pyinfra.api import OperationError, operation
from pyinfra.operations import files

from facts.text_files import ContentSha1


@operation()
def present(path: str, content: str, user: str = "root", group: str = "root", mode: str = "644"):
    """
    Install a file with exactly this content, owner and mode; upload only when the content differs.

    + path: absolute remote path (any characters, e.g. ``/etc/systemd/system/mnt-gpu\\x2dstorage.mount``)
    + content: the complete file content
    + user: owner
    + group: group
    + mode: octal mode, e.g. ``644``

    Compares the content digest read on stdin, so names containing a backslash (systemd
    escaped unit names) stay idempotent, unlike ``files.put``'s name-based digest.

    **Examples:**

    .. code:: python

        text_files.present(
            name="Write the GPU storage automount unit",
            path="/etc/systemd/system/mnt-gpu\\\\x2dstorage.automount",
            content=rendered_unit,
        )
    """
    if not path.startswith("/"):
        raise OperationError(f"text_files.present: {path!r} is not an absolute path")
    wanted = hashlib.sha1(content.encode("utf-8")).hexdigest()
    if host.get_fact(ContentSha1, path=path) != wanted:
        yield from files.put._inner(src=StringIO(content), dest=path, user=user, group=group, mode=mode)
        return
    yield from files.file._inner(path=path, user=user, group=group, mode=mode)
