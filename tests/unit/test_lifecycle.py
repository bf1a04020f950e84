"""Lifecycle commands: phase engine semantics, versions, certs, node removal (upgrade: test_upgrade.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from goldentooth.errors import GoldentoothError
from goldentooth.lifecycle import certs, node_remove, versions
from goldentooth.lifecycle.engine import Context, Phase, PhaseFailed, Result, run_phases
from tests.unit.lifecycle_double import ClusterDouble

PKI = Path(__file__).parent / "data" / "pki"


@pytest.fixture
def double(cluster):
    return ClusterDouble(cluster.names("k8s_control_plane"), [n for n in cluster.names("k8s_workers")])


def context(double, cluster, dry=False, lines=None, sleeps=None):
    return Context(double, cluster, dry=dry, echo=(lines.append if lines is not None else lambda _: None),
                   sleep=(sleeps.append if sleeps is not None else lambda _: None))


def yes():
    return True


# --- engine ---------------------------------------------------------------------------------------

class Recording(Phase):
    def __init__(self, title, log, fail=False, run_it=True, fail_prepare=False):
        self.title, self.log, self.fail, self.run_it, self.fail_prepare = title, log, fail, run_it, fail_prepare

    def prepare(self, ctx):
        self.log.append(f"prepare {self.title}")
        if self.fail_prepare:
            raise RuntimeError("prepare failed")

    def should_run(self, ctx):
        return self.run_it

    def run(self, ctx):
        self.log.append(f"run {self.title}")
        if self.fail:
            raise RuntimeError("boom")

    def cleanup(self, ctx):
        self.log.append(f"cleanup {self.title}")


def test_engine_runs_in_order_skips_and_prints_titles():
    log, lines = [], []
    ran = run_phases([Recording("a", log), Recording("b", log, run_it=False), Recording("c", log)], Context(None, None, echo=lines.append))
    assert ran == ["a", "c"]
    assert log == ["prepare a", "run a", "prepare b", "prepare c", "run c"]
    assert lines[:2] == ["==> a", "==> c"]


def test_engine_stops_at_failure_and_cleans_up_ran_phases_last_first():
    log = []
    phases = [Recording("a", log), Recording("b", log, fail=True), Recording("c", log)]
    with pytest.raises(PhaseFailed) as failure:
        run_phases(phases, Context(None, None, echo=lambda _: None))
    assert failure.value.title == "b" and "boom" in str(failure.value)
    assert log == ["prepare a", "run a", "prepare b", "run b", "cleanup b", "cleanup a"]


def test_engine_prepare_failure_names_the_phase_and_runs_nothing_more():
    log = []
    with pytest.raises(PhaseFailed) as failure:
        run_phases([Recording("a", log), Recording("b", log, fail_prepare=True)], Context(None, None, echo=lambda _: None))
    assert failure.value.title == "b"
    assert log == ["prepare a", "run a", "prepare b", "cleanup a"]


# --- versions -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["1.33", "v1.33", "1.33.x", "1.33.2; rm -rf /", "", "1.33.2-1.1"])
def test_malformed_versions_are_rejected(text):
    with pytest.raises(versions.VersionError, match="malformed"):
        versions.parse(text)


@pytest.mark.parametrize("current,target,message", [
    ("1.32.3", "1.34.0", "skips a minor"),
    ("1.32.3", "1.32.1", "downgrade"),
    ("1.32.3", "2.0.0", "major"),
])
def test_forbidden_upgrades_are_refused(current, target, message):
    with pytest.raises(versions.VersionError, match=message):
        versions.check_upgrade(current, target)


def test_allowed_upgrades():
    versions.check_upgrade("1.32.3", "1.32.7")
    versions.check_upgrade("1.32.7", "1.33.2")
    versions.check_upgrade("1.32.7", "1.32.7")


# --- certificates ---------------------------------------------------------------------------------

def pki_output(expiring: bool) -> str:
    now = 1767225600 if expiring else 1735689600  # 2026-01-01 / 2025-01-01
    return f"now {now}\ncert /etc/kubernetes/pki/apiserver.crt\n{(PKI / 'apiserver.crt').read_text()}cert /etc/kubernetes/pki/ca.crt\n{(PKI / 'ca.crt').read_text()}"


def test_certs_check_table_and_threshold(cluster, double):
    double.extra["date -u +'now %s'"] = pki_output(expiring=True)
    lines, ok = certs.check(context(double, cluster), 200)
    assert not ok
    assert lines[0].split() == ["HOST", "CERTIFICATE", "EXPIRES", "DAYS"]
    assert any("bettley" in line and "apiserver.crt" in line and "151" in line and "< 200 days" in line for line in lines)
    assert len(lines) == 1 + 2 * 3
    double.extra["date -u +'now %s'"] = pki_output(expiring=False)
    assert certs.check(context(double, cluster), 30)[1]


def test_certs_renew_one_control_plane_at_a_time_admin_last_with_paused_manifests(cluster, double):
    sleeps = []
    double.extra["date -u +'now %s'"] = "now 1735689600\ncert /etc/kubernetes/pki/ca.crt\n" + (PKI / "ca.crt").read_text()
    run_phases(certs.renew_phases(cluster, yes), context(double, cluster, sleeps=sleeps))
    renewed = [host for host, cmd in double.calls if cmd == "kubeadm certs renew all"]
    assert renewed == ["cargyll", "dalt", "bettley"]
    assert sleeps == [20, 20, 20]
    for host in renewed:
        sequence = [cmd for who, cmd in double.calls if who == host]
        out = next(i for i, cmd in enumerate(sequence) if "manifests-paused/ &&" in cmd or cmd.endswith("manifests-paused/"))
        back = next(i for i, cmd in enumerate(sequence) if cmd.startswith("mv /etc/kubernetes/manifests-paused/"))
        assert sequence.index("kubeadm certs renew all") < out < back
        assert sequence.index("timedatectl show -p Timezone -p NTP -p NTPSynchronized") < sequence.index("kubeadm certs renew all")
    admin = [cmd for who, cmd in double.calls if who == "bettley"]
    assert sum("get pods -o json" in cmd for cmd in admin) == 3 and not any("wait --for" in cmd for cmd in admin)


def test_certs_renew_waits_until_the_static_pods_are_back(cluster, double):
    sleeps, answers = [], iter([json.dumps({"items": []})] * 3)
    real = double.run

    def run(host, command, timeout=None):
        if "get pods -o json" in command:
            pending = next(answers, None)
            if pending is not None:
                double.calls.append((host, command))
                return Result(0, pending)
        return real(host, command, timeout)

    double.run = run
    run_phases(certs.renew_phases(cluster, yes)[:3], context(double, cluster, sleeps=sleeps))
    assert sleeps == [20, 5, 5, 5]


def test_certs_renew_refuses_an_unsynchronised_clock_or_unhealthy_etcd(cluster, double):
    double.nodes["cargyll"].ntp = "no"
    with pytest.raises(PhaseFailed, match="cargyll: NTPSynchronized=no"):
        run_phases(certs.renew_phases(cluster, yes), context(double, cluster))
    double.nodes["cargyll"].ntp, double.etcd_healthy = "yes", False
    with pytest.raises(PhaseFailed, match="cargyll: not restarting its static pods: etcd endpoint not healthy"):
        run_phases(certs.renew_phases(cluster, yes), context(double, cluster))
    assert not any("certs renew" in cmd for _, cmd in double.calls)


def test_certs_renew_failure_moves_the_manifests_back(cluster, double):
    double.fail = ("cargyll", "crictl ps")
    with pytest.raises(PhaseFailed):
        run_phases(certs.renew_phases(cluster, yes), context(double, cluster))
    assert double.commands("cargyll")[-1].startswith("mv /etc/kubernetes/manifests-paused/etcd.yaml /etc/kubernetes/manifests/")
    assert double.commands("dalt") == [c for c in double.commands("dalt") if c.startswith("for f in")]


# --- node removal ---------------------------------------------------------------------------------

def removal(name, allow_even=False, converged=None):
    return node_remove.Removal(name, allow_even, False, lambda: converged.append(name) if converged is not None else None)


def test_removing_a_worker_resets_only_that_node(cluster, double):
    run_phases(node_remove.phases(removal("karstark"), yes), context(double, cluster))
    resets = [(host, cmd) for host, cmd in double.calls if "kubeadm reset" in cmd]
    assert resets == [("karstark", "kubeadm reset --force --cri-socket unix:///var/run/containerd/containerd.sock")]
    sequence = [cmd for _, cmd in double.mutations()]
    assert [i for i, cmd in enumerate(sequence) if " drain karstark" in cmd][0] < [i for i, cmd in enumerate(sequence) if "kubeadm reset" in cmd][0]
    assert any(cmd.endswith("delete node karstark") for cmd in sequence)


def test_removing_a_control_plane_still_in_data_is_refused(cluster, double):
    with pytest.raises(PhaseFailed, match="still in k8s_control_plane"):
        run_phases(node_remove.phases(removal("dalt"), yes), context(double, cluster))
    assert not any("kubeadm reset" in cmd for _, cmd in double.calls)


def test_even_control_plane_count_is_refused_unless_overridden(cluster):
    data = type(cluster)(cluster.hosts, dict(cluster.groups, k8s_control_plane=("bettley", "cargyll")), cluster.settings)
    double = ClusterDouble(["bettley", "cargyll", "dalt"], ["erenford"])
    with pytest.raises(PhaseFailed, match="leaves 2 control planes"):
        run_phases(node_remove.phases(removal("dalt"), yes), context(double, data))
    assert not any("kubeadm reset" in cmd for _, cmd in double.calls)
    converged = []
    double.extra["member list"] = "8e9e05c52164694d, started, dalt, https://10.4.0.13:2380, https://10.4.0.13:2379, false\n"
    run_phases(node_remove.phases(removal("dalt", allow_even=True, converged=converged), yes), context(double, data))
    assert converged == ["dalt"]
    assert any("member remove 8e9e05c52164694d" in cmd for _, cmd in double.calls)


def test_confirmation_refuses_without_a_terminal(monkeypatch):
    from goldentooth.cli.kubeadm import confirmation

    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(GoldentoothError, match="without a terminal"):
        confirmation(False, "?")()
    assert confirmation(True, "?")() is True
