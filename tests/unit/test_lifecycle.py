"""Lifecycle commands: phase engine semantics, upgrade order/failure/resume, certs, node removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from goldentooth.errors import GoldentoothError
from goldentooth.lifecycle import certs, node_remove, upgrade, versions
from goldentooth.lifecycle.engine import Context, Phase, PhaseFailed, run_phases
from tests.unit.lifecycle_double import ClusterDouble

PKI = Path(__file__).parent / "data" / "pki"


@pytest.fixture
def double(cluster):
    return ClusterDouble(cluster.names("k8s_control_plane"), [n for n in cluster.names("k8s_workers")])


def context(double, cluster, dry=False, lines=None):
    return Context(double, cluster, dry=dry, echo=(lines.append if lines is not None else lambda _: None))


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


# --- upgrade --------------------------------------------------------------------------------------

def mutations(double):
    reads = ("for f in", "if [ -f /etc/kubernetes/admin.conf ]", "test -e ", "cat /var/", "grep ", "printf %s")
    return [(host, command) for host, command in double.calls if not command.startswith(reads)]


def test_node_order_is_first_control_plane_then_others_then_workers(cluster):
    assert upgrade.node_order(cluster) == [
        "bettley", "cargyll", "dalt", "erenford", "fenn", "gardener", "harlton", "inchfield", "jast", "karstark", "lipps", "velaryon",
    ]


def test_patch_upgrade_follows_the_printed_order_and_per_node_steps(cluster, double):
    lines = []
    run_phases(upgrade.phases(cluster, "1.32.7", False, yes), context(double, cluster, lines=lines))
    upgrades = [(host, cmd.split("kubeadm upgrade ")[1].split()[0]) for host, cmd in double.calls if cmd.startswith("kubeadm upgrade ") and "plan" not in cmd]
    assert upgrades == [("bettley", "apply")] + [(name, "node") for name in upgrade.node_order(cluster)[1:]]
    plan = [line for line in lines if line.strip()[:3].strip().rstrip(".").isdigit()]
    assert [line.split(".")[1].split()[0] for line in plan] == upgrade.node_order(cluster)
    for name in upgrade.node_order(cluster):
        steps = [cmd for host, cmd in mutations(double) if name in (host,) or f" {name} " in f"{cmd} " or f"node/{name}" in cmd]
        kinds = []
        for cmd in steps:
            for key in ("apt-get install -y kubeadm=", "kubeadm upgrade", " drain ", "kubelet=1.32.7-1.1", "restart kubelet", "wait --for=condition=Ready", " uncordon ", "touch "):
                if key in cmd and key not in kinds:
                    kinds.append(key)
        assert kinds == ["apt-get install -y kubeadm=", "kubeadm upgrade", " drain ", "kubelet=1.32.7-1.1", "restart kubelet", "wait --for=condition=Ready", " uncordon ", "touch "], name
    assert all(node.packages == dict.fromkeys(("kubeadm", "kubelet", "kubectl"), "1.32.7-1.1") for node in double.nodes.values())
    assert not any("sources" in cmd for _, cmd in double.calls), "a patch upgrade keeps the apt source"
    assert all(cmd.rstrip().endswith("exit $rc") and "apt-mark hold" in cmd for _, cmd in double.calls if "apt-get install" in cmd)
    assert double.lock == "" and not any(node.cordoned for node in double.nodes.values())
    assert not any("--certificate-renewal=false" in cmd or "--force" in cmd for _, cmd in double.calls)


def with_calico(cluster, version):
    return type(cluster)(cluster.hosts, cluster.groups, dict(cluster.settings, calico_version=version), cluster.source)


def test_minor_upgrade_switches_the_apt_source_per_node(cluster, double):
    for node in double.nodes.values():
        node.packages = dict.fromkeys(node.packages, "1.32.7-1.1")
    double.apiserver = "v1.32.7"
    run_phases(upgrade.phases(with_calico(cluster, "v3.30.2"), "1.33.2", False, yes), context(double, cluster))
    switched = [host for host, cmd in double.calls if cmd.startswith("sed -i -E") and "/v1.33/deb/" in cmd]
    assert switched == upgrade.node_order(cluster)


def test_worker_failure_stops_the_rollout_and_resume_finishes_it(cluster, double):
    double.fail = ("fenn", "kubeadm upgrade node")
    ctx = context(double, cluster)
    with pytest.raises(PhaseFailed) as failure:
        run_phases(upgrade.phases(cluster, "1.32.7", False, yes), ctx)
    assert failure.value.title == "Upgrade worker fenn to v1.32.7"
    assert ctx.state["progress"] == ("fenn", "kubeadm upgrade node")
    assert not any(host in ("gardener", "velaryon") for host, _ in mutations(double)), "no node after the failure is touched"
    assert double.commands("fenn")[-1] == "apt-mark hold kubeadm kubelet kubectl", "holds restored on the failed node"
    assert "node=fenn" in double.lock and "step=kubeadm upgrade node" in double.lock

    with pytest.raises(PhaseFailed, match="--resume"):
        run_phases(upgrade.phases(cluster, "1.32.7", False, yes), context(double, cluster))

    double.fail, double.calls = None, []
    run_phases(upgrade.phases(cluster, "1.32.7", True, yes), context(double, cluster))
    touched = {host for host, _ in mutations(double)} - {"bettley"}
    assert touched == {"fenn", "gardener", "harlton", "inchfield", "jast", "karstark", "lipps", "velaryon"}
    assert not any("kubeadm upgrade" in cmd for host, cmd in mutations(double) if host in ("bettley", "cargyll", "dalt", "erenford"))
    assert double.lock == ""
    assert all(node.packages["kubelet"] == "1.32.7-1.1" for node in double.nodes.values())


def test_upgrade_past_the_calico_tested_range_is_refused(cluster, double):
    double.apiserver = "v1.32.7"
    with pytest.raises(PhaseFailed, match="Calico v3.29.3 is tested with Kubernetes 1.29, 1.30, 1.31, 1.32, not 1.33"):
        run_phases(upgrade.phases(cluster, "1.33.2", False, yes), context(double, cluster))
    assert mutations(double) == []


def test_upgrade_refuses_a_skipped_minor_before_touching_anything(cluster, double):
    with pytest.raises(PhaseFailed, match="skips a minor"):
        run_phases(upgrade.phases(cluster, "1.34.0", False, yes), context(double, cluster))
    assert mutations(double) == []


def test_dry_run_plans_every_step_and_changes_nothing(cluster, double):
    lines = []
    ctx = context(double, cluster, dry=True, lines=lines)
    run_phases(upgrade.phases(cluster, "1.32.7", False, lambda: pytest.fail("no confirmation in a dry run")), ctx)
    assert mutations(double) == []
    assert "kubeadm upgrade apply v1.32.7" in ctx.planned["bettley"]
    assert "drain velaryon" in ctx.planned["bettley"]


def test_unconfirmed_upgrade_changes_nothing(cluster, double):
    with pytest.raises(PhaseFailed, match="not confirmed"):
        run_phases(upgrade.phases(cluster, "1.32.7", False, lambda: False), context(double, cluster))
    assert mutations(double) == []


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
    waits = []
    double.extra["date -u +'now %s'"] = "now 1735689600\ncert /etc/kubernetes/pki/ca.crt\n" + (PKI / "ca.crt").read_text()
    run_phases(certs.renew_phases(cluster, yes, waits.append), context(double, cluster))
    renewed = [host for host, cmd in double.calls if cmd == "kubeadm certs renew all"]
    assert renewed == ["cargyll", "dalt", "bettley"]
    assert waits == [20, 20, 20]
    for host in renewed:
        sequence = [cmd for who, cmd in double.calls if who == host]
        out = next(i for i, cmd in enumerate(sequence) if "manifests-paused/ &&" in cmd or cmd.endswith("manifests-paused/"))
        back = next(i for i, cmd in enumerate(sequence) if cmd.startswith("mv /etc/kubernetes/manifests-paused/"))
        assert sequence.index("kubeadm certs renew all") < out < back


def test_certs_renew_failure_moves_the_manifests_back(cluster, double):
    double.fail = ("cargyll", "crictl ps")
    with pytest.raises(PhaseFailed):
        run_phases(certs.renew_phases(cluster, yes, lambda _: None), context(double, cluster))
    assert double.commands("cargyll")[-1].startswith("mv /etc/kubernetes/manifests-paused/etcd.yaml /etc/kubernetes/manifests/")
    assert double.commands("dalt") == [c for c in double.commands("dalt") if c.startswith("for f in")]


# --- node removal ---------------------------------------------------------------------------------

def removal(name, allow_even=False, converged=None):
    return node_remove.Removal(name, allow_even, False, lambda: converged.append(name) if converged is not None else None)


def test_removing_a_worker_resets_only_that_node(cluster, double):
    run_phases(node_remove.phases(removal("karstark"), yes), context(double, cluster))
    resets = [(host, cmd) for host, cmd in double.calls if "kubeadm reset" in cmd]
    assert resets == [("karstark", "kubeadm reset --force --cri-socket unix:///var/run/containerd/containerd.sock")]
    sequence = [cmd for _, cmd in mutations(double)]
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
