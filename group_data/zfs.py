"""ZFS defaults for hosts in the `zfs` group (spec 80-zfs.md §1).

`zfs_pool_device` and `zfs_pool_force` are host data only: the pool device is a stable
/dev/disk/by-id path that differs per host and has no default.
"""

zfs_pool_name = "rpool"
zfs_pool_properties = {"ashift": 12}
zfs_pool_fs_properties = {"compression": "lz4", "atime": "off"}
zfs_arc_max_bytes = 1073741824
zfs_replication_source = "allyrion"
zfs_replicated_dataset = "rpool/data"
zfs_source_mountpoint = "/data"
sanoid_retention = {"frequently": 0, "hourly": 36, "daily": 30, "monthly": 3, "yearly": 0}

# Replication (spec 80-zfs.md §8): syncoid logs in to each replica as root with this key.
zfs_replication_ssh_key = "/root/.ssh/id_ed25519_zfs_replication"
