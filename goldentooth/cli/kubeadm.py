"""`goldentooth upgrade`, `certs check|renew` and `node remove`: kubeadm lifecycle commands.

They run as phase lists (goldentooth.lifecycle) over SSH with the inventory's connection data.
Destructive commands show their plan, then ask for a typed `yes` unless `-y`; without a terminal
they refuse instead of asking.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from ..errors import GoldentoothError
from ..lifecycle import certs as certs_lifecycle
from ..lifecycle import node_remove, upgrade as upgrade_lifecycle, upgrade_lock
from ..lifecycle.engine import Context as PhaseContext
from ..lifecycle.engine import PhaseFailed, run_phases
from ..lifecycle.remote import SshExecutor
from ..pyinfra_run import deploy_file, run_json
from . import EXIT_FAILED, EXIT_INVALID, Context, cli, pass_context


def confirmation(assume_yes: bool, question: str) -> Callable[[], bool]:
    """Approve with -y; otherwise ask for a typed `yes` on a terminal, and refuse without one."""

    def confirm() -> bool:
        if assume_yes:
            return True
        if not sys.stdin.isatty():
            raise GoldentoothError("refusing to proceed without a terminal to confirm on: pass -y/--yes")
        return click.prompt(f"{question} Type 'yes' to proceed", default="", show_default=False) == "yes"

    return confirm


def _run(phase_context: PhaseContext, phases, on_failure: Callable[[PhaseFailed], None] | None = None) -> None:
    try:
        run_phases(phases, phase_context)
    except PhaseFailed as failure:
        click.echo(f"goldentooth: {failure}", err=True)
        if on_failure:
            on_failure(failure)
        sys.exit(EXIT_FAILED)
    except GoldentoothError as error:
        click.echo(f"goldentooth: {error}", err=True)
        sys.exit(EXIT_INVALID)


@cli.command()
@click.option("--to", "target", required=True, help="Target Kubernetes version, e.g. 1.32.7 (one minor at a time).")
@click.option("--resume", is_flag=True, help="Continue an upgrade that stopped (same --to).")
@click.option("--dry", is_flag=True, help="Show the plan and every step; change nothing.")
@click.option("-y", "--yes", "assume_yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def upgrade(context: Context, target: str, resume: bool, dry: bool, assume_yes: bool) -> None:
    """Rolling kubeadm upgrade: first control plane (upgrade apply), other control planes, workers.

    Preconditions (versions, nodes, /readyz, HAProxy, etcd, certificates, clocks), then the lock
    ConfigMap and an etcd snapshot. Each node in turn: kubeadm, kubeadm upgrade, drain, sandbox
    image, kubelet and kubectl, restart, node gate, uncordon, cluster gate. Any failure stops the
    rollout and prints where; run again with --resume.
    """
    cluster = context.cluster()
    try:
        phases = upgrade_lifecycle.phases(cluster, target, resume, confirmation(assume_yes, f"Upgrade the cluster to v{target}?"))
    except GoldentoothError as error:
        click.echo(f"goldentooth: {error}", err=True)
        sys.exit(EXIT_INVALID)
    ctx = PhaseContext(SshExecutor(cluster), cluster, dry=dry, echo=click.echo)

    def explain(failure: PhaseFailed) -> None:
        node, step = ctx.state.get("progress", ("", ""))
        if node:
            click.echo(f"stopped at {node}, step: {step}. Nodes after it were not touched; a drained node stays cordoned; "
                       f"{upgrade_lock.REFERENCE} records where.", err=True)
            click.echo(f"fix the cause, then resume with: goldentooth upgrade --to {target} --resume", err=True)

    _run(ctx, phases, explain)


@cli.group()
def certs() -> None:
    """kubeadm certificates of the control planes: expiry check and renewal."""


@certs.command(name="check")
@click.option("--threshold", type=int, help="Fail when a certificate has fewer days left (default cert_expiry_warn_days).")
@pass_context
def certs_check(context: Context, threshold: int | None) -> None:
    """Table of certificate expiry per control plane; exit 1 when any is under the threshold."""
    cluster = context.cluster()
    limit = threshold if threshold is not None else int(cluster.settings["cert_expiry_warn_days"])
    ctx = PhaseContext(SshExecutor(cluster), cluster, echo=click.echo)
    try:
        lines, ok = certs_lifecycle.check(ctx, limit)
    except GoldentoothError as error:
        click.echo(f"goldentooth: {error}", err=True)
        sys.exit(EXIT_FAILED)
    for line in lines:
        click.echo(line)
    if not ok:
        click.echo(f"certificates with fewer than {limit} days left: run `goldentooth certs renew`", err=True)
        sys.exit(EXIT_FAILED)


@certs.command(name="renew")
@click.option("--dry", is_flag=True, help="Show every step; change nothing.")
@click.option("-y", "--yes", "assume_yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def certs_renew(context: Context, dry: bool, assume_yes: bool) -> None:
    """Renew kubeadm certificates on each control plane in turn (admin host last)."""
    cluster = context.cluster()
    ctx = PhaseContext(SshExecutor(cluster), cluster, dry=dry, echo=click.echo)
    confirm = confirmation(assume_yes, "Renew the certificates and restart the control-plane static pods, one node at a time?")
    _run(ctx, certs_lifecycle.renew_phases(cluster, confirm))
    if not dry:
        click.echo("renewed: fetch admin.conf again for your own kubeconfig")


@cli.group()
def node() -> None:
    """Cluster membership of one node."""


@node.command(name="remove")
@click.argument("name")
@click.option("--allow-even-control-planes", is_flag=True, help="Allow leaving an even number of control planes.")
@click.option("--no-reboot", is_flag=True, help="Do not reboot the node after kubeadm reset.")
@click.option("--dry", is_flag=True, help="Show every step; change nothing.")
@click.option("-y", "--yes", "assume_yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def node_remove_command(context: Context, name: str, allow_even_control_planes: bool, no_reboot: bool, dry: bool, assume_yes: bool) -> None:
    """Drain NAME, kubeadm reset it, delete it from the cluster (and from etcd for a control plane)."""
    cluster = context.cluster()

    def converge_load_balancer() -> None:
        report = run_json(context.inventory, deploy_file("load_balancer"), limit=cluster.names("load_balancer"))
        if report.failed_hosts:
            raise GoldentoothError(f"load balancer converge failed on {', '.join(report.failed_hosts)}")

    removal = node_remove.Removal(name, allow_even_control_planes, not no_reboot, converge_load_balancer)
    ctx = PhaseContext(SshExecutor(cluster), cluster, dry=dry, echo=click.echo)
    _run(ctx, node_remove.phases(removal, confirmation(assume_yes, f"Remove {name} from the cluster (kubeadm reset on {name})?")))
