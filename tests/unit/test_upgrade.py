"""`goldentooth upgrade`: order, per-node steps, gates, the lock ConfigMap, preconditions, failure and resume."""

from __future__ import annotations

import json
import shlex

import pytest

from goldentooth.lifecycle import upgrade
from goldentooth.lifecycle.engine import Context, PhaseFailed, run_phases
from goldentooth.render import render
from tests.unit.lifecycle_double import ClusterDouble

STEPS = ["apt-get install -y kubeadm=", "kubeadm upgrade", " drain ", "kubelet=1.32.7-1.1", "restart kubelet",
         "wait --for=condition=Ready", " uncordon "]


@pytest.fixture
def double(cluster):
    return ClusterDouble(cluster.names("k8s_control_plane"), cluster.names("k8s_workers"))


def context(double, cluster, dry=False, lines=None, sleeps=None):
    return Context(double, cluster, dry=dry, echo=(lines.append if lines is not None else lambda _: None),
                   sleep=(sleeps.append if sleeps is not None else lambda _: None))


def yes():
    return True


def with_data(cluster, **data):
    """The cluster with `data` over every host's merged data (as a group_data or lab overlay change would)."""
    hosts = {name: type(host)(host.name, host.groups, {**host.data, **data}, host.host_data) for name, host in cluster.hosts.items()}
    return type(cluster)(hosts, cluster.groups, cluster.settings, cluster.source)


def lock_records(double):
    return [json.loads(shlex.split(cmd)[-1])["data"] for _, cmd in double.calls if "patch configmap goldentooth-upgrade-lock" in cmd]


def test_node_order_is_first_control_plane_then_others_then_workers(cluster):
    assert upgrade.node_order(cluster) == [
        "bettley", "cargyll", "dalt", "erenford", "fenn", "gardener", "harlton", "inchfield", "jast", "karstark", "lipps", "velaryon",
    ]


def test_patch_upgrade_follows_the_printed_order_and_per_node_steps(cluster, double):
    lines, sleeps = [], []
    run_phases(upgrade.phases(cluster, "1.32.7", False, yes), context(double, cluster, lines=lines, sleeps=sleeps))
    order = upgrade.node_order(cluster)
    upgrades = [(host, cmd.split("kubeadm upgrade ")[1].split()[0]) for host, cmd in double.calls if cmd.startswith("kubeadm upgrade ") and "plan" not in cmd]
    assert upgrades == [("bettley", "apply")] + [(name, "node") for name in order[1:]]
    plan = [line for line in lines if line.strip()[:3].strip().rstrip(".").isdigit()]
    assert [line.split(".")[1].split()[0] for line in plan] == order
    for name in order:
        steps = [cmd for host, cmd in double.mutations() if host == name or f" {name} " in f"{cmd} " or f"node/{name}" in cmd]
        kinds = []
        for cmd in steps:
            kinds += [key for key in STEPS if key in cmd and key not in kinds]
        assert kinds == STEPS, name
    assert all(node.packages == dict.fromkeys(("kubeadm", "kubelet", "kubectl"), "1.32.7-1.1") for node in double.nodes.values())
    assert not any("sources" in cmd or "containerd" in cmd for _, cmd in double.mutations()), "a patch keeps source and runtime"
    assert all(cmd.rstrip().endswith("exit $rc") and "apt-mark hold" in cmd for _, cmd in double.calls if "apt-get install" in cmd)
    assert double.lock == {} and not any(node.cordoned for node in double.nodes.values())
    assert not any("--certificate-renewal=false" in cmd or "--force" in cmd for _, cmd in double.calls)
    assert sleeps.count(30) == len(order), "the cluster gate's stabilisation pause after every node"


def test_lock_snapshot_and_progress_records(cluster, double):
    run_phases(upgrade.phases(cluster, "1.32.7", False, yes), context(double, cluster))
    mutations = [cmd for _, cmd in double.mutations()]
    create = next(i for i, cmd in enumerate(mutations) if "create configmap goldentooth-upgrade-lock" in cmd)
    snapshot = next(i for i, cmd in enumerate(mutations) if "snapshot save" in cmd)
    first_install = next(i for i, cmd in enumerate(mutations) if "apt-get install" in cmd)
    assert create < snapshot < first_install and mutations[-1].endswith("delete configmap goldentooth-upgrade-lock")
    assert "--from-literal=target=v1.32.7" in mutations[create] and "--from-literal=run-id=" in mutations[create]
    etcdctl = shlex.split(mutations[snapshot])
    assert etcdctl[etcdctl.index("exec") + 1] == "etcd-bettley" and etcdctl[-1].startswith("/var/lib/etcd/pre-upgrade-")
    assert "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt" in etcdctl
    records = lock_records(double)
    assert {"node": "fenn", "step": "kubeadm upgrade node"} in records
    assert {"node": "bettley", "step": "static pods of bettley Ready at v1.32.7"} in records
    assert {"node": "cargyll", "step": "HAProxy routes to cargyll"} in records
    assert {"node": "velaryon", "step": "every node Ready and schedulable"} in records


