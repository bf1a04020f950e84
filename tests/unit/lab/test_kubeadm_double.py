"""The kubeadm and kubectl doubles, run through their real launchers in temporary roots.

The API server double listens on a free loopback port; the cluster's endpoint is that address.
"""

import json
import subprocess
from pathlib import Path

import yaml

from tests.unit.lab.double_cluster import INIT, Node, cluster, join_config  # noqa: F401 - cluster is a fixture


def _openssl_hash(ca: Path) -> str:
    pipeline = f"openssl x509 -in {ca} -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum"
    return "sha256:" + subprocess.run(pipeline, shell=True, capture_output=True, text=True).stdout.split()[0]


def test_init_creates_the_real_files(cluster):
    _, _, init = cluster
    pki = init.root / "etc/kubernetes/pki"
    for name in ("ca", "apiserver", "apiserver-kubelet-client", "front-proxy-ca", "front-proxy-client", "etcd/ca",
                 "etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client"):
        assert (pki / f"{name}.crt").exists() and (pki / f"{name}.key").exists()
    assert (pki / "sa.key").exists() and (pki / "sa.pub").exists()
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(pki / "ca.crt"), str(pki / "apiserver.crt")],
                            capture_output=True, text=True)
    assert verify.returncode == 0
    sans = subprocess.run(["openssl", "x509", "-in", str(pki / "apiserver.crt"), "-noout", "-ext", "subjectAltName"],
                          capture_output=True, text=True).stdout
    assert "IP Address:172.16.0.1" in sans and "DNS:kubernetes.default.svc.cluster.local" in sans
    admin = init.root / "etc/kubernetes/admin.conf"
    assert admin.stat().st_mode & 0o777 == 0o600
    assert "server: https://127.0.0.1:" in admin.read_text()
    for manifest in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert (init.root / f"etc/kubernetes/manifests/{manifest}.yaml").exists()
    assert (init.root / "etc/kubernetes/super-admin.conf").exists()
    kubelet = yaml.safe_load((init.root / "var/lib/kubelet/config.yaml").read_text())
    assert kubelet["cgroupDriver"] == "systemd" and kubelet["imageMaximumGCAge"] == "24h"
    assert "--node-ip=127.0.0.1" in (init.root / "var/lib/kubelet/kubeadm-flags.env").read_text()
    entry = init.log()[0]
    assert entry["argv"][0] == "init" and entry["exit"] == 0 and entry["config_digest"].startswith("sha256:")
    assert entry["ca_cert_hash"] == _openssl_hash(pki / "ca.crt")


def test_join_command_and_worker_join_pin_the_ca(cluster):
    tmp, port, init = cluster
    line = init.run("kubeadm", "token", "create", "--ttl", "1h", "--description", "goldentooth join t",
                    "--print-join-command").stdout
    parts = line.split()
    token, ca_hash = parts[parts.index("--token") + 1], parts[parts.index("--discovery-token-ca-cert-hash") + 1]
    assert ca_hash == _openssl_hash(init.root / "etc/kubernetes/pki/ca.crt")
    worker = Node(tmp, "velaryon")
    wrong = "sha256:" + "0" * 64
    refused = worker.run("kubeadm", "join", "--config", worker.write("/j.yaml", join_config(port, token, wrong, "velaryon",
                                                                                     "127.0.0.5")), check=False)
    assert refused.returncode == 1 and "none of the public keys" in refused.stderr
    bad_token = token.split(".")[0] + "." + "x" * 16
    refused = worker.run("kubeadm", "join", "--config", worker.write("/j.yaml", join_config(port, bad_token, ca_hash,
                                                                                     "velaryon", "127.0.0.5")), check=False)
    assert refused.returncode == 1 and "JWS signature" in refused.stderr
    worker.run("kubeadm", "join", "--config", worker.write("/j.yaml", join_config(port, token, ca_hash, "velaryon", "127.0.0.5")))
    assert (worker.root / "etc/kubernetes/kubelet.conf").exists()
    assert not (worker.root / "etc/kubernetes/manifests/kube-apiserver.yaml").exists()
    assert worker.log()[-1]["ca_cert_hash"] == ca_hash and "<secret>" not in token
    again = worker.run("kubeadm", "join", "--config", "/j.yaml", check=False)
    assert "[ERROR FileAvailable--etc-kubernetes-kubelet.conf]" in again.stderr
    nodes = json.loads(init.run("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes", "-o",
                                "json").stdout)
    assert sorted(n["metadata"]["name"] for n in nodes["items"]) == ["bettley", "velaryon"]


