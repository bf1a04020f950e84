"""The phase engine: run phases in order, stop at the first failure, clean up what already ran.

A phase has a `title` and `run`; `prepare`, `should_run`, `dry_run` and `cleanup` are optional.
The engine prints "==> <title>" for every phase it runs and skips phases whose `should_run` is
false. In a dry run, mutations are recorded per host by `Context.wet` instead of executed; reads
are always real.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import GoldentoothError


@dataclass(frozen=True)
class Result:
    """The outcome of one remote command."""

    rc: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.rc == 0


class Executor(Protocol):
    """Runs a shell command on a named host (the production one is remote.SshExecutor)."""

    def run(self, host: str, command: str, timeout: int | None = None) -> Result: ...


class CommandFailed(GoldentoothError):
    def __init__(self, host: str, command: str, result: Result):
        self.host, self.command, self.result = host, command, result
        detail = (result.stderr or result.stdout).strip().splitlines()
        super().__init__(f"{host}: `{command}` exited {result.rc}" + (f": {detail[-1]}" if detail else ""))


class PhaseFailed(GoldentoothError):
    """A phase raised; names the phase and carries the cause."""

    def __init__(self, title: str, cause: BaseException):
        self.title, self.cause = title, cause
        super().__init__(f"phase '{title}' failed: {cause}")


@dataclass
class Context:
    """What phases share: the executor, the cluster data, the dry-run switch, recorded state, and the
    sleep gates poll with (tests pass one that only records)."""

    executor: Executor
    cluster: Any
    dry: bool = False
    echo: Callable[[str], None] = print
    planned: dict[str, list[str]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep

    def read(self, host: str, command: str, timeout: int | None = None) -> Result:
        """A read: runs in dry runs too; raises CommandFailed on a non-zero exit."""
        result = self.executor.run(host, command, timeout)
        if not result.ok:
            raise CommandFailed(host, command, result)
        return result

    def wet(self, host: str, message: str, command: str, timeout: int | None = None) -> Result | None:
        """A mutation: executed live (failure raises), only recorded in a dry run."""
        if self.dry:
            self.planned.setdefault(host, []).append(message)
            return None
        self.echo(f"    {host}: {message}")
        return self.read(host, command, timeout)


class Phase:
    """Base phase: override `title` and `run`; the rest are optional hooks."""

    title = "phase"

    def prepare(self, ctx: Context) -> None:
        """Select hosts from gathered state; an exception aborts before anything runs."""

    def should_run(self, ctx: Context) -> bool:
        return True

    def run(self, ctx: Context) -> None:
        raise NotImplementedError

    def dry_run(self, ctx: Context) -> None:
        """By default the same code as `run`; mutations only recorded through `ctx.wet`."""
        self.run(ctx)

    def cleanup(self, ctx: Context) -> None:
        """Undo or secure what a phase that ran left behind, after a later failure."""


def run_phases(phases: Sequence[Phase], ctx: Context) -> list[str]:
    """Run phases in order; return the titles that ran. On failure clean up the ran phases (last
    first) and raise PhaseFailed naming the failing phase."""
    ran: list[Phase] = []
    current: Phase | None = None
    try:
        for phase in phases:
            current = phase
            phase.prepare(ctx)
            if not phase.should_run(ctx):
                continue
            ctx.echo(f"==> {phase.title}")
            ran.append(phase)
            (phase.dry_run if ctx.dry else phase.run)(ctx)
    except Exception as error:
        for done in reversed(ran):
            try:
                done.cleanup(ctx)
            except Exception as cleanup_error:  # best effort: report and continue
                ctx.echo(f"    cleanup of '{done.title}' failed: {cleanup_error}")
        raise PhaseFailed(current.title if current else "start", error) from error
    if ctx.dry:
        for host, messages in ctx.planned.items():
            ctx.echo(f"{host}:")
            for message in messages:
                ctx.echo(f"  + {message}")
        if not ctx.planned:
            ctx.echo("nothing would change")
    return [phase.title for phase in ran]
