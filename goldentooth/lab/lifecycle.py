"""`lab up`, `lab down` and `lab status`: the lab's lifecycle, all or nothing.

`up` validates everything (inventory, host selection, image, repository) before it creates any
kernel object, records each object in the lab state before relying on it, boots all nodes in
parallel, checks SSH to every node, and tears everything down again if any step fails. `down`
removes every process, mount, namespace and route the lab made, even without a state file
(everything carries the lab's prefix), and is safe to run twice.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import cgroup, network, node, repository, sshconfig
from .command import run
from .errors import LabError
from .image import CACHE_DIR, controller_arch, ensure_image
from .inventory import PINNED_DEBIAN_VERSIONS, ensure_lab_secrets, load_base, render, write_lab_inventory
from .prerequisites import PACKAGES, RUNTIME, raise_kernel_limits, require_root_linux, require_tools
from .state import Lab, LabState, NodeRecord
from ..model import Cluster, Host

Echo = Callable[[str], None]
WORKERS = 8


def select_hosts(cluster: Cluster, inventory: Path, hosts: str | None, groups: str | None) -> list[Host]:
    """The hosts to boot: named hosts, members of named groups, or every host."""
    if not hosts and not groups:
        return list(cluster.hosts.values())
    wanted: set[str] = set()
    for name in filter(None, (part.strip() for part in (hosts or "").split(","))):
        if name not in cluster.hosts:
            raise LabError(f"{name!r} is not a host of {inventory} (hosts: {', '.join(cluster.hosts)})")
        wanted.add(name)
    for group in filter(None, (part.strip() for part in (groups or "").split(","))):
        if group not in cluster.groups:
            raise LabError(f"{group!r} is not a group of {inventory} (groups: {', '.join(cluster.groups)})")
        wanted.update(cluster.groups[group])
    return [host for name, host in cluster.hosts.items() if name in wanted]


def is_up(state: LabState) -> bool:
    """Every recorded node process is alive and the lab finished booting."""
    return state.ready and all(record.nspawn is not None and record.nspawn.alive() for record in state.nodes.values())


def up(lab: Lab, inventory: Path, echo: Echo, hosts: str | None = None, groups: str | None = None,
       repo_tree: Path | None = None, no_repo: bool = False) -> LabState:
    """Boot the selected inventory hosts as lab nodes (or report that the lab is already up)."""
    require_root_linux()
    require_tools(RUNTIME if no_repo or repo_tree else PACKAGES)
    raise_kernel_limits(echo)
    with lab.locked():
        started = time.monotonic()
        sshconfig.ensure_operator_key(lab.key)
        ensure_lab_secrets(lab.secrets)
        base = load_base(inventory, lab.secrets)
        selected = select_hosts(base, inventory, hosts, groups)
        names = [host.name for host in selected]
        existing = lab.load()
        if existing is not None and is_up(existing):
            if existing.hosts == names:
                echo(f"lab {lab.name} is already up ({len(names)} nodes); `goldentooth lab status` shows them")
                return existing
            raise LabError(f"lab {lab.name} is up with other hosts ({', '.join(existing.hosts)}): "
                           "run `goldentooth lab down` first")
        if existing is not None or network.namespaces(lab.prefix) or node.mounts_under(lab.dir):
            echo(f"lab {lab.name} was left half up: removing what is left of it first")
            teardown(lab, existing, echo)
        try:
            state = _prepare_and_boot(lab, inventory, base, selected, repo_tree, no_repo, echo)
        except BaseException:
            if lab.load() is not None:
                echo("lab up failed: removing everything it started")
            try:
                teardown(lab, lab.load(), echo)
            except LabError as problem:
                echo(f"and the clean-up failed too: {problem}")
            raise
        echo(f"lab {lab.name}: {len(names)} node(s) up in {time.monotonic() - started:.1f}s; "
             f"inventory {lab.inventory}, ssh config {lab.ssh_config}")
        return state


def _prepare_and_boot(lab: Lab, inventory: Path, base: Cluster, hosts: Sequence[Host], repo_tree: Path | None,
                      no_repo: bool, echo: Echo) -> LabState:
    """Get the image and repository, write and validate the lab inventory, then boot (all or nothing)."""
    arch = controller_arch()
    gateway, cidr = str(base.settings["gateway"]), str(base.settings["host_network_cidr"])
    names = [host.name for host in hosts]
    image_root = ensure_image(echo, arch)
    tree = None if no_repo else (repo_tree or repository.build(CACHE_DIR, arch, echo))
    if tree is not None:
        repository.check_tree(tree)
    versions = repository.debian_versions(tree, arch, PINNED_DEBIAN_VERSIONS)
    lab_cluster = write_lab_inventory(lab.inventory, render(lab.name, inventory, base, names,
                                                            repository.url(gateway), arch, versions))
    selected = [lab_cluster.hosts[name] for name in names]
    if sshconfig.ensure_ssh_ca(lab.ssh_ca, lab_cluster):
        echo(f"lab SSH CAs created in {lab.ssh_ca}")
    state = LabState(
        name=lab.name, inventory=str(inventory), hosts=names, cidr=cidr, gateway=gateway, image=str(image_root),
        fabric=f"{lab.prefix}-fabric", repository=str(tree or ""),
        nodes={host.name: NodeRecord(host.name, host.address, f"{lab.prefix}-{host.name}",
                                     str(lab.nodes_dir / host.name / "root")) for host in selected},
    )
    lab.save(state)
    _bring_up(lab, state, selected, tree, echo)
    return state


def _bring_up(lab: Lab, state: LabState, hosts: Sequence[Host], tree: Path | None, echo: Echo) -> None:
    network.create_fabric(state.fabric, state.gateway, state.cidr)
    network.hold_guard_route(state.cidr, lab.name)
    lab.logs_dir.mkdir(parents=True, exist_ok=True)
    if tree is not None:
        state.httpd = repository.start(state.fabric, state.gateway, tree, lab.logs_dir / "repository.log")
        lab.save(state)
    echo(f"booting {len(hosts)} node(s) from {state.image}")
    host_keys: dict[str, list[str]] = {}
    identity_for = _identities(lab, hosts, tree)

    def start(item: tuple[int, Host]) -> None:
        index, host = item
        record = state.nodes[host.name]
        network.create_node_netns(record.netns, state.fabric, network.fabric_port(index, host.name), host.address,
                                  state.cidr, state.gateway)
        root = node.mount_overlay(Path(state.image), Path(record.mounted).parent)
        host_keys[host.name] = node.write_identity(root, identity_for(host))
        binds = node.export_binds(Path(record.mounted).parent, host.data.get("nfs_exports") or [])
        record.nspawn = node.boot(record, root, lab.logs_dir / f"{host.name}.console.log",
                                  cgroup.node_cgroups(lab.name, host.name), binds)

    try:
        _parallel(start, list(enumerate(hosts)))
    finally:
        lab.save(state)
    deadline = time.monotonic() + node.READY_TIMEOUT

    def ready(host: Host) -> None:
        record = state.nodes[host.name]
        record.init_pid = node.wait_ready(record, lab.logs_dir / f"{host.name}.console.log", deadline)

    echo(f"waiting for {len(hosts)} node(s) to finish booting")
    try:
        _parallel(ready, list(hosts))
    finally:
        lab.save(state)
    echo("all nodes running")
    aliases = {host.name: [host.name, host.address, host.fqdn] for host in hosts}
    sshconfig.write_known_hosts(lab.known_hosts, aliases, host_keys)
    sshconfig.write_ssh_config(lab.ssh_config, lab.name, state.fabric,
                               {host.name: (host.address, host.fqdn) for host in hosts},
                               lab.key, lab.known_hosts, lab.run_dir)
    # Every node runs sshd (a failed ssh.service would have made its boot degraded); one real login
    # proves the path all share: ProxyCommand into the fabric, operator key, known host keys.
    _probe_ssh(lab, hosts[0].name)
    state.ready = True
    lab.save(state)


def _identities(lab: Lab, hosts: Sequence[Host], tree: Path | None) -> Callable[[Host], node.Identity]:
    hosts_file = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" + "".join(
        f"{host.address}\t{host.fqdn} {host.name}\n" for host in hosts)
    operator_key = lab.key.with_suffix(".pub").read_text(encoding="utf-8")
    keyring = (tree / repository.KEY_FILE).read_bytes() if tree is not None else None

    def identity(host: Host) -> node.Identity:
        debian = str(host.data["debian_apt_url"]) if tree is not None and "debian_apt_url" in host.data else None
        return node.Identity(host.name, hosts_file, operator_key, repository.node_sources(debian), keyring)

    return identity


def _probe_ssh(lab: Lab, name: str) -> None:
    result = run(["ssh", "-F", str(lab.ssh_config), "-o", "BatchMode=yes", name, "true"], check=False)
    if result.returncode != 0:
        raise LabError(f"node {name} booted but SSH to it failed: {result.stderr.strip()}")


def _parallel(work: Callable, items: list) -> None:
    """Run work(item) for every item in threads; re-raise the first failure after all finished."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(work, item) for item in items]
    errors = [future.exception() for future in futures if future.exception() is not None]
    if errors:
        raise errors[0]


