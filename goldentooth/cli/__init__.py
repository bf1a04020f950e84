"""The `goldentooth` command line: inventory, ad-hoc commands, deploys, plans and health checks.

Exit codes: 0 success; 1 a host or check failed; 2 invalid inventory, data or usage.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .. import PROJECT_ROOT, __version__
from ..errors import GoldentoothError, InvalidInventory
from ..inventory import load_inventory
from ..model import Cluster

EXIT_FAILED = 1
EXIT_INVALID = 2


class Context:
    """Options shared by every command."""

    def __init__(self, inventory: str):
        self.inventory = Path(inventory)

    def cluster(self) -> Cluster:
        """Load and validate the inventory, or stop with exit code 2 naming every violation."""
        try:
            return load_inventory(self.inventory)
        except InvalidInventory as error:
            click.echo(error.render(), err=True)
            sys.exit(EXIT_INVALID)
        except GoldentoothError as error:
            click.echo(f"goldentooth: {error}", err=True)
            sys.exit(EXIT_INVALID)


pass_context = click.make_pass_decorator(Context)


def default_inventory() -> str:
    return os.environ.get("GOLDENTOOTH_INVENTORY") or str(PROJECT_ROOT / "inventory.py")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "-i",
    "--inventory",
    default=default_inventory,
    show_default="$GOLDENTOOTH_INVENTORY or inventory.py in the project",
    type=click.Path(exists=True, dir_okay=False),
    help="pyinfra inventory file to act on (e.g. the lab inventory written by `goldentooth lab up`).",
)
@click.version_option(__version__, prog_name="goldentooth")
@click.pass_context
def cli(ctx: click.Context, inventory: str) -> None:
    """Manage the Goldentooth cluster: validate its data, converge hosts, plan changes, check health.

    Every command validates the inventory and its data first and touches no host when it is
    invalid. Deploys live in deploys/ and run through pyinfra.
    """
    ctx.obj = Context(inventory)


OPTIONAL_COMMANDS = ("lab", "health", "kubeadm", "sshca", "gpu")


def load_commands() -> click.Group:
    """Import every command module so that it registers on `cli`; return the group."""
    from . import hosts, run  # noqa: F401  (commands register themselves on `cli`)

    for optional in OPTIONAL_COMMANDS:
        try:
            __import__(f"{__name__}.{optional}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{optional}":
                raise
    return cli


def main() -> None:
    """Console-script entry point."""
    load_commands()()
