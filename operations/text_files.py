"""Files whose whole content the deploy renders (configuration, apt sources, units, exports).

One `FileStates` read per file answers content, owner, group and mode together, where
`files.put` needs three facts (`File`, `Sha1File`, the parent `Directory`): on a converged host a
managed file costs one round trip. The digest is read on stdin, so names containing a backslash
(systemd escaped unit names) stay idempotent, unlike `files.put`'s name-based digest.
"""

from __future__ import annotations

import hashlib
import posixpath
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, operation
from pyinfra.operations import files
from pyinfra.operations.util.files import chmod, chown, ensure_mode_int

from facts.files import FileStates


@operation()
def present(path: str, content: str, user: str = "root", group: str = "root", mode: str = "644"):
    """
    Install a file with exactly this content, owner and mode; upload only when the content differs.

    + path: absolute remote path (any characters, e.g. ``/etc/systemd/system/mnt-gpu\\x2dstorage.mount``)
    + content: the complete file content
    + user: owner
    + group: group
    + mode: octal mode, e.g. ``644`` or ``0600``

    Like ``files.put``: a missing file is uploaded after its directory is created (owned by
    ``user``/``group``), then owned and moded; different content is uploaded, owned and moded;
    same content with another owner or mode only gets ``chown``/``chmod``.

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
    wanted_mode = ensure_mode_int(mode)
    if not isinstance(wanted_mode, int):
        raise OperationError(f"text_files.present: mode {mode!r} of {path} is not an octal mode")
    live = host.get_fact(FileStates, paths=[path]).get(path)
    if live is None:
        yield from files.directory._inner(
            path=posixpath.dirname(path), user=user, group=group, _no_check_owner_mode=True, _no_fail_on_link=True,
        )
    if live is None or live["sha256"] != hashlib.sha256(content.encode("utf-8")).hexdigest():
        arguments = host.current_op_global_arguments or {}
        temp = host.get_temp_filename(path, temp_directory=arguments.get("_temp_dir"))
        yield FileUploadCommand(StringIO(content), path, remote_temp_filename=temp)
        yield chown(path, user, group)
        yield chmod(path, wanted_mode)
        return
    changed = False
    if ensure_mode_int(live["mode"]) != wanted_mode:
        changed = True
        yield chmod(path, wanted_mode)
    if (live["user"], live["group"]) != (user, group):
        changed = True
        yield chown(path, user, group)
    if not changed:
        host.noop(f"file {path} has this content, owner and mode")
