"""kubeadm cluster checks (spec 50-kubeadm.md "Checks", §11.1): node files, PKI expiry, and the
cluster as the API on the first control plane reports it.

Host checks read what kubeadm left on each node. Cluster checks ask the API through kubectl on the
init node; in the lab that is the API double, which holds the nodes, labels, taints, uploaded
configuration and etcd membership the converge made. Checks that need real control-plane
processes (etcd ports, a running kubelet, cluster Services, Calico) are marked `cluster`.
"""

from __future__ import annotations

import json
import shlex

import pytest

from facts.kubeadm import PkiCertificates
from facts.kubernetes import ADMIN_KUBECONFIG
from goldentooth.etcd import exec_arguments, membership_problems
from goldentooth.health.checks import addresses_on, file_content, listeners, unit_state
from goldentooth import static_pods
from goldentooth.static_pods import mirror_pods
from goldentooth.kubeadm_state import STATIC_PODS

KUBECTL = f"kubectl --kubeconfig {ADMIN_KUBECONFIG}"
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
CERTS = ("ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "apiserver-kubelet-client.crt", "apiserver-etcd-client.crt",
         "front-proxy-ca.crt", "front-proxy-client.crt", "etcd/ca.crt", "etcd/server.crt", "etcd/peer.crt",
         "etcd/healthcheck-client.crt", "sa.key", "sa.pub")
LEFTOVERS = ("/etc/kubernetes/kubeadm/join.yaml", "/etc/kubernetes/kubeadm-controlplane.yaml",
             "/etc/systemd/system/kubelet.service.d/override.conf")


def endpoint_line(node) -> str:
    return f"server: https://{node.data['api_endpoint_host']}:{node.data['api_endpoint_port']}"


def canonical(items: list[dict]) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True) for item in items)


def text(node, path: str) -> str:
    content = file_content(node, path)
    assert content is not None, f"{path} is missing"
    return content.decode()


@pytest.fixture
def admin(cluster, hosts, connect):
    """The init node, where the admin kubeconfig lives (skipped when it is not among the chosen hosts)."""
    if cluster.init_node not in hosts:
        pytest.skip(f"the init node {cluster.init_node} is not among the chosen hosts")
    return connect(cluster.init_node)


@pytest.fixture
def api(admin):
    """kubectl JSON from the init node."""
    return lambda *args: json.loads(admin.check_output(f"{KUBECTL} {shlex.join(args)} -o json"))


# Every Kubernetes node.

@pytest.mark.groups("k8s_cluster")
def test_kubelet_kubeconfig_points_at_the_endpoint(node):
    assert endpoint_line(node) in text(node, "/etc/kubernetes/kubelet.conf")


@pytest.mark.groups("k8s_cluster")
def test_kubelet_configuration_from_kubeadm(node):
    config = text(node, "/var/lib/kubelet/config.yaml")
    assert "cgroupDriver: systemd" in config
    assert any(f"imageMaximumGCAge: {value}" in config for value in ("24h0m0s", "24h"))
    assert f"--node-ip={node.inventory.address}" in text(node, "/var/lib/kubelet/kubeadm-flags.env")


@pytest.mark.cluster(reason="kubelet cannot run inside a lab container")
@pytest.mark.groups("k8s_cluster")
def test_kubelet_enabled_and_active(node):
    state = unit_state(node, "kubelet.service")
    assert state.enabled and state.active_state == "active", state


@pytest.mark.groups("k8s_cluster")
def test_no_join_material_or_original_leftovers(node):
    present = [path for path in LEFTOVERS if file_content(node, path) is not None]
    assert present == []


@pytest.mark.groups("k8s_cluster")
def test_certificates_outlive_the_failure_threshold(node):
    """§11.1: fewer than cert_expiry_fail_days left on any certificate fails (the run warns at cert_expiry_warn_days)."""
    fact = PkiCertificates()
    found = fact.process(node.check_output(fact.command().get_raw_value()).splitlines())["certificates"]
    assert found, "no kubeadm certificate found"
    limit = int(node.data["cert_expiry_fail_days"])
    short = {path: cert["days_left"] for path, cert in found.items() if cert["days_left"] < limit}
    assert short == {}, f"fewer than {limit} days left: renew with `goldentooth certs renew`"


# Control planes.

@pytest.mark.groups("k8s_control_plane")
def test_admin_kubeconfig(node):
    admin = node.file("/etc/kubernetes/admin.conf")
    assert admin.is_file and admin.mode == 0o600 and admin.user == "root"
    assert endpoint_line(node) in admin.content_string
    root = node.file("/root/.kube/config")
    assert root.is_symlink and root.linked_to == "/etc/kubernetes/admin.conf"


@pytest.mark.groups("k8s_control_plane")
def test_static_pod_manifests_and_pki(node):
    missing = [f"/etc/kubernetes/manifests/{pod}.yaml" for pod in STATIC_PODS
               if file_content(node, f"/etc/kubernetes/manifests/{pod}.yaml") is None]
    missing += [f"/etc/kubernetes/pki/{name}" for name in CERTS if not node.file(f"/etc/kubernetes/pki/{name}").is_file]
    assert missing == []


