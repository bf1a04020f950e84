"""Storage: NFS exports and automounts, ZFS pools, Sanoid snapshots and Syncoid replication.

Entry file, usable alone:

    pyinfra inventory.py deploys/storage.py

Other entry files compose the capability with `from deploys.storage import storage` and call
`storage()`; importing this module runs nothing.
"""

from __future__ import annotations

from pyinfra.api import deploy

from deploys.nfs import nfs_clients, nfs_server
from deploys.zfs import zfs_storage
from deploys import run_as_entry


@deploy("Storage")
def storage() -> None:
    """NFS clients (stale units of a host's own shares removed first), NFS server, then ZFS."""
    nfs_clients()
    nfs_server()
    zfs_storage()


run_as_entry(globals(), storage)
