"""HAProxy in front of the Kubernetes API servers, on the `load_balancer` host (spec 20).

Usable alone: ``pyinfra inventory.py deploys/load_balancer.py``.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from deploys import run_as_entry
from deploys._context import node_context
from goldentooth.inventory import current
from goldentooth.model import Cluster, Host
from goldentooth.render import render
from operations import apt, haproxy, units


def haproxy_config(cluster: Cluster, node: Host) -> str:
    """The HAProxy configuration: API frontend on the endpoint, one server per control plane."""
    data = node.get
    return render(
        "haproxy.cfg.j2",
        stats_port=data("haproxy_stats_port"),
        stats_uri=data("haproxy_stats_uri"),
        stats_user=data("haproxy_stats_user"),
        stats_password=cluster.settings["haproxy_stats_password"],
        api_host=data("api_endpoint_host"),
        api_port=data("api_endpoint_port"),
        api_timeout=data("haproxy_api_timeout"),
        health_path=data("haproxy_health_path"),
        check_inter=data("haproxy_check_inter"),
        check_fall=data("haproxy_check_fall"),
        check_rise=data("haproxy_check_rise"),
        servers=[{"name": node.name, "address": node.address} for node in cluster.group("k8s_control_plane")],
    )


@deploy("HAProxy API load balancer")
def load_balancer() -> None:
    if "load_balancer" not in host.groups:
        return
    ctx = node_context()
    rsyslog_install = apt.installed(name="Install rsyslog (HAProxy's log socket)", packages={"rsyslog": None})
    haproxy_install = apt.installed(name="Install HAProxy", packages={"haproxy": None})
    systemd.service(name="Restart rsyslog for HAProxy's log snippet", service="rsyslog.service",
                    running=True, restarted=True, _if=any_changed(rsyslog_install, haproxy_install))
    units.service(name="Keep rsyslog running", unit="rsyslog.service", running=True, enabled=True)
    files.file(name="Remove a candidate left by an earlier failed validation",
               path="/etc/haproxy/haproxy.cfg.candidate", present=False)
    config = haproxy.config(name="Validate and install the HAProxy configuration", content=haproxy_config(current(), ctx.node))
    systemd.service(name="Reload HAProxy for its new configuration", service="haproxy.service",
                    running=True, reloaded=True, _if=config.did_change)
    units.service(name="Keep HAProxy running", unit="haproxy.service", running=True, enabled=True)


run_as_entry(globals(), load_balancer)
