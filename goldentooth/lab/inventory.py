"""The lab inventory: the real inventory's hosts, groups and data, connected to the lab instead.

`lab up` writes `<state dir>/inventory.py`: a plain goldentooth inventory holding a copy of the
base inventory's nodes and declared groups, which calls `lab_publish`. That overlays LAB_DATA on
every host (how to connect, `lab: True`, where apt fetches from) and loads the lab's own secret
file. Only the hosts the lab booted are published; the whole inventory is still validated.
"""

from __future__ import annotations

import os
import pprint
import runpy
import secrets
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import GoldentoothError, InvalidInventory
from ..inventory import CLUSTER_KEY, Node, publish
from ..model import DERIVED_GROUPS, Cluster
from ..secrets import ENV_VAR, write_secrets
from .errors import LabError

#: Per-host data every lab host gets on top of its inventory data. `{state_dir}`, `{repo_url}`,
#: `{arch}` and `{versions[package]}` are filled in when the lab inventory loads. Extend additively.
LAB_DATA: dict[str, Any] = {
    "lab": True,
    "ssh_config_file": "{state_dir}/ssh_config",
    # The lab's own SSH CAs (made by `lab up`); pyinfra keeps the lab's record of its nodes' host keys.
    "ssh_ca_dir": "{state_dir}/ssh-ca",
    "ssh_known_hosts_file": "{state_dir}/known_hosts",
    "ssh_strict_host_key_checking": "yes",
    "expected_arch": "{arch}",
    "expected_os": "debian 12",
    # The lab repository mirrors the upstream layouts below its root (goldentooth/lab/repo.py).
    "debian_apt_url": "{repo_url}/debian",
    "kubernetes_apt_base": "{repo_url}/kubernetes/core:/stable:",
    "docker_apt_url": "{repo_url}/docker/linux/debian",
    "docker_apt_key_url": "{repo_url}/docker/linux/debian/gpg",
    "nvidia_container_toolkit_apt_url": "{repo_url}/nvidia-container-toolkit/libnvidia-container/stable/deb",
    "nvidia_container_toolkit_apt_key_url": "{repo_url}/nvidia-container-toolkit/libnvidia-container/gpgkey",
    # Docker's containerd.io is not served here; Debian's own containerd is (lab.md).
    "containerd_package": "containerd",
    "containerd_package_version": "{versions[containerd]}",
    # No Calico can run in the lab: a checksummed double with the manifest's shape (kubeadm deploy).
    "calico_manifest": "goldentooth/lab/calico/v3.29.3/calico.yaml",
    # No GPU and no NVIDIA driver in a lab node: install the toolkit and runtime ahead of the driver.
    "gpu_on_missing_driver": "prepare",
    # No ZFS packages and no backports suite in the lab repository (the deploy warns what it skips).
    "zfs_packages": [],
    "debian_backports_suite": None,
    # No workloads to settle in the lab: the upgrade's cluster gate pauses briefly after each node.
    "upgrade_stabilisation_seconds": 2,
}

#: Debian packages whose version the lab reads from its repository for LAB_DATA (`{versions[...]}`),
#: with the version used when the lab runs without a repository.
PINNED_DEBIAN_VERSIONS = {"containerd": "1.6.20~ds1-1+deb12u3"}

#: Secrets the lab generates for itself (never the operator's real ones).
LAB_SECRETS = ("haproxy_stats_password",)


