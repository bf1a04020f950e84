"""The default inventory and its derived values (spec 00-topology-and-data.md, Checks)."""

from __future__ import annotations

from goldentooth import PROJECT_ROOT
from goldentooth.inventory import load_inventory
from goldentooth.model import Cluster


def test_default_topology(cluster: Cluster) -> None:
    assert cluster.init_node == "bettley"
    assert cluster.joining_control_planes == ["cargyll", "dalt"]
    assert len(cluster.groups["k8s_cluster"]) == 12
    assert "allyrion" not in cluster.groups["k8s_cluster"]
    assert cluster.names("gpu") == ["velaryon"]
    assert cluster.names("load_balancer") == ["allyrion"]
    assert cluster.names("raspberry_pi") == [name for name in cluster.hosts if name != "velaryon"]
    assert cluster.zfs_source == "allyrion"
    assert cluster.zfs_replicas == ["erenford", "gardener"]


def test_derived_values(cluster: Cluster) -> None:
    bettley = cluster.host("bettley")
    assert cluster.control_plane_endpoint == "10.4.0.10:6443"
    assert bettley.kubernetes_package_version == "1.32.3-1.1"
    assert bettley.kubernetes_minor == "1.32"
    assert bettley.kubernetes_apt_repo_url == "https://pkgs.k8s.io/core:/stable:/v1.32/deb/"
    assert bettley.kubernetes_apt_key_url.endswith("/deb/Release.key")
    assert "//R" not in bettley.kubernetes_apt_key_url
    assert bettley.sandbox_image == "registry.k8s.io/pause:3.10"
    assert cluster.kubernetes_service_ip == "172.16.0.1"
    assert cluster.cluster_dns_ip == "172.16.0.10"
    assert bettley.fqdn == "bettley.nodes.goldentooth.net"


def test_host_data(cluster: Cluster) -> None:
    velaryon = cluster.host("velaryon")
    assert velaryon.address == "10.4.0.30"
    assert velaryon.expected_arch == "amd64"
    assert velaryon.expected_os == "ubuntu 24.04"
    assert velaryon.get("node_labels") == {"gpu": "true", "arch": "amd64"}
    assert velaryon.get("gpu_expected_count") == 1  # group data of `gpu`
    assert cluster.host("fenn").get("gpu_expected_count") is None
    assert cluster.host("allyrion").expected_arch == "arm64"
    assert cluster.host("erenford").get("zfs_pool_name") == "rpool"


def test_no_stale_velaryon_address() -> None:
    files = [PROJECT_ROOT / "inventory.py", *sorted((PROJECT_ROOT / "group_data").glob("*.py"))]
    for path in files:
        assert "10.4.1.10" not in path.read_text(encoding="utf-8"), path


def test_secrets_are_not_host_data() -> None:
    cluster = load_inventory(PROJECT_ROOT / "inventory.py")
    assert cluster.settings["haproxy_stats_password"] == "test-only-password"
    assert all("haproxy_stats_password" not in host.data for host in cluster.hosts.values())


def test_select_hosts_and_groups(cluster: Cluster) -> None:
    assert [host.name for host in cluster.select("velaryon,load_balancer")] == ["allyrion", "velaryon"]
    assert len(cluster.select("all")) == 13
    try:
        cluster.select("nosuch")
    except KeyError as error:
        assert error.args[0] == "nosuch"
    else:
        raise AssertionError("an unknown target must raise KeyError")
