"""`goldentooth lab ...`: boot the inventory as local systemd-nspawn nodes, inspect them, remove them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import GoldentoothError
from ..lab import lifecycle, prerequisites
from ..lab.state import Lab
from . import EXIT_FAILED, Context, cli, pass_context


def _echo(message: str) -> None:
    click.echo(message, err=True)


def _reporting(action: Callable[[], Any]) -> Any:
    """Run a lab action; report lab errors as one readable message and exit 1."""
    try:
        return action()
    except GoldentoothError as error:
        click.echo(f"goldentooth lab: {error}", err=True)
        sys.exit(EXIT_FAILED)


@cli.group()
def lab() -> None:
    """A local replica of the cluster: every inventory host as a systemd-nspawn node.

    Nodes are real systemd hosts with their own network namespace, address, hostname and sshd,
    reached over SSH through the lab's own network. `lab up` writes .lab/inventory.py (same hosts,
    groups and data) and .lab/ssh_config, so `pyinfra .lab/inventory.py deploys/kubernetes.py`
    and `goldentooth -i .lab/inventory.py test` run against the lab. Needs root on Linux.
    """


@lab.command()
@click.option("--hosts", help="Boot only these hosts (comma-separated).")
@click.option("--groups", help="Boot only the members of these groups (comma-separated).")
@click.option("--repo", "repo_tree", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Serve this already built lab repository tree instead of building one.")
@click.option("--no-repo", is_flag=True, help="Run the nodes without a package repository.")
@pass_context
def up(context: Context, hosts: str | None, groups: str | None, repo_tree: Path | None, no_repo: bool) -> None:
    """Boot the inventory's hosts (all, or --hosts / --groups) as lab nodes.

    Already up with the same hosts: says so and changes nothing. On any failure everything it
    started is removed again.
    """
    if repo_tree and no_repo:
        raise click.UsageError("--repo and --no-repo exclude each other")
    _reporting(lambda: lifecycle.up(Lab(), context.inventory.resolve(), _echo, hosts=hosts, groups=groups,
                                    repo_tree=repo_tree, no_repo=no_repo))


@lab.command()
def down() -> None:
    """Stop every node and remove the lab's mounts, namespaces and route (safe to repeat)."""
    _reporting(lambda: lifecycle.down(Lab(), _echo))


@lab.command()
def status() -> None:
    """Show the lab's nodes, their addresses and whether their systems are running."""
    current = Lab()
    state, states = _reporting(lambda: lifecycle.status(current))
    if state is None:
        left = lifecycle.leftovers(current, None)
        if left:
            click.echo(f"lab {current.name} is not up but left {'; '.join(left)}: run `goldentooth lab down`")
            sys.exit(EXIT_FAILED)
        click.echo(f"lab {current.name} is not up (state directory {current.dir})")
        return
    click.echo(f"lab {state.name}: {len(state.nodes)} node(s), inventory {current.inventory}")
    click.echo(f"repository: {state.repository or 'none'}; ssh config: {current.ssh_config}")
    for name, record in state.nodes.items():
        pid = record.nspawn.pid if record.nspawn else "-"
        click.echo(f"  {name:<12} {record.address:<15} {states[name]:<10} nspawn {pid}, init {record.init_pid or '-'}")
    if any(value != "running" for value in states.values()):
        sys.exit(EXIT_FAILED)


@lab.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def ssh(name: str, command: tuple[str, ...]) -> None:
    """Open a shell on lab node NAME, or run COMMAND there (through the lab's ssh_config)."""
    current = Lab()
    state = current.load()
    if state is None or not current.ssh_config.is_file():
        click.echo(f"goldentooth lab: lab {current.name} is not up: run `goldentooth lab up`", err=True)
        sys.exit(EXIT_FAILED)
    if name not in state.nodes:
        click.echo(f"goldentooth lab: {name!r} is not a node of lab {current.name} "
                   f"(nodes: {', '.join(state.nodes)})", err=True)
        sys.exit(EXIT_FAILED)
    os.execvp("ssh", ["ssh", "-F", str(current.ssh_config), name, *command])


@lab.command(name="prerequisites")
@click.option("--install", is_flag=True, help="apt-get install what is missing.")
def prerequisites_command(install: bool) -> None:
    """Check (or --install) the Debian packages the lab needs on this machine.

    --install also raises the kernel's inotify limits the nodes need (as `lab up` does).
    """
    if install:
        _reporting(prerequisites.require_root_linux)
        prerequisites.raise_kernel_limits(_echo)
    absent = prerequisites.missing()
    for package, command in prerequisites.PACKAGES.items():
        click.echo(f"  {package:<18} ({command}): {'missing' if package in absent else 'ok'}")
    if not absent:
        click.echo("all lab prerequisites are installed")
        return
    if not install:
        click.echo(f"missing: {' '.join(absent)}; run `goldentooth lab prerequisites --install`", err=True)
        sys.exit(EXIT_FAILED)
    _reporting(lambda: prerequisites.install(absent, _echo))
    still = prerequisites.missing()
    if still:
        click.echo(f"goldentooth lab: still missing after install: {' '.join(still)}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo("all lab prerequisites are installed")