def _fill(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format_map(values)
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


def lab_data(state_dir: str, repo_url: str, arch: str, versions: Mapping[str, str]) -> dict[str, Any]:
    """LAB_DATA with its placeholders filled in."""
    return _fill(LAB_DATA, {"state_dir": state_dir, "repo_url": repo_url, "arch": arch, "versions": versions})


def lab_publish(nodes: list[Node], groups: Mapping[str, list[str]], inventory_file: str, *, group_data_dir: str,
                booted: Sequence[str], repo_url: str, arch: str, versions: Mapping[str, str],
                data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a lab inventory file publishes: the base inventory with LAB_DATA on every host.

    `data` (optional) goes over LAB_DATA on every host: what an operator's change of data would do,
    for an inventory file written beside the lab's own (e.g. a new Calico pin before an upgrade).
    """
    state_dir = Path(inventory_file).resolve().parent
    overlay = {**lab_data(str(state_dir), repo_url, arch, versions), **(data or {})}
    fs_type = filesystem_type(state_dir)
    return publish(
        nodes, groups, inventory_file,
        extra_host_data={node.name: {**overlay, **lab_exports(node, fs_type)} for node in nodes},
        group_data_dir=Path(group_data_dir),
        secrets_file=state_dir / "secrets.yaml",
        only_hosts=booted,
    )


def filesystem_type(path: Path) -> str:
    """The filesystem type findmnt reports for the mount holding `path`."""
    result = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "-T", str(path)], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0 or not result.stdout.strip():
        raise LabError(f"findmnt cannot tell the filesystem of {path}: {result.stderr.strip()}")
    return result.stdout.strip()


def lab_exports(node: Node, fs_type: str) -> dict[str, Any]:
    """A node's `nfs_exports` as the lab serves them: from a directory of the node's under the state
    directory, bind-mounted at the export path (goldentooth.lab.node.export_binds), so of that
    directory's filesystem type and with no disk UUID (no /etc/fstab line)."""
    exports = node.data.get("nfs_exports")
    if not exports:
        return {}
    return {"nfs_exports": [{**{k: v for k, v in export.items() if k != "fs_uuid"}, "fs_type": fs_type}
                            for export in exports]}


def ensure_lab_secrets(path: Path) -> None:
    """Generate the lab's secret file once (random values, mode 0600)."""
    if not path.exists():
        write_secrets(path, {key: secrets.token_urlsafe(24) for key in LAB_SECRETS})


@contextmanager
def _secrets_from(path: Path) -> Iterator[None]:
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = previous


def load_base(inventory: Path, secrets_file: Path) -> Cluster:
    """Load the base inventory with the lab's secrets (the operator's are not needed for a lab)."""
    with _secrets_from(secrets_file):
        try:
            namespace = runpy.run_path(str(inventory))
        except InvalidInventory as error:
            raise LabError(error.render()) from None
    cluster = namespace.get(CLUSTER_KEY)
    if not isinstance(cluster, Cluster):
        raise LabError(f"{inventory} is not a goldentooth inventory (it never calls publish())")
    return cluster


def base_nodes(cluster: Cluster) -> list[Node]:
    """The inventory's nodes as written (own host data only, not group data)."""
    nodes = []
    for host in cluster.hosts.values():
        data = dict(host.host_data)
        address, hardware, mac = data.pop("ipv4_address"), data.pop("hardware"), data.pop("mac_address", None)
        nodes.append(Node(host.name, address, hardware, mac_address=mac, data=data))
    return nodes


def declared_groups(cluster: Cluster) -> dict[str, list[str]]:
    return {name: list(members) for name, members in cluster.groups.items() if name not in DERIVED_GROUPS}


def render(lab: str, base: Path, cluster: Cluster, booted: Sequence[str], repo_url: str, arch: str,
           versions: Mapping[str, str]) -> str:
    """The text of a lab inventory file."""
    nodes = ",\n".join(
        f"    Node({node.name!r}, {node.ipv4_address!r}, {node.hardware!r}, mac_address={node.mac_address!r},"
        f" data={pprint.pformat(dict(node.data), width=100, sort_dicts=True)})"
        for node in base_nodes(cluster)
    )
    return (
        f'"""Inventory of lab {lab}: the hosts, groups and data of {base}, reached in the lab.\n\n'
        "Written by `goldentooth lab up` and removed by `goldentooth lab down`; do not edit. Host data\n"
        "gets goldentooth.lab.inventory.LAB_DATA on top; only the booted hosts are published.\n"
        '"""\n\n'
        "from goldentooth.inventory import Node\n"
        "from goldentooth.lab.inventory import lab_publish\n\n"
        f"_NODES = [\n{nodes},\n]\n\n"
        f"_GROUPS = {pprint.pformat(declared_groups(cluster), width=100, sort_dicts=False)}\n\n"
        "globals().update(lab_publish(\n"
        "    _NODES, _GROUPS, __file__,\n"
        f"    group_data_dir={str(base.resolve().parent / 'group_data')!r},\n"
        f"    booted={list(booted)!r},\n"
        f"    repo_url={repo_url!r},\n"
        f"    arch={arch!r},\n"
        f"    versions={dict(versions)!r},\n"
        "))\n"
    )


def write_lab_inventory(path: Path, text: str) -> Cluster:
    """Write the lab inventory and load it back (it must validate before any node boots)."""
    path.write_text(text, encoding="utf-8")
    try:
        namespace = runpy.run_path(str(path))
    except InvalidInventory as error:
        raise LabError(error.render()) from None
    except GoldentoothError as error:
        raise LabError(f"the lab inventory {path} does not load: {error}") from None
    return namespace[CLUSTER_KEY]