@pytest.mark.groups("k8s_control_plane")
def test_super_admin_only_on_the_init_node(node, cluster):
    present = node.file("/etc/kubernetes/super-admin.conf").exists
    assert present == (node.name == cluster.init_node)


@pytest.mark.groups("k8s_control_plane")
def test_joined_etcd_members_join_an_existing_cluster(node, cluster):
    joined = "--initial-cluster-state=existing" in text(node, "/etc/kubernetes/manifests/etcd.yaml")
    assert joined == (node.name != cluster.init_node)


@pytest.mark.groups("k8s_control_plane")
def test_api_server_listens_on_the_node_address(node):
    assert addresses_on(listeners(node), 6443) == {node.inventory.address}


@pytest.mark.cluster(reason="no etcd runs in the lab")
@pytest.mark.groups("k8s_control_plane")
def test_etcd_listens(node):
    sockets = listeners(node)
    assert addresses_on(sockets, 2379) >= {node.inventory.address, "127.0.0.1"}
    assert addresses_on(sockets, 2380) == {node.inventory.address}
    assert addresses_on(sockets, 2381) == {"127.0.0.1"}


# Workers.

@pytest.mark.groups("k8s_workers", where=lambda host: not host.in_group("k8s_control_plane"))
def test_workers_run_no_control_plane(node):
    assert file_content(node, "/etc/kubernetes/manifests/kube-apiserver.yaml") is None
    sockets = listeners(node)
    assert not addresses_on(sockets, 6443) and not addresses_on(sockets, 2379)


# The cluster, through the API on the init node.

def test_every_node_registered_ready_at_the_data_version(api, cluster):
    nodes = {item["metadata"]["name"]: item for item in api("get", "nodes")["items"]}
    assert sorted(nodes) == sorted(cluster.names("k8s_cluster"))
    for name, item in nodes.items():
        ready = {c["type"]: c["status"] for c in item["status"]["conditions"]}.get("Ready")
        version = item["status"]["nodeInfo"]["kubeletVersion"]
        assert (ready, version) == ("True", f"v{cluster.host(name).get('kubernetes_version')}"), name
        assert (CONTROL_PLANE in item["metadata"]["labels"]) == cluster.host(name).in_group("k8s_control_plane"), name


def test_labels_and_taints_match_data(api, cluster):
    for item in api("get", "nodes")["items"]:
        host = cluster.host(item["metadata"]["name"])
        labels, taints = item["metadata"]["labels"], item["spec"].get("taints") or []
        assert dict(host.get("node_labels") or {}).items() <= labels.items(), host.name
        wanted = [{key: str(value) for key, value in taint.items() if value not in (None, "")} for taint in host.get("node_taints") or []]
        if host.in_group("k8s_control_plane"):
            wanted.append({"key": CONTROL_PLANE, "effect": "NoSchedule"})
        assert canonical(taints) == canonical(wanted), host.name


def test_control_plane_static_pods_ready_at_the_data_version(api, cluster):
    pods = mirror_pods(api("-n", "kube-system", "get", "pods"))
    for name in cluster.names("k8s_control_plane"):
        assert static_pods.problems(pods.get(name, {}), str(cluster.host(name).get("kubernetes_version"))) == [], name


def test_uploaded_configuration(api, cluster):
    config = api("-n", "kube-system", "get", "configmap", "kubeadm-config")["data"]["ClusterConfiguration"]
    settings = cluster.settings
    for line in (f"kubernetesVersion: v{settings['kubernetes_version']}", f"controlPlaneEndpoint: {cluster.control_plane_endpoint}",
                 f"podSubnet: {settings['pod_cidr']}"):
        assert line in config


def test_etcd_has_every_control_plane_healthy(cluster, admin):
    run = lambda *args: admin.check_output(f"{KUBECTL} {shlex.join(exec_arguments(cluster.init_node, *args))}").splitlines()
    assert membership_problems(run("member", "list"), run("endpoint", "health", "--cluster"), cluster.names("k8s_control_plane")) == []


def test_no_bootstrap_token_left_by_a_finished_run(admin):
    tokens = admin.check_output("kubeadm token list -o json")
    assert "goldentooth join" not in tokens


@pytest.mark.cluster(reason="the lab's API double serves no Services")
def test_cluster_service_addresses(api, cluster):
    assert api("-n", "default", "get", "service", "kubernetes")["spec"]["clusterIP"] == cluster.kubernetes_service_ip
    assert api("-n", "kube-system", "get", "service", "kube-dns")["spec"]["clusterIP"] == cluster.cluster_dns_ip


@pytest.mark.cluster(reason="no Calico runs in the lab")
def test_calico_pool_and_nodes(api, cluster):
    pool = api("get", "ippools.crd.projectcalico.org", "default-ipv4-ippool")
    assert pool["spec"]["cidr"] == cluster.settings["pod_cidr"]
    status = api("-n", "kube-system", "get", "daemonset", "calico-node")["status"]
    assert status["desiredNumberScheduled"] == status["numberReady"] == len(cluster.names("k8s_cluster"))
