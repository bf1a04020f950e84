"""Node base on every host (spec 10-node-base.md): identity, apt safety, kernel, swap, time, logs.

Usable alone: ``pyinfra inventory.py deploys/node_base.py``.
"""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from deploys import run_as_entry
from deploys._context import NodeContext, node_context
from goldentooth.inventory import current
from goldentooth.render import render
from operations import apt, boot, kernel, swap, text_files, timedate, units

MODULES = ["overlay", "br_netfilter"]
SYSCTLS = {
    "net.bridge.bridge-nf-call-iptables": 1,
    "net.bridge.bridge-nf-call-ip6tables": 1,
    "net.ipv4.ip_forward": 1,
}
ROOT_FILE = {"user": "root", "group": "root", "mode": "644"}


def _identity(ctx: NodeContext) -> None:
    cluster = current()
    text_files.present(name="Write /etc/hostname", path="/etc/hostname", content=f"{host.name}\n", **ROOT_FILE)
    server.hostname(name="Set the running hostname", hostname=host.name)
    files.line(name="Remove loopback lines naming this host from /etc/hosts", path="/etc/hosts",
               line=r"^127\.0\.1\.1\s", present=False)
    files.block(name="Remove the original's /etc/hosts block", path="/etc/hosts", present=False,
                marker="# {mark}", begin="Ansible inventory hosts BEGIN", end="Ansible inventory hosts END")
    lines = [f"{node.address} {node.fqdn} {node.name}" for node in cluster.hosts.values()]
    lines.append(f"{ctx.data('api_endpoint_host')} {ctx.data('api_endpoint_alias')}")
    files.block(name="Write the cluster's hosts to /etc/hosts", path="/etc/hosts", content=lines,
                marker="# {mark} goldentooth managed hosts", begin="BEGIN", end="END")


def _apt_safety(ctx: NodeContext) -> None:
    apt.installed(name="Install apt prerequisites",
                  packages={"ca-certificates": None, "curl": None, "gpg": None})
    text_files.present(name="Block Docker Engine packages (never the cluster's containerd)",
                       path="/etc/apt/preferences.d/goldentooth-block-docker.pref",
                       content=render("apt-block.pref.j2", packages=ctx.data("apt_blocked_packages")), **ROOT_FILE)
    files.file(name="Remove the original's ineffective Docker pin", path="/etc/apt/preferences.d/block-docker",
               present=False)
    apt.not_installed(name="Check that no Docker Engine package is installed",
                      packages=ctx.data("apt_blocked_packages"),
                      reason="Docker Engine breaks the cluster's containerd; remove it explicitly")


def _kernel(ctx: NodeContext) -> None:
    text_files.present(name="Persist kernel modules", path="/etc/modules-load.d/kubernetes.conf",
                       content=render("modules-load.conf.j2", modules=MODULES), **ROOT_FILE)
    kernel.modprobe_d_cleaned(name="Remove the original's module list from modprobe.d",
                              path="/etc/modprobe.d/kubernetes.conf")
    kernel.modules_loaded(name="Load kernel modules", modules=MODULES, container=ctx.container)
    text_files.present(name="Persist Kubernetes sysctls", path="/etc/sysctl.d/99-kubernetes.conf",
                       content=render("sysctl.conf.j2", values=SYSCTLS), **ROOT_FILE)
    kernel.sysctls(name="Apply Kubernetes sysctls", values=SYSCTLS, container=ctx.container)
    swap.disabled(name="Turn swap off and keep it off", container=ctx.container)


def _ntp_servers_file(ctx: NodeContext, template: str, path: str):
    """The NTP server list file when `ntp_servers` is set; absent (distribution defaults) otherwise."""
    servers = ctx.data("ntp_servers") or []
    if servers:
        return text_files.present(name="Configure the NTP servers", path=path, content=render(template, servers=servers),
                                  **ROOT_FILE)
    return files.file(name="Use the distribution's NTP servers", path=path, present=False)


