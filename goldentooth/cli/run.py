"""`goldentooth command`, `deploy` and `plan`: act on hosts through pyinfra."""

from __future__ import annotations

import subprocess
import sys

import click

from .. import PROJECT_ROOT
from ..errors import GoldentoothError
from ..model import Cluster
from ..pyinfra_run import RunReport, deploy_file, deploy_names, pyinfra_command, run_json
from . import EXIT_FAILED, EXIT_INVALID, Context, cli, pass_context


def _targets(cluster: Cluster, targets: str) -> list[str]:
    try:
        selected = cluster.select(targets)
    except KeyError as error:
        raise click.UsageError(f"{error.args[0]!r} is neither a host nor a group of {cluster.source}") from None
    if not selected:
        raise click.UsageError(f"{targets!r} selects no host")
    return [host.name for host in selected]


def _deploy(name: str):
    try:
        return deploy_file(name)
    except GoldentoothError as error:
        click.echo(f"goldentooth: {error}", err=True)
        sys.exit(EXIT_INVALID)


def _limits(cluster: Cluster, limit: str | None) -> list[str] | None:
    return _targets(cluster, limit) if limit else None


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("targets")
@click.argument("shell_command", metavar="'CMD'")
@pass_context
def command(context: Context, targets: str, shell_command: str) -> None:
    """Run a shell command on hosts and groups (TARGETS: comma-separated names, or `all`).

    CMD runs through `sh -c` on each host, so pipes, redirects and `&&` work:

        goldentooth command k8s_control_plane 'crictl ps | wc -l'
    """
    cluster = context.cluster()
    hosts = _targets(cluster, targets)
    argv = pyinfra_command(context.inventory, "-y", "exec", "--", "sh", "-c", shell_command, limit=hosts)
    sys.exit(subprocess.run(argv, cwd=PROJECT_ROOT, check=False).returncode)


@cli.command()
@click.argument("name", metavar="NAME")
@click.option("--limit", help="Only these hosts or groups (comma-separated).")
@click.option("--dry", is_flag=True, help="Show what would change; change nothing.")
@click.option("--diff", is_flag=True, help="Show file diffs for changed files.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before executing detected changes.")
@pass_context
def deploy(context: Context, name: str, limit: str | None, dry: bool, diff: bool, yes: bool) -> None:
    """Converge hosts with a deploy from deploys/ (e.g. `kubernetes`, `load_balancer`).

    Equivalent to `pyinfra INVENTORY deploys/NAME.py`; pyinfra's own progress and results are
    shown. The exit code is pyinfra's: non-zero when any host failed.
    """
    cluster = context.cluster()
    path = _deploy(name)
    flags = [flag for flag, on in (("--dry", dry), ("--diff", diff), ("-y", yes)) if on]
    argv = pyinfra_command(context.inventory, *flags, str(path), limit=_limits(cluster, limit))
    sys.exit(subprocess.run(argv, cwd=PROJECT_ROOT, check=False).returncode)


@cli.command()
@click.argument("name", metavar="NAME")
@click.option("--limit", help="Only these hosts or groups (comma-separated).")
@click.option("--diff", is_flag=True, help="Run pyinfra's own dry run with file diffs instead of the summary.")
@pass_context
def plan(context: Context, name: str, limit: str | None, diff: bool) -> None:
    """Show, per host, what a deploy would change. Changes nothing.

    Hosts with changes are listed first with each operation that would run; `~` marks steps that
    run only if an earlier one changes (restarts, reloads). Exit 0 whether or not changes are
    pending; exit 1 if the plan could not be made.
    """
    cluster = context.cluster()
    path = _deploy(name)
    limits = _limits(cluster, limit)
    if diff:
        argv = pyinfra_command(context.inventory, "--dry", "--diff", str(path), limit=limits)
        sys.exit(subprocess.run(argv, cwd=PROJECT_ROOT, check=False).returncode)
    click.echo(f"==> Planning deploys/{path.name} on {len(limits or cluster.hosts)} host(s)", err=True)
    try:
        report = run_json(context.inventory, path, "--dry", limit=limits)
    except GoldentoothError as error:
        click.echo(f"goldentooth: {error}", err=True)
        sys.exit(EXIT_FAILED)
    print_plan(report, limits or list(cluster.hosts))
    if report.failed_hosts:
        sys.exit(EXIT_FAILED)


def print_plan(report: RunReport, hosts: list[str]) -> None:
    """Per-host plan: failures first, then hosts with changes, then the unchanged ones on one line."""
    for host in report.failed_hosts:
        click.echo(f"{host}: FAILED {'; '.join(report.failed.get(host, []))}")
    changing = [host for host in hosts if report.changed.get(host)]
    for host in changing:
        click.echo(f"{host}: {len(report.changed[host])} change(s)")
        for op in report.changed[host]:
            click.echo(f"  + {op}")
        for op in report.conditional.get(host, []):
            click.echo(f"  ~ {op}")
    unchanged = [host for host in hosts if host not in changing and host not in report.failed_hosts]
    if unchanged:
        click.echo(f"no changes: {', '.join(unchanged)}")
    click.echo(f"{report.change_count} change(s) on {len(changing)} host(s)")


@cli.command(name="deploys")
def list_deploys() -> None:
    """List the deploys that `deploy` and `plan` accept."""
    for name in deploy_names():
        doc = (PROJECT_ROOT / "deploys" / f"{name}.py").read_text(encoding="utf-8").split('"""')
        summary = doc[1].strip().splitlines()[0] if len(doc) > 2 else ""
        click.echo(f"{name:<20} {summary}")
