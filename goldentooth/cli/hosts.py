"""`goldentooth hosts` and `goldentooth validate`: read-only views of the inventory."""

from __future__ import annotations

import click

from ..model import SECRET_KEYS
from . import Context, cli, pass_context

SUMMARY_KEYS = (
    "kubernetes_version",
    "control_plane_endpoint",
    "host_network_cidr",
    "service_cidr",
    "pod_cidr",
    "node_domain",
    "k8s_init_node",
)


@cli.command()
@click.argument("group", required=False)
@pass_context
def hosts(context: Context, group: str | None) -> None:
    """List hosts with their address, hardware and groups.

    With GROUP (a group or host name), list only its members. Without it, also print every
    group and a summary of the cluster-wide data. Secrets are never printed.
    """
    cluster = context.cluster()
    try:
        selected = cluster.select(group) if group else list(cluster.hosts.values())
    except KeyError as error:
        raise click.UsageError(f"{error.args[0]!r} is neither a host nor a group of {cluster.source}") from None
    width = max(len(host.name) for host in selected) if selected else 0
    for host in selected:
        groups = ",".join(host.groups)
        click.echo(f"{host.name:<{width}}  {host.address:<15}  {host.hardware:<9}  {groups}")
    if group:
        return
    click.echo("\ngroups:")
    for name, members in cluster.groups.items():
        click.echo(f"  {name:<18} {', '.join(members)}")
    click.echo("\ndata:")
    derived = {
        "control_plane_endpoint": cluster.control_plane_endpoint,
        "k8s_init_node": cluster.init_node,
    }
    for key in SUMMARY_KEYS:
        value = derived.get(key, cluster.settings.get(key))
        click.echo(f"  {key:<24} {value}")
    missing = [key for key in sorted(SECRET_KEYS) if not cluster.settings.get(key)]
    click.echo(f"  {'secrets':<24} {'all set' if not missing else 'missing ' + ', '.join(missing)}")


@cli.command()
@pass_context
def validate(context: Context) -> None:
    """Check the inventory and its data against every rule, touching no host.

    Exit 0 when valid; exit 2 with one line per violation (host or group, key, rule) otherwise.
    """
    cluster = context.cluster()
    click.echo(
        f"{cluster.source}: valid ({len(cluster.hosts)} hosts, {len(cluster.groups)} groups, "
        f"init node {cluster.init_node}, endpoint {cluster.control_plane_endpoint})"
    )