def test_minor_upgrade_switches_the_apt_source_and_sandbox_image_per_node(cluster, double):
    double = ClusterDouble(cluster.names("k8s_control_plane"), cluster.names("k8s_workers"), "1.32.7-1.1")
    images = dict(cluster.settings["sandbox_image_by_minor"], **{"1.33": "registry.k8s.io/pause:3.10.1"})
    data = with_data(cluster, calico_version="v3.30.2", sandbox_image_by_minor=images)
    run_phases(upgrade.phases(data, "1.33.2", False, yes), context(double, data))
    switched = [host for host, cmd in double.calls if cmd.startswith("sed -i -E") and "/v1.33/deb/" in cmd]
    assert switched == upgrade.node_order(cluster)
    expected = render("containerd-config-v2.toml.j2", dropin_dir="/etc/containerd/conf.d", sandbox_image="registry.k8s.io/pause:3.10.1")
    for name, node in double.nodes.items():
        assert node.files["/etc/containerd/config.toml"] == expected, name
        sequence = double.commands(name)
        restart = sequence.index("systemctl restart containerd")
        assert restart > next(i for i, c in enumerate(sequence) if "> /etc/containerd/config.toml.goldentooth-new" in c)
        assert restart < next(i for i, c in enumerate(sequence) if "kubelet=1.33.2-1.1" in c)


def test_worker_failure_stops_the_rollout_and_resume_finishes_it(cluster, double):
    double.fail = ("fenn", "kubeadm upgrade node")
    ctx = context(double, cluster)
    with pytest.raises(PhaseFailed) as failure:
        run_phases(upgrade.phases(cluster, "1.32.7", False, yes), ctx)
    assert failure.value.title == "Upgrade worker fenn to v1.32.7"
    assert ctx.state["progress"] == ("fenn", "kubeadm upgrade node")
    assert not any(host in ("gardener", "velaryon") for host, _ in double.mutations()), "no node after the failure is touched"
    assert double.commands("fenn")[-1] == "apt-mark hold kubeadm kubelet kubectl", "holds restored on the failed node"
    assert double.lock["node"] == "fenn" and double.lock["step"] == "kubeadm upgrade node" and double.lock["target"] == "v1.32.7"

    with pytest.raises(PhaseFailed, match="--resume"):
        run_phases(upgrade.phases(cluster, "1.32.7", False, yes), context(double, cluster))
    with pytest.raises(PhaseFailed, match="finish it with `goldentooth upgrade --to 1.32.7 --resume`"):
        run_phases(upgrade.phases(cluster, "1.32.8", True, yes), context(double, cluster))

    double.fail, double.calls, run_id = None, [], double.lock["run-id"]
    lines = []
    run_phases(upgrade.phases(cluster, "1.32.7", True, yes), context(double, cluster, lines=lines))
    assert any(f"resuming run {run_id}, stopped at fenn: kubeadm upgrade node" in line for line in lines)
    touched = {host for host, _ in double.mutations()} - {"bettley"}
    assert touched == {"fenn", "gardener", "harlton", "inchfield", "jast", "karstark", "lipps", "velaryon"}
    assert not any("kubeadm upgrade" in cmd for host, cmd in double.mutations() if host in ("bettley", "cargyll", "dalt", "erenford"))
    assert not any("create configmap" in cmd for _, cmd in double.calls), "a resume keeps the lock"
    assert double.lock == {}
    assert all(node.packages["kubelet"] == "1.32.7-1.1" for node in double.nodes.values())


def test_resume_without_a_lock_is_refused(cluster, double):
    with pytest.raises(PhaseFailed, match="nothing to resume"):
        run_phases(upgrade.phases(cluster, "1.32.7", True, yes), context(double, cluster))
    assert double.mutations() == []


