"""Host selection and lab skipping of the health suite (goldentooth.health.selection)."""

from __future__ import annotations

import pytest

from goldentooth.health import selection
from goldentooth.inventory import load_inventory


def test_hosts_of_several_groups_appear_once_in_inventory_order(cluster):
    names = selection.hosts_for(cluster, ["k8s_workers", "k8s_control_plane", "gpu"])
    assert names == list(cluster.groups["k8s_cluster"])
    assert len(names) == 12 and len(set(names)) == 12


def test_all_selects_every_host(cluster):
    assert selection.hosts_for(cluster, ["all"]) == list(cluster.hosts)


def test_where_filters_by_host_data(cluster):
    names = selection.hosts_for(cluster, ["nfs_server"], where=lambda host: host.hardware == "x86_64")
    assert names == ["velaryon"]


def test_only_restricts_to_the_chosen_hosts(cluster):
    chosen = selection.chosen_hosts(cluster, "bettley,gpu")
    assert chosen == {"bettley", "velaryon"}
    assert selection.hosts_for(cluster, ["k8s_cluster"], only=chosen) == ["bettley", "velaryon"]
    assert selection.hosts_for(cluster, ["zfs"], only=chosen) == []
    assert selection.chosen_hosts(cluster, None) is None


@pytest.mark.parametrize("groups", [["k8s_cluster", "k8s_worker"], []])
def test_unknown_or_missing_group_is_an_error(cluster, groups):
    with pytest.raises(selection.SelectionError):
        selection.hosts_for(cluster, groups)


def test_unknown_target_is_an_error(cluster):
    with pytest.raises(selection.SelectionError, match="'nobody' is neither a host nor a group"):
        selection.chosen_hosts(cluster, "bettley,nobody")


def test_lab_skip_reasons():
    assert selection.lab_skip_reason([pytest.mark.kernel.mark], lab=False) is None
    reason = selection.lab_skip_reason([pytest.mark.groups("all").mark, pytest.mark.cluster.mark], lab=True)
    assert reason.startswith("lab: @cluster: needs a running Kubernetes control plane")
    assert selection.lab_skip_reason([pytest.mark.e2e(lab=True).mark], lab=True) is None
    own = selection.lab_skip_reason([pytest.mark.kernel(reason="swap is the controller's").mark], lab=True)
    assert own == "lab: @kernel: swap is the controller's"
    assert selection.lab_skip_reason([pytest.mark.groups("all").mark], lab=True) is None
    for name in selection.LAB_SKIPS:
        assert selection.lab_skip_reason([getattr(pytest.mark, name).mark], lab=True)


def test_lab_is_read_from_host_data(cluster, lab_inventory):
    lab = load_inventory(lab_inventory)
    assert selection.is_lab(lab, "bettley") and selection.is_lab(lab)
    assert not selection.is_lab(cluster, "bettley") and not selection.is_lab(cluster)