def test_control_plane_join_gets_the_shared_ca(cluster):
    tmp, port, init = cluster
    key = init.run("kubeadm", "certs", "certificate-key").stdout.strip()
    assert len(key) == 64
    init.run("kubeadm", "init", "phase", "upload-certs", "--upload-certs", "--certificate-key", key)
    assert init.log()[-1]["argv"][-1] == "<certificate-key>"
    token = init.run("kubeadm", "token", "create").stdout.strip()
    ca_hash = _openssl_hash(init.root / "etc/kubernetes/pki/ca.crt")
    joiner = Node(tmp, "cargyll")
    wrong_key = joiner.run("kubeadm", "join", "--config",
                           joiner.write("/j.yaml", join_config(port, token, ca_hash, "cargyll", "127.0.0.3", "f" * 64)), check=False)
    assert wrong_key.returncode == 1 and "message authentication failed" in wrong_key.stderr
    joiner = Node(tmp, "cargyll2")
    joiner.run("kubeadm", "join", "--config", joiner.write("/j.yaml", join_config(port, token, ca_hash, "cargyll2", "127.0.0.3", key)))
    assert (joiner.root / "etc/kubernetes/pki/ca.key").read_bytes() == (init.root / "etc/kubernetes/pki/ca.key").read_bytes()
    assert "--initial-cluster-state=existing" in (joiner.root / "etc/kubernetes/manifests/etcd.yaml").read_text()
    assert not (joiner.root / "etc/kubernetes/super-admin.conf").exists()
    etcdctl = ("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "-n", "kube-system", "exec", "etcd-bettley",
               "--", "etcdctl", "--endpoints=https://127.0.0.1:2379")
    members = init.run(*etcdctl, "member", "list").stdout
    assert ", started, cargyll2, https://127.0.0.3:2380" in members and ", bettley, " in members
    assert init.run(*etcdctl, "endpoint", "health", "--cluster").stdout.count("is healthy") == 2
    joiner.run("kubeadm", "reset", "--force", "--cri-socket", "unix:///var/run/containerd/containerd.sock")
    assert "cargyll2" not in init.run(*etcdctl, "member", "list").stdout
    assert not (joiner.root / "etc/kubernetes/pki").exists() and not (joiner.root / "etc/kubernetes/admin.conf").exists()


def test_cli_surface_rejects_unknown_flags_and_commands(cluster):
    _, _, init = cluster
    unknown = init.run("kubeadm", "init", "--frobnicate", check=False)
    assert unknown.returncode == 1 and unknown.stderr.startswith("unknown flag: --frobnicate")
    assert init.run("kubeadm", "tokn", check=False).stderr.startswith('unknown command "tokn" for "kubeadm"')
    mixed = init.run("kubeadm", "init", "--config", "/etc/kubernetes/kubeadm/init.yaml", "--pod-network-cidr", "x",
                     check=False)
    assert "can not mix '--config' with arguments ['pod-network-cidr']" in mixed.stderr
    assert init.run("kubeadm", "version", "-o", "short", version="1.32.7").stdout == "v1.32.7\n"
    assert init.run("kubectl", "get", "nodes", "--bogus", check=False).stderr.startswith("error: unknown flag: --bogus")


def test_config_validate_checks_the_v1beta4_api(cluster):
    _, _, init = cluster
    assert init.run("kubeadm", "config", "validate", "--config", "/etc/kubernetes/kubeadm/init.yaml").stdout == "ok\n"
    old = INIT.format(port=1).replace("v1beta4", "v1beta3", 1)
    refused = init.run("kubeadm", "config", "validate", "--config", init.write("/old.yaml", old), check=False)
    assert "old API spec" in refused.stderr
    typo = INIT.format(port=1).replace("kubeletExtraArgs", "kubeletExtraArg")
    refused = init.run("kubeadm", "config", "validate", "--config", init.write("/typo.yaml", typo), check=False)
    assert 'unknown field "nodeRegistration.kubeletExtraArg"' in refused.stderr
    as_map = INIT.format(port=1).replace('[{name: node-ip, value: "127.0.0.1"}]', '{node-ip: "127.0.0.1"}')
    refused = init.run("kubeadm", "config", "validate", "--config", init.write("/map.yaml", as_map), check=False)
    assert "nodeRegistration.kubeletExtraArgs: expected a list" in refused.stderr