def _time(ctx: NodeContext) -> None:
    if ctx.data("time_sync_service") == "chrony":
        unit = "chrony.service"
        apt.installed(name="Install chrony", packages={"chrony": None})
        sources = _ntp_servers_file(ctx, "chrony.sources.j2", "/etc/chrony/sources.d/goldentooth.sources")
        apply = ["chronyc reload sources"]
    else:
        unit = "systemd-timesyncd.service"
        apt.installed(name="Install systemd-timesyncd", packages={"systemd-timesyncd": None})
        files.directory(name="Create the timesyncd drop-in directory", path="/etc/systemd/timesyncd.conf.d",
                        user="root", group="root", mode="755")
        sources = _ntp_servers_file(ctx, "timesyncd.conf.j2", "/etc/systemd/timesyncd.conf.d/goldentooth.conf")
        apply = ["systemctl restart systemd-timesyncd.service"]
    if ctx.container:
        logger.warning(f"{host.name}: container detected, {unit} cannot run here (no CAP_SYS_TIME): "
                       "installed and configured, not started")
        units.service(name=f"Enable {unit}", unit=unit, running=None, enabled=True)
    else:
        units.service(name=f"Run {unit}", unit=unit, running=True, enabled=True)
        server.shell(name="Apply the NTP server list", commands=apply, _if=sources.did_change)
        if unit == "systemd-timesyncd.service":
            timedate.ntp(name="Enable network time synchronisation")
    timedate.timezone(name="Set the timezone", zone=ctx.data("timezone"))


def _journald(ctx: NodeContext) -> None:
    files.directory(name="Create journald drop-in directory", path="/etc/systemd/journald.conf.d",
                    user="root", group="root", mode="755")
    config = text_files.present(name="Limit the journal size", path="/etc/systemd/journald.conf.d/60-goldentooth.conf",
                                content=render("journald.conf.j2", system_max_use=ctx.data("journald_system_max_use")),
                                **ROOT_FILE)
    systemd.service(name="Restart journald for its new size limit", service="systemd-journald.service",
                    restarted=True, _if=config.did_change)


def _raspberry_pi(ctx: NodeContext) -> None:
    if ctx.container:
        logger.warning(f"{host.name}: container detected, Raspberry Pi boot settings skipped")
        return
    if not ctx.profile["is_raspberry_pi"]:
        return
    cmdline = boot.cmdline_tokens(name="Enable cgroups on the kernel command line",
                                  path="/boot/firmware/cmdline.txt", present=ctx.data("pi_cmdline_tokens"),
                                  absent=["cgroup_disable=memory"])
    config = files.block(name="Write the managed block of config.txt", path="/boot/firmware/config.txt",
                         content=pi_config_lines(ctx), marker="# {mark} goldentooth managed",
                         begin="BEGIN", end="END")
    changed = any_changed(cmdline, config)
    if reboot_allowed(ctx):
        server.reboot(name="Reboot for the new boot settings", reboot_timeout=300, _if=changed)
    else:
        server.shell(name="Record that a reboot is required (left to the drain-aware reboot)",
                     commands=["mkdir -p /run/goldentooth && echo 'boot settings changed' >> /run/goldentooth/reboot-required"],
                     _if=changed)


def reboot_allowed(ctx: NodeContext) -> bool:
    """`allow_reboot` from data, else true only for a host that serves nothing yet (spec 10 §9.3)."""
    explicit = ctx.data("allow_reboot")
    if explicit is not None:
        return bool(explicit)
    if any(ctx.node.in_group(group) for group in ("load_balancer", "nfs_server", "zfs")):
        return False
    return not host.get_fact(File, path="/etc/kubernetes/kubelet.conf")


def pi_config_lines(ctx: NodeContext) -> list[str]:
    """The config.txt block (spec 10 §9.2): overclock on pi4b only, fan in millidegrees, Wi-Fi off."""
    lines = ["[all]"]
    if ctx.node.hardware.startswith("pi4b"):
        lines += [f"{key}={value}" for key, value in ctx.data("pi_config_txt").items()]
    fan = ctx.data("pi_fan")
    lines.append(f"dtoverlay=gpio-fan,gpiopin={fan['gpiopin']},temp={fan['temp']}")
    if ctx.data("pi_disable_wifi"):
        lines.append("dtoverlay=disable-wifi")
    return lines


@deploy("Node base")
def node_base() -> None:
    ctx = node_context()
    _identity(ctx)
    _apt_safety(ctx)
    _kernel(ctx)
    _time(ctx)
    _journald(ctx)
    _raspberry_pi(ctx)


run_as_entry(globals(), node_base)
