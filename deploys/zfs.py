"""ZFS: packages, module and ARC limit, pool, source dataset, Sanoid snapshots, Syncoid
replication (spec 80-zfs.md). Runs on the `zfs` group; roles come from data.

Usable alone (`pyinfra inventory.py deploys/zfs.py`), within `deploys/storage.py`, or composed by
other entry files (`zfs_storage()`).
"""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.facts.server import LinuxDistribution
from pyinfra.facts.systemd import SystemdEnabled
from pyinfra.operations import apt, files, systemd
from pyinfra.operations.util import any_changed

from facts.zfs import ZfsPools
from goldentooth import storage_files
from goldentooth.container import kernel_refuses
from goldentooth.inventory import current
from goldentooth.zfs import role
from operations import guard, text_files
from operations import zfs as zfs_ops

from deploys import run_as_entry

UNIT_DIR = "/etc/systemd/system"


def _zfs_packages() -> None:
    """§2: ZFS from bookworm-backports on Debian 12 (with kernel headers for DKMS), else as shipped.

    `zfs_packages` and `debian_backports_suite` are data so a lab without a backports mirror
    can select its own packages (an empty list installs none; no suite adds no source).
    """
    data = host.data
    if not data.zfs_packages:
        logger.warning(f"{host.print_prefix}skipping the ZFS packages: zfs_packages is empty in the data")
        return
    distro = host.get_fact(LinuxDistribution)
    bookworm = distro.get("name") == "Debian" and (distro.get("release_meta") or {}).get("VERSION_CODENAME") == "bookworm"
    if not (bookworm and data.get("debian_backports_suite")):
        if bookworm:
            logger.warning(f"{host.print_prefix}no bookworm-backports source: debian_backports_suite is unset in the data")
        apt.packages(
            name="Install ZFS (the module ships with the kernel)",
            packages=[name for name in data.zfs_packages if name != "zfs-dkms"],
        )
        return
    sources = text_files.present(
        name="Add the bookworm-backports apt source",
        path=data.debian_backports_sources_file,
        content=storage_files.backports_sources(
            data.debian_backports_apt_url, data.debian_backports_suite,
            data.debian_backports_components, data.debian_backports_signed_by,
        ),
    )
    apt.update(name="Update apt after adding bookworm-backports", _if=sources.did_change)
    headers = (data.get("zfs_kernel_headers_by_hardware") or {}).get(data.get("hardware"))
    if headers:
        apt.packages(name="Install the kernel headers for the ZFS module build", packages=[headers])
    apt.packages(
        name="Install ZFS from bookworm-backports (builds the module; slow on a Pi)",
        packages=list(data.zfs_packages),
        extra_install_args=f"-t {data.debian_backports_suite}",
        _timeout=data.get("zfs_packages_timeout", 3600),
    )


def _kernel_and_pool(host_role: str) -> None:
    """§3-5: module, live ARC limit, pool on every zfs host, the replicated dataset on the source."""
    data = host.data
    text_files.present(
        name="Limit the ZFS ARC at module load (/etc/modprobe.d/zfs.conf)",
        path="/etc/modprobe.d/zfs.conf",
        content=storage_files.zfs_modprobe_conf(data.zfs_arc_max_bytes),
    )
    if kernel_refuses("loading the zfs module, the live ARC limit, pool and dataset creation"):
        return
    zfs_ops.module_loaded(name="Load the zfs kernel module")
    zfs_ops.arc_max(name="Apply the ARC limit to the loaded module", max_bytes=data.zfs_arc_max_bytes)
    pool, device, force = data.zfs_pool_name, data.get("zfs_pool_device"), bool(data.get("zfs_pool_force"))
    if not device:
        guard.refuse(name=f"Refuse to create pool {pool}", message=f"pool device missing: set zfs_pool_device in host data for {host.name}")
        return
    if force and pool in host.get_fact(ZfsPools):
        logger.warning(f"{host.print_prefix}zfs_pool_force is still true although pool {pool} exists; remove it from host data")
    zfs_ops.pool(
        name=f"Create pool {pool} on a blank disk",
        pool=pool, device=device, force=force,
        properties=data.zfs_pool_properties, fs_properties=data.zfs_pool_fs_properties,
    )
    if host_role == "source":
        zfs_ops.dataset(
            name=f"Create {data.zfs_replicated_dataset} at {data.zfs_source_mountpoint}",
            dataset=data.zfs_replicated_dataset, properties={"mountpoint": data.zfs_source_mountpoint},
        )


def _sanoid(host_role: str) -> None:
    """§7: sanoid.conf for the role; the packaged timer enabled and running."""
    data = host.data
    files.directory(name="Sanoid configuration directory", path="/etc/sanoid", user="root", group="root", mode="755")
    text_files.present(
        name="Write /etc/sanoid/sanoid.conf",
        path="/etc/sanoid/sanoid.conf",
        content=storage_files.sanoid_conf(
            host_role, data.zfs_replicated_dataset, data.sanoid_retention, data.zfs_replication_source,
        ),
    )
    systemd.service(name="Enable and start sanoid.timer", service="sanoid.timer", running=True, enabled=True)


def _syncoid_units(host_role: str, replicas: list[str]) -> None:
    """§8: syncoid@.service/.timer on the source with one timer per replica; none elsewhere.

    Syncoid logs in with `zfs_replication_ssh_key`, which deploys/ssh_certificates.py generates on
    the source and signs for `ssh_replication_principal` (replicas admit that principal for root).
    """
    data = host.data
    units = {
        "syncoid@.service": storage_files.syncoid_service(data.zfs_replicated_dataset, data.zfs_replication_ssh_key),
        "syncoid@.timer": storage_files.syncoid_timer(data.zfs_replicated_dataset),
    }
    enabled = {unit for unit, on in host.get_fact(SystemdEnabled, services=["syncoid@*.timer"]).items() if on}
    wanted = {f"syncoid@{replica}.timer" for replica in replicas} if host_role == "source" else set()
    for timer in sorted(enabled - wanted):
        systemd.service(name=f"Stop and disable {timer} (not a replica)", service=timer, running=False, enabled=False)
    if host_role == "source":
        written = [
            text_files.present(name=f"Write {unit}", path=f"{UNIT_DIR}/{unit}", content=text)
            for unit, text in units.items()
        ]
    else:
        written = [files.file(name=f"No {unit} on a replica", path=f"{UNIT_DIR}/{unit}", present=False) for unit in units]
    systemd.daemon_reload(name="Reload systemd after a syncoid unit changed", _if=any_changed(*written))
    for timer in sorted(wanted):
        systemd.service(name=f"Enable and start {timer}", service=timer, running=True, enabled=True)


@deploy("ZFS storage")
def zfs_storage() -> None:
    """Every `zfs` host: packages, ARC, pool, Sanoid; the source also its dataset and Syncoid."""
    cluster = current()
    host_role = role(cluster, host.name)
    if host_role is None:
        return
    _zfs_packages()
    apt.packages(name="Install Sanoid/Syncoid and their transfer tools", packages=list(host.data.zfs_tool_packages))
    _kernel_and_pool(host_role)
    _sanoid(host_role)
    _syncoid_units(host_role, cluster.zfs_replicas)


run_as_entry(globals(), zfs_storage)
