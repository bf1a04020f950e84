"""JUnit parsing and the per-host, per-capability summary (goldentooth.health.report)."""

from __future__ import annotations

from pathlib import Path

from goldentooth.health.report import CaseResult, read_junit, render_summary

JUNIT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5">
<testcase classname="tests.health.test_base" name="test_hostname[bettley]" time="0.120">
  <properties><property name="host" value="bettley"/><property name="capability" value="base"/></properties>
</testcase>
<testcase classname="tests.health.test_base" name="test_hostname[velaryon]" time="0.110">
  <properties><property name="host" value="velaryon"/><property name="capability" value="base"/></properties>
  <failure message="AssertionError: assert 'ubuntu' == 'velaryon'">long traceback</failure>
</testcase>
<testcase classname="tests.health.test_base" name="test_no_swap[bettley]" time="0.000">
  <properties><property name="host" value="bettley"/><property name="capability" value="base"/></properties>
  <skipped type="pytest.skip" message="lab: @kernel: needs real kernel features">skip</skipped>
</testcase>
<testcase classname="tests.health.test_haproxy.TestListeners" name="test_api[allyrion]" time="0.2">
  <properties><property name="host" value="allyrion"/></properties>
</testcase>
<testcase classname="" name="tests.health.test_nfs_client" time="0.000">
  <error message="collection failure">ImportError</error>
</testcase>
</testsuite></testsuites>
"""


def test_read_junit(tmp_path: Path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    assert read_junit(path) == [
        CaseResult("test_base.py::test_hostname[bettley]", "bettley", "base", "passed", "", 0.12),
        CaseResult(
            "test_base.py::test_hostname[velaryon]", "velaryon", "base", "failed",
            "AssertionError: assert 'ubuntu' == 'velaryon'", 0.11,
        ),
        CaseResult(
            "test_base.py::test_no_swap[bettley]", "bettley", "base", "skipped",
            "lab: @kernel: needs real kernel features", 0.0,
        ),
        CaseResult("test_haproxy.py::TestListeners::test_api[allyrion]", "allyrion", "haproxy", "passed", "", 0.2),
        CaseResult("test_nfs_client.py", "-", "nfs_client", "error", "collection failure"),
    ]


def test_summary_table_failures_skips_and_totals():
    results = [
        CaseResult("test_base.py::test_a[bettley]", "bettley", "base", "passed"),
        CaseResult("test_base.py::test_b[bettley]", "bettley", "base", "skipped", "lab: @kernel: x"),
        CaseResult("test_base.py::test_a[velaryon]", "velaryon", "base", "failed", "boom"),
        CaseResult("test_base.py::test_b[velaryon]", "velaryon", "base", "skipped", "lab: @kernel: x"),
        CaseResult("test_gpu.py::test_smi[velaryon]", "velaryon", "gpu", "skipped", "lab: @gpu: y"),
        CaseResult("test_cluster.py::test_nodes", "-", "cluster", "passed"),
    ]
    assert render_summary(results).splitlines() == [
        "host      base         cluster  gpu",
        "bettley   ok 1 skip 1  -        -",
        "velaryon  FAIL 1/2     -        skip 1",
        "-         -            ok 1     -",
        "",
        "failures:",
        "  velaryon   test_base.py::test_a[velaryon]: failed: boom",
        "",
        "skipped:",
        "     2 x lab: @kernel: x",
        "     1 x lab: @gpu: y",
        "",
        "2 passed, 1 failed, 0 error, 3 skipped on 2 host(s)",
    ]


def test_empty_run_summary():
    assert render_summary([]) == "\n0 passed, 0 failed, 0 error, 0 skipped on 0 host(s)"
