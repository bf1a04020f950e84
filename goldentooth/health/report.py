"""Read a health run's JUnit XML and summarise it per host and capability.

The suite labels every test case with `host` and `capability` properties (tests/health/conftest.py);
cases without a host (cluster-level checks, collection errors) are listed under `-`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

OUTCOMES = ("passed", "failed", "error", "skipped")
NO_HOST = "-"


@dataclass(frozen=True)
class CaseResult:
    """One test case of the run."""

    test_id: str
    host: str
    capability: str
    outcome: str
    message: str = ""
    seconds: float = 0.0


def _location(classname: str, name: str) -> tuple[str, str]:
    """(capability, pytest-style test id) from JUnit's dotted classname and case name."""
    parts = classname.split(".")
    modules = [index for index, part in enumerate(parts) if part.startswith("test_")]
    if not modules:
        return classname or "?", "::".join(filter(None, [classname, name]))
    first = modules[0]
    test_id = "::".join([f"{parts[first]}.py", *parts[first + 1 :], *filter(None, [name])])
    return parts[first].removeprefix("test_"), test_id


def _case(element: ET.Element) -> CaseResult:
    properties = {prop.get("name"): prop.get("value", "") for prop in element.iter("property")}
    classname = element.get("classname", "")
    outcome, message = "passed", ""
    for tag in ("failure", "error", "skipped"):
        found = element.find(tag)
        if found is not None:
            outcome = "failed" if tag == "failure" else tag
            message = found.get("message") or (found.text or "")
            break
    name = element.get("name", "")
    # a collection error has no classname; its name is the module's dotted path
    capability, test_id = _location(classname, name) if classname else _location(name, "")
    return CaseResult(
        test_id=test_id,
        host=properties.get("host", NO_HOST),
        capability=properties.get("capability") or capability,
        outcome=outcome,
        message=" ".join(message.split())[:300],
        seconds=float(element.get("time") or 0.0),
    )


def read_junit(path: Path) -> list[CaseResult]:
    """Every test case in a pytest JUnit XML file (any junit_family)."""
    return [_case(element) for element in ET.parse(path).getroot().iter("testcase")]


def _cell(counts: Counter) -> str:
    if not counts:
        return "-"
    bad = counts["failed"] + counts["error"]
    total = sum(counts.values())
    if bad:
        return f"FAIL {bad}/{total}"
    if counts["passed"]:
        return f"ok {counts['passed']}" + (f" skip {counts['skipped']}" if counts["skipped"] else "")
    return f"skip {counts['skipped']}"


def render_summary(results: list[CaseResult]) -> str:
    """A host x capability table, the failures, the skip reasons and the totals."""
    table: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for result in results:
        table[result.host][result.capability][result.outcome] += 1
    capabilities = sorted({result.capability for result in results})
    hosts = sorted(table, key=lambda host: (host == NO_HOST, host))
    rows = [["host", *capabilities]] + [[host, *(_cell(table[host][cap]) for cap in capabilities)] for host in hosts]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))] if results else []
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows] if results else []
    failures = sorted(
        (result for result in results if result.outcome in ("failed", "error")), key=lambda r: (r.host, r.test_id)
    )
    if failures:
        lines += ["", "failures:"]
        lines += [f"  {r.host:<10} {r.test_id}: {r.outcome}: {r.message}" for r in failures]
    skips = Counter(result.message for result in results if result.outcome == "skipped")
    if skips:
        lines += ["", "skipped:"]
        lines += [f"  {count:>4} x {reason}" for reason, count in sorted(skips.items(), key=lambda item: -item[1])]
    totals = Counter(result.outcome for result in results)
    hosts_seen = len([host for host in table if host != NO_HOST])
    lines += ["", ", ".join(f"{totals[o]} {o}" for o in OUTCOMES) + f" on {hosts_seen} host(s)"]
    return "\n".join(lines)
