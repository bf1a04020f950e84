"""SSH key pairs generated on a host, whose private half never leaves it."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.files import File


@operation()
def keypair(path: str, comment: str):
    """
    Generate an ed25519 key pair without passphrase on the host, unless the private key exists.

    + path: private key path; the public key is ``<path>.pub``
    + comment: key comment, e.g. ``zfs-replication@allyrion``

    An existing key is never replaced (its public half may be authorised elsewhere).

    **Examples:**

    .. code:: python

        ssh_keys.keypair(
            name="Generate the ZFS replication key",
            path="/root/.ssh/id_ed25519_zfs_replication",
            comment="zfs-replication@allyrion",
        )
    """
    if not path.startswith("/"):
        raise OperationError(f"ssh_keys.keypair: {path!r} is not an absolute path")
    if host.get_fact(File, path=path):
        host.noop(f"key {path} exists")
        return
    yield StringCommand(
        "ssh-keygen", "-q", "-t", "ed25519", "-N", "''", "-C", QuoteString(comment), "-f", QuoteString(path),
    )
