"""`goldentooth test`: run the testinfra health checks (tests/health) against the inventory's hosts."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from .. import PROJECT_ROOT
from ..health.report import read_junit, render_summary
from . import EXIT_FAILED, EXIT_INVALID, Context, cli, pass_context

HEALTH_DIR = PROJECT_ROOT / "tests" / "health"



def capability_names() -> list[str]:
    return sorted(path.stem.removeprefix("test_") for path in HEALTH_DIR.glob("test_*.py"))


def default_workers(hosts: int, cpus: int | None = None) -> int:
    """One worker per host, at most two per CPU (each SSH command costs CPU on the controller,
    and workers take about a second to start); no worker processes for a single host."""
    workers = min(hosts, 2 * (cpus or os.cpu_count() or 1))
    return workers if workers > 1 else 0


def pytest_argv(
    inventory: Path,
    junitxml: Path,
    groups: str | None = None,
    capabilities: tuple[str, ...] = (),
    keyword: str | None = None,
    markexpr: str | None = None,
    workers: int = 0,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The pytest command line of a health run (run from the project root)."""
    argv = [sys.executable, "-m", "pytest", str(HEALTH_DIR), "--inventory", str(inventory.resolve())]
    argv += ["-q", "--tb=short", "-p", "no:cacheprovider", "--junitxml", str(junitxml)]
    argv += ["-n", str(workers)] + (["--dist", "load"] if workers else [])
    if groups:
        argv += ["--groups", groups]
    for capability in capabilities:
        argv += ["--capability", capability]
    if keyword:
        argv += ["-k", keyword]
    if markexpr:
        argv += ["-m", markexpr]
    return argv + list(extra)


def exit_code(pytest_rc: int) -> int:
    """goldentooth's exit code for pytest's: 0 all passed, 2 usage error, 1 anything else.

    pytest's 5 (no test collected) is a failure: a run that checks nothing proves nothing.
    """
    if pytest_rc == 0:
        return 0
    return EXIT_INVALID if pytest_rc == 4 else EXIT_FAILED


@cli.command(name="test", context_settings={"ignore_unknown_options": True})
@click.option("--groups", help="Only these hosts and groups (comma-separated).")
@click.option(
    "--capability",
    "capabilities",
    multiple=True,
    help="Only this capability (tests/health/test_<capability>.py); repeat or comma-separate.",
)
@click.option("--junitxml", type=click.Path(dir_okay=False), help="Also keep the JUnit XML report at PATH.")
@click.option("-k", "keyword", metavar="EXPR", help="Only tests matching this pytest -k expression.")
@click.option("-m", "markexpr", metavar="EXPR", help='pytest marker expression, e.g. "not slow and not e2e".')
@click.option("-n", "workers", type=click.IntRange(min=0), help="Parallel workers (default: one per host, at most two per CPU).")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- PYTEST_ARGS]")
@pass_context
def health_test(
    context: Context,
    groups: str | None,
    capabilities: tuple[str, ...],
    junitxml: str | None,
    keyword: str | None,
    markexpr: str | None,
    workers: int | None,
    pytest_args: tuple[str, ...],
) -> None:
    """Check the hosts' health with the testinfra suites in tests/health, over SSH.

    Each check runs once per host of the groups it declares, in parallel across hosts, then a
    summary per host and capability is printed. Checks that need a real kernel, control plane or
    GPU are reported as skipped on lab hosts. Exit 0 when every selected check passed, 1 when one
    failed or none ran, 2 for invalid inventory or usage.
    """
    cluster = context.cluster()
    try:
        hosts = cluster.select(groups) if groups else list(cluster.hosts.values())
    except KeyError as error:
        raise click.UsageError(f"{error.args[0]!r} is neither a host nor a group of {cluster.source}") from None
    wanted = tuple(name.strip() for value in capabilities for name in value.split(",") if name.strip())
    unknown = sorted(set(wanted) - set(capability_names()))
    if unknown:
        raise click.UsageError(f"unknown capability {', '.join(unknown)}; known: {', '.join(capability_names())}")
    with tempfile.TemporaryDirectory(prefix="goldentooth-test-") as scratch:
        report = Path(junitxml) if junitxml else Path(scratch) / "junit.xml"
        argv = pytest_argv(
            context.inventory,
            report.resolve(),
            groups,
            wanted,
            keyword,
            markexpr,
            default_workers(len(hosts)) if workers is None else workers,
            pytest_args,
        )
        started = time.monotonic()
        rc = subprocess.run(argv, cwd=PROJECT_ROOT, env=os.environ.copy(), check=False).returncode
        elapsed = time.monotonic() - started
        click.echo("")
        if report.exists():
            click.echo(render_summary(read_junit(report)) + f" in {elapsed:.1f}s")
        else:
            click.echo(f"goldentooth: pytest wrote no report (exit {rc})", err=True)
    if rc == 5:
        click.echo("goldentooth: no check selected", err=True)
    sys.exit(exit_code(rc))