def test_a_node_gate_stops_the_rollout_when_static_pods_stay_old(cluster, double):
    double.extra["kubeadm upgrade node"] = ""  # the command succeeds but changes no manifest
    sleeps = []
    ctx = context(double, cluster, sleeps=sleeps)
    with pytest.raises(PhaseFailed, match=r"cargyll: static pods of cargyll Ready at v1\.32\.7: kube-apiserver runs "
                                          r"registry\.k8s\.io/kube-apiserver:v1\.32\.3.* \(waited 300s\)"):
        run_phases(upgrade.phases(cluster, "1.32.7", False, yes), ctx)
    assert sum(s for s in sleeps if s == 5) >= 300
    assert double.nodes["cargyll"].cordoned, "a drained node stays cordoned"
    assert double.lock["node"] == "cargyll"
    assert not any(host == "dalt" for host, _ in double.mutations())


def test_preconditions_list_every_problem_before_anything_changes(cluster, double):
    double.nodes["harlton"].cordoned = True
    double.nodes["jast"].ready = False
    double.nodes["lipps"].ntp = "no"
    double.haproxy["dalt"] = "DOWN"
    double.etcd_healthy = False
    double.readyz = "[-]etcd failed"
    with pytest.raises(PhaseFailed) as failure:
        run_phases(upgrade.phases(cluster, "1.32.7", False, yes), context(double, cluster))
    message = str(failure.value)
    for expected in ("harlton is cordoned", "jast is not Ready", "lipps: NTPSynchronized=no",
                     "HAProxy on allyrion: k8s-api-server/dalt is DOWN",
                     "etcd endpoint not healthy: https://bettley:2379 is unhealthy: failed to commit proposal",
                     "/readyz answered '[-]etcd failed'"):
        assert expected in message
    assert double.mutations() == []


def test_expired_certificates_refuse_the_upgrade(cluster, double):
    from tests.unit.test_lifecycle import PKI

    double.extra["date -u +'now %s'"] = f"now 4102444800\ncert /etc/kubernetes/pki/apiserver.crt\n{(PKI / 'apiserver.crt').read_text()}"
    with pytest.raises(PhaseFailed, match=r"bettley: expired certificates /etc/kubernetes/pki/apiserver\.crt: run `goldentooth certs renew` first"):
        run_phases(upgrade.phases(cluster, "1.32.7", False, yes), context(double, cluster))
    assert double.mutations() == []


def test_lab_hosts_may_run_unsynchronised_clocks_with_a_warning(cluster, double):
    lab = with_data(cluster, lab=True)
    double.nodes["lipps"].ntp = "no"
    lines = []
    run_phases(upgrade.phases(lab, "1.32.7", False, yes), context(double, lab, lines=lines))
    assert any("warning: lipps: lab host: NTPSynchronized=no accepted" in line for line in lines)


def test_api_server_behind_kubeadm_config_by_more_than_a_minor_is_refused(cluster, double):
    double.apiserver = "v1.32.7"
    double.extra["version -o json"] = json.dumps({"serverVersion": {"gitVersion": "v1.31.9"}})
    data = with_data(cluster, calico_version="v3.30.2")
    with pytest.raises(PhaseFailed, match="skips a minor"):
        run_phases(upgrade.phases(data, "1.33.2", False, yes), context(double, data))
    assert double.mutations() == []


def test_upgrade_past_the_calico_tested_range_is_refused(cluster, double):
    double.apiserver = "v1.32.7"
    with pytest.raises(PhaseFailed, match="Calico v3.29.3 is tested with Kubernetes 1.29, 1.30, 1.31, 1.32, not 1.33"):
        run_phases(upgrade.phases(cluster, "1.33.2", False, yes), context(double, cluster))
    assert double.mutations() == []


def test_upgrade_refuses_a_skipped_minor_before_touching_anything(cluster, double):
    with pytest.raises(PhaseFailed, match="skips a minor"):
        run_phases(upgrade.phases(cluster, "1.34.0", False, yes), context(double, cluster))
    assert double.mutations() == []


def test_dry_run_plans_every_step_and_changes_nothing(cluster, double):
    ctx = context(double, cluster, dry=True)
    run_phases(upgrade.phases(cluster, "1.32.7", False, lambda: pytest.fail("no confirmation in a dry run")), ctx)
    assert double.mutations() == [] and not any("patch configmap" in cmd for _, cmd in double.calls)
    assert "kubeadm upgrade apply v1.32.7" in ctx.planned["bettley"]
    assert "drain velaryon" in ctx.planned["bettley"] and "static pods of dalt Ready at v1.32.7" in ctx.planned["bettley"]
    assert ctx.planned["bettley"][0].startswith("lock: create ConfigMap kube-system/goldentooth-upgrade-lock")


def test_unconfirmed_upgrade_changes_nothing(cluster, double):
    with pytest.raises(PhaseFailed, match="not confirmed"):
        run_phases(upgrade.phases(cluster, "1.32.7", False, lambda: False), context(double, cluster))
    assert double.mutations() == []


