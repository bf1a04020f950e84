"""Shared parts of the lab doubles: root prefix, invocation log, and a pflag-style parser.

Every path a double touches goes through ``path()``, which prefixes $GOLDENTOOTH_DOUBLE_ROOT
(default /), so tests run the doubles in temporary roots. Every invocation is appended as one
JSON line to /var/log/<tool>-double.log with its argv (token secrets and certificate keys
masked), time, exit code and details such as the
digest of a config file, so lab tests can assert order and arguments.
"""

from __future__ import annotations

import json
import re
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT_ENV = "GOLDENTOOTH_DOUBLE_ROOT"
SECRETS = (re.compile(r"\b([a-z0-9]{6})\.[a-z0-9]{16}\b"), re.compile(r"(?<!sha256:)\b[0-9a-f]{64}\b"))


def mask(text: str) -> str:
    """Bootstrap token secrets and certificate keys masked (the token id stays for tracing)."""
    return SECRETS[1].sub("<certificate-key>", SECRETS[0].sub(r"\1.<secret>", text))


def path(absolute: str) -> Path:
    """``absolute`` below the double's root prefix."""
    return Path(os.environ.get(ROOT_ENV, "/")) / absolute.lstrip("/")


class UsageError(Exception):
    """A command-line error, printed in the tool's own style; exit code 1."""


class Failure(Exception):
    """A runtime error (validation, state); exit code 1."""


@dataclass
class Flags:
    """Flag definitions of one command: long name -> (kind, default); kinds bool, str, list
    (comma-separated, repeatable: pflag's stringSlice) and array (repeatable, never split: stringArray)."""

    spec: dict[str, tuple[str, object]]
    short: dict[str, str] = field(default_factory=dict)

    def parse(self, args: list[str]) -> tuple[dict[str, object], list[str]]:
        """Split ``args`` into flag values and positional arguments, rejecting unknown flags."""
        values: dict[str, object] = {name: (list(default) if kind in ("list", "array") else default)
                                     for name, (kind, default) in self.spec.items()}
        values["_set"] = set()
        positional: list[str] = []
        items = list(args)
        while items:
            arg = items.pop(0)
            if arg == "--":
                positional += items
                break
            if not arg.startswith("-") or arg == "-":
                positional.append(arg)
                continue
            name, has_value, value = arg.lstrip("-").partition("=")
            if not arg.startswith("--"):
                if name[:1] not in self.short:
                    raise UsageError(f"unknown shorthand flag: '{name[:1]}' in {arg}")
                if len(name) > 1 and not has_value:
                    has_value, value = True, name[1:]
                name = self.short[name[:1]]
            elif name not in self.spec:
                raise UsageError(f"unknown flag: --{name}")
            kind, _ = self.spec[name]
            if kind == "bool":
                if has_value and value not in ("true", "false"):
                    raise UsageError(f'invalid argument "{value}" for "--{name}" flag: strconv.ParseBool: parsing "{value}": invalid syntax')
                values[name] = value != "false"
            else:
                if not has_value:
                    if not items:
                        raise UsageError(f"flag needs an argument: --{name}")
                    value = items.pop(0)
                if kind == "list":
                    values[name] = [*values[name], *[v for v in value.split(",") if v]]  # type: ignore[list-item]
                elif kind == "array":
                    values[name] = [*values[name], value]  # type: ignore[list-item]
                else:
                    values[name] = value
            values["_set"].add(name)  # type: ignore[union-attr]
        return values, positional


def log_path(tool: str) -> Path:
    return path(f"/var/log/{tool}-double.log")


def run_logged(tool: str, argv: list[str], body: Callable[[dict], int],
               usage_style: Callable[[str], str], failure_style: Callable[[str], str] = str) -> int:
    """Run ``body`` with a details dict it may fill; log the call; print errors in the tool's style."""
    details: dict = {}
    started = time.time()
    code = 1
    try:
        code = body(details)
    except UsageError as error:
        print(usage_style(str(error)), file=sys.stderr)
    except Failure as error:
        print(failure_style(str(error)), file=sys.stderr)
    finally:
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "tool": tool,
                  "argv": [mask(a) for a in argv], "exit": code, **details}
        log = log_path(tool)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
    return code


def write_file(absolute: str, content: str | bytes, mode: int = 0o644) -> Path:
    """Write a file below the root prefix with ``mode`` (created with it, never wider)."""
    target = path(absolute)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(target, mode)
    return target