def test_check_expiration_and_renewal(cluster):
    _, _, init = cluster
    table = init.run("kubeadm", "certs", "check-expiration").stdout
    assert "CERTIFICATE                EXPIRES" in table and "admin.conf" in table and " 364d " in table
    document = json.loads(init.run("kubeadm", "certs", "check-expiration", "-o", "json").stdout)
    assert {c["name"] for c in document["certificates"]} >= {"apiserver", "etcd-server", "super-admin.conf"}
    before = (init.root / "etc/kubernetes/pki/apiserver.crt").read_bytes()
    assert "certificate apiserver renewed" in init.run("kubeadm", "certs", "renew", "all").stdout
    assert (init.root / "etc/kubernetes/pki/apiserver.crt").read_bytes() != before


def test_upgrade_rules_and_apply(cluster):
    _, _, init = cluster
    too_new = init.run("kubeadm", "upgrade", "apply", "v1.32.7", "-y", check=False)
    assert "higher than the kubeadm version" in too_new.stderr
    skip = init.run("kubeadm", "upgrade", "plan", "v1.34.0", version="1.34.0", check=False)
    assert "only 1 minor version at a time" in skip.stderr
    assert "kubeadm upgrade apply v1.32.7" in init.run("kubeadm", "upgrade", "plan", version="1.32.7").stdout
    init.run("kubeadm", "upgrade", "apply", "v1.32.7", "--yes", version="1.32.7")
    assert "kube-apiserver:v1.32.7" in (init.root / "etc/kubernetes/manifests/kube-apiserver.yaml").read_text()
    server = json.loads(init.run("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "version", "-o", "json").stdout)
    assert server["serverVersion"]["gitVersion"] == "v1.32.7"
    uploaded = json.loads(init.run("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "-n", "kube-system", "get",
                                   "cm", "kubeadm-config", "-o", "json").stdout)
    cluster = yaml.safe_load(uploaded["data"]["ClusterConfiguration"])
    assert cluster["kubernetesVersion"] == "v1.32.7" and cluster["networking"]["podSubnet"] == "192.168.0.0/16"


def test_kubectl_labels_and_taints_need_overwrite(cluster):
    _, _, init = cluster
    kubectl = ("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf")
    init.run(*kubectl, "taint", "node", "bettley", "gpu=true:NoSchedule", "--overwrite")
    again = init.run(*kubectl, "taint", "node", "bettley", "gpu=true:NoSchedule", check=False)
    assert again.returncode == 1 and "already has gpu taint(s)" in again.stderr
    init.run(*kubectl, "label", "node", "bettley", "arch=amd64")
    assert "--overwrite is false" in init.run(*kubectl, "label", "node", "bettley", "arch=arm64", check=False).stderr
    node = json.loads(init.run(*kubectl, "get", "node", "bettley", "-o", "json").stdout)
    assert node["metadata"]["labels"]["arch"] == "amd64"
    assert {"key": "gpu", "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert [e.get("command") for e in init.log("kubectl")].count("taint") >= 2


def test_kubectl_applies_from_stdin_and_gets_refs_of_several_kinds(cluster):
    _, _, init = cluster
    kubectl = ("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "-n", "kube-system")
    refs = ("get", "RuntimeClass/nvidia", "DaemonSet/plugin", "--ignore-not-found", "-o", "json")
    assert init.run(*kubectl, *refs).stdout == ""
    assert "NotFound" in init.run(*kubectl, "get", "RuntimeClass/nvidia", check=False).stderr
    manifest = "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: nvidia}\nhandler: nvidia\n"
    applied = init.run("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "apply", "-f", "-", stdin=manifest)
    assert applied.stdout == "runtimeclass/nvidia created\n"
    listing = json.loads(init.run(*kubectl, *refs).stdout)
    assert [item["kind"] for item in listing["items"]] == ["RuntimeClass"]
    assert "there is no need to specify a resource type" in init.run(*kubectl, "get", "ds", "x/y", check=False).stderr
