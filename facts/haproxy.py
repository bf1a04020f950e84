"""The load balancer's view of its backends: HAProxy's stats CSV (spec 20-load-balancer.md §4).

Read on the load balancer host itself, over loopback. The basic-auth credentials come from the
`stats auth` line of the host's own haproxy.cfg and reach curl on standard input (`-K -`), so the
stats password never appears on a command line or in a log.
"""

from __future__ import annotations

import csv
import re

from pyinfra.api import FactBase, QuoteString, StringCommand

CONFIG = "/etc/haproxy/haproxy.cfg"
CREDENTIALS = "sed -n 's/^ *stats auth \\(.*\\)$/user = \"\\1\"/p'"
URI = re.compile(r"^/[A-Za-z0-9._/-]*$")
AGGREGATES = ("FRONTEND", "BACKEND")


def stats_command(port: int, uri: str, config: str = CONFIG) -> StringCommand:
    """The shell command printing the stats CSV, or nothing when HAProxy does not answer."""
    if not URI.match(uri) or not 0 < int(port) < 65536:
        raise ValueError(f"invalid HAProxy stats location {port!r} {uri!r}")
    return StringCommand(
        CREDENTIALS, QuoteString(config), "| curl -sf --max-time 5 -K -",
        QuoteString(f"http://127.0.0.1:{int(port)}{uri};csv"), "|| true",
    )


def parse_stats(output: list[str]) -> dict[str, dict[str, str]] | None:
    """``{proxy: {server: status}}`` from the CSV lines; None when no CSV came back."""
    lines = [line for line in output if line.strip()]
    if not lines or not lines[0].startswith("# pxname,"):
        return None
    rows = csv.DictReader([lines[0][2:], *lines[1:]])
    backends: dict[str, dict[str, str]] = {}
    for row in rows:
        if row.get("svname") not in AGGREGATES:
            backends.setdefault(row["pxname"], {})[row["svname"]] = row.get("status") or ""
    return backends


def is_up(status: str) -> bool:
    """HAProxy server states that route traffic: ``UP``, and ``UP 1/3`` while a check goes down."""
    return status == "UP" or status.startswith("UP ")


class HaproxyBackends(FactBase[dict[str, dict[str, str]] | None]):
    """
    The status of every backend server in HAProxy's stats CSV, read on the load balancer host.

    + port: the stats frontend port (``haproxy_stats_port``)
    + uri: the stats URI (``haproxy_stats_uri``)

    ``None`` when HAProxy does not answer (not installed, stopped, or the credentials are wrong).

    .. code:: python

        {"k8s-api-server": {"bettley": "UP", "cargyll": "DOWN", "dalt": "UP"}}
    """

    def requires_command(self, port: int, uri: str) -> str:
        return "curl"

    def command(self, port: int, uri: str) -> StringCommand:
        return stats_command(port, uri)

    def process(self, output: list[str]) -> dict[str, dict[str, str]] | None:
        return parse_stats(output)