def down(lab: Lab, echo: Echo) -> None:
    """Remove the lab completely; safe when it is already down."""
    require_root_linux()
    with lab.locked():
        state = lab.load()
        if state is None and not network.namespaces(lab.prefix) and not node.mounts_under(lab.dir):
            echo(f"lab {lab.name} is not up")
            teardown(lab, None, echo)
            return
        started = time.monotonic()
        teardown(lab, state, echo)
        echo(f"lab {lab.name} is down ({time.monotonic() - started:.1f}s)")


def teardown(lab: Lab, state: LabState | None, echo: Echo) -> None:
    """Stop nodes and the repository server, unmount, delete namespaces and the route; verify."""
    records = list(state.nodes.values()) if state else []
    if any(lab.run_dir.glob("*")):
        sshconfig.close_masters(lab.ssh_config, [record.name for record in records])
    for record in records:
        node.signal_stop(record)
    deadline = time.monotonic() + node.STOP_TIMEOUT
    for record in records:
        node.wait_stopped(record, deadline)
    for namespace in network.namespaces(lab.prefix):
        for pid in node.pids_in_namespace(namespace):
            node.kill(pid)
    if state and state.httpd is not None:
        node.stop_process(state.httpd)
    for mount_point in node.mounts_under(lab.dir):
        node.unmount(mount_point)
    for namespace in network.namespaces(lab.prefix):
        network.delete_netns(namespace)
    for cidr in network.routes_held_by(lab.name):
        network.release_guard_route(cidr, lab.name)
    cgroup.remove_lab_cgroups(lab.name)
    shutil.rmtree(lab.nodes_dir, ignore_errors=True)
    shutil.rmtree(lab.run_dir, ignore_errors=True)
    for path in (lab.ssh_config, lab.known_hosts, lab.inventory):
        path.unlink(missing_ok=True)
    lab.forget()
    left = leftovers(lab, state)
    if left:
        raise LabError(f"lab {lab.name} could not remove: {'; '.join(left)}")


def leftovers(lab: Lab, state: LabState | None) -> list[str]:
    """Anything of this lab still present: processes, mounts, namespaces, route holds."""
    left = [f"namespace {name}" for name in network.namespaces(lab.prefix)]
    left += [f"mount {point}" for point in node.mounts_under(lab.dir)]
    left += [f"route {cidr} held" for cidr in network.routes_held_by(lab.name)]
    left += [f"cgroup {tree}" for tree in cgroup.lab_cgroups(lab.name)]
    if state:
        processes = [record.nspawn for record in state.nodes.values()] + [state.httpd]
        left += [f"process {process.pid}" for process in processes if process is not None and process.alive()]
    return left


def status(lab: Lab) -> tuple[LabState | None, dict[str, str]]:
    """The lab state and each node's `systemctl is-system-running` answer."""
    state = lab.load()
    if state is None:
        return None, {}
    return state, {name: node.system_state(record) for name, record in state.nodes.items()}
