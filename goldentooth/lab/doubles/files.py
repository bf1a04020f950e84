"""The files kubeadm writes on a node: PKI, kubeconfigs, static pod manifests, kubelet files.

Paths, names, subjects and SANs follow kubeadm 1.32 (spec 50-kubeadm.md §4 table).
"""

from __future__ import annotations

import base64
import ipaddress
import tempfile
from pathlib import Path

import yaml

from . import pki
from .common import path, write_file

PKI = "/etc/kubernetes/pki"
CAS = {"ca": "kubernetes", "front-proxy-ca": "front-proxy-ca", "etcd/ca": "etcd-ca"}
SHARED = ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key",
          "etcd/ca.crt", "etcd/ca.key"]
MANIFESTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
KUBECONFIGS = {"admin.conf": ("kubernetes-admin", "/O=kubeadm:cluster-admins/CN=kubernetes-admin"),
               "super-admin.conf": ("kubernetes-super-admin", "/O=system:masters/CN=kubernetes-super-admin"),
               "controller-manager.conf": ("system:kube-controller-manager", "/CN=system:kube-controller-manager"),
               "scheduler.conf": ("system:kube-scheduler", "/CN=system:kube-scheduler")}


def pki_path(name: str) -> Path:
    return path(f"{PKI}/{name}")


def first_service_ip(service_subnet: str) -> str:
    return str(next(ipaddress.ip_network(service_subnet.split(",")[0]).hosts()))


def leaf_certificates(node: str, address: str, cluster: dict) -> dict[str, tuple[str, str, str, list[str]]]:
    """Leaf name -> (CA, subject, usage, SANs), exactly the leaves `kubeadm certs renew all` renews."""
    endpoint_host = cluster["controlPlaneEndpoint"].rsplit(":", 1)[0]
    domain = cluster["dnsDomain"]
    names = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{domain}", node]
    ips = {first_service_ip(cluster["serviceSubnet"]), address}
    extra = set(cluster.get("certSANs", [])) | {endpoint_host}
    for san in sorted(extra):
        if _is_ip(san):
            ips.add(san)
        else:
            names.append(san)
    sans = [f"DNS:{n}" for n in dict.fromkeys(names)] + [f"IP:{i}" for i in sorted(ips)]
    etcd_sans = [f"DNS:{node}", "DNS:localhost", f"IP:{address}", "IP:127.0.0.1", "IP:0:0:0:0:0:0:0:1"]
    return {
        "apiserver": ("ca", "/CN=kube-apiserver", "serverAuth", sans),
        "apiserver-kubelet-client": ("ca", "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client", "clientAuth", []),
        "front-proxy-client": ("front-proxy-ca", "/CN=front-proxy-client", "clientAuth", []),
        "etcd/server": ("etcd/ca", f"/CN={node}", "serverAuth,clientAuth", etcd_sans),
        "etcd/peer": ("etcd/ca", f"/CN={node}", "serverAuth,clientAuth", etcd_sans),
        "etcd/healthcheck-client": ("etcd/ca", "/CN=kube-etcd-healthcheck-client", "clientAuth", []),
        "apiserver-etcd-client": ("etcd/ca", "/CN=kube-apiserver-etcd-client", "clientAuth", []),
    }


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def make_cas() -> None:
    for base, common_name in CAS.items():
        pki.make_ca(pki_path(base), common_name)
    pki.make_keypair(pki_path("sa"))


def make_leaves(node: str, address: str, cluster: dict, only: set[str] | None = None, renew: bool = False) -> list[str]:
    done = []
    for leaf, (ca, subject, usage, sans) in leaf_certificates(node, address, cluster).items():
        if only is None or leaf in only:
            pki.make_leaf(pki_path(ca), pki_path(leaf), subject, usage, sans, keep_key=renew)
            done.append(leaf)
    return done


def kubeconfig(cluster_name: str, server: str, user: str, credentials: dict) -> str:
    ca = base64.b64encode(pki_path("ca.crt").read_bytes()).decode()
    document = {
        "apiVersion": "v1",
        "clusters": [{"cluster": {"certificate-authority-data": ca, "server": server}, "name": cluster_name}],
        "contexts": [{"context": {"cluster": cluster_name, "user": user}, "name": f"{user}@{cluster_name}"}],
        "current-context": f"{user}@{cluster_name}",
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": credentials}],
    }
    return yaml.safe_dump(document, sort_keys=False)


def client_credentials(subject: str) -> dict:
    """A fresh client certificate signed by the cluster CA, embedded as kubeconfig data."""
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "client"
        pki.make_leaf(pki_path("ca"), base, subject, "clientAuth")
        return {"client-certificate-data": base64.b64encode(base.with_suffix(".crt").read_bytes()).decode(),
                "client-key-data": base64.b64encode(base.with_suffix(".key").read_bytes()).decode()}


def write_kubeconfigs(cluster: dict, local_server: str, names: list[str]) -> None:
    for name in names:
        user, subject = KUBECONFIGS[name]
        server = f"https://{cluster['controlPlaneEndpoint']}" if name.endswith("admin.conf") else local_server
        write_file(f"/etc/kubernetes/{name}", kubeconfig(cluster["clusterName"], server, user,
                                                         client_credentials(subject)), 0o600)


def write_kubelet_kubeconfig(cluster: dict, node: str) -> None:
    """kubelet.conf pointing at the rotating client certificate (after kubelet-finalize)."""
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "kubelet"
        pki.make_leaf(pki_path("ca"), base, f"/O=system:nodes/CN=system:node:{node}", "clientAuth")
        pem = base.with_suffix(".crt").read_bytes() + base.with_suffix(".key").read_bytes()
    write_kubelet_client(cluster, pem)


def write_kubelet_client(cluster: dict, pem: bytes) -> None:
    current = "/var/lib/kubelet/pki/kubelet-client-current.pem"
    write_file(current, pem, 0o600)
    credentials = {"client-certificate": current, "client-key": current}
    write_file("/etc/kubernetes/kubelet.conf", kubeconfig(cluster["clusterName"],
               f"https://{cluster['controlPlaneEndpoint']}", "default-auth", credentials), 0o600)


def write_kubelet_files(kubelet: dict, node_ip: str, cri_socket: str, cluster: dict) -> None:
    config = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
              "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                                 "x509": {"clientCAFile": f"{PKI}/ca.crt"}},
              "authorization": {"mode": "Webhook"}, "cgroupDriver": "systemd",
              "clusterDNS": [str(ipaddress.ip_network(cluster["serviceSubnet"])[10])],
              "clusterDomain": cluster["dnsDomain"], "rotateCertificates": True,
              "staticPodPath": "/etc/kubernetes/manifests"}
    config.update({k: v for k, v in kubelet.items() if k not in ("apiVersion", "kind")})
    write_file("/var/lib/kubelet/config.yaml", yaml.safe_dump(config, sort_keys=True), 0o644)
    write_file("/var/lib/kubelet/kubeadm-flags.env",
               f'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint={cri_socket} --node-ip={node_ip}"\n', 0o644)


def write_manifests(node: str, address: str, cluster: dict, version: str, etcd_cluster: str, state: str) -> None:
    image = cluster.get("imageRepository", "registry.k8s.io")
    commands = {
        "etcd": ["etcd", f"--advertise-client-urls=https://{address}:2379", f"--data-dir={cluster['etcdDataDir']}",
                 f"--initial-advertise-peer-urls=https://{address}:2380", f"--initial-cluster={etcd_cluster}",
                 f"--initial-cluster-state={state}", f"--listen-client-urls=https://127.0.0.1:2379,https://{address}:2379",
                 "--listen-metrics-urls=http://127.0.0.1:2381", f"--listen-peer-urls=https://{address}:2380",
                 f"--name={node}", f"--cert-file={PKI}/etcd/server.crt", f"--key-file={PKI}/etcd/server.key",
                 f"--trusted-ca-file={PKI}/etcd/ca.crt", f"--peer-cert-file={PKI}/etcd/peer.crt",
                 f"--peer-key-file={PKI}/etcd/peer.key", f"--peer-trusted-ca-file={PKI}/etcd/ca.crt"],
        "kube-apiserver": ["kube-apiserver", f"--advertise-address={address}", "--secure-port=6443",
                           f"--service-cluster-ip-range={cluster['serviceSubnet']}", f"--client-ca-file={PKI}/ca.crt",
                           f"--tls-cert-file={PKI}/apiserver.crt", f"--tls-private-key-file={PKI}/apiserver.key",
                           "--etcd-servers=https://127.0.0.1:2379", f"--service-account-key-file={PKI}/sa.pub",
                           f"--service-account-signing-key-file={PKI}/sa.key"],
        "kube-controller-manager": ["kube-controller-manager", "--kubeconfig=/etc/kubernetes/controller-manager.conf",
                                    f"--cluster-cidr={cluster['podSubnet']}", "--allocate-node-cidrs=true",
                                    f"--cluster-signing-cert-file={PKI}/ca.crt", f"--cluster-signing-key-file={PKI}/ca.key"],
        "kube-scheduler": ["kube-scheduler", "--kubeconfig=/etc/kubernetes/scheduler.conf", "--bind-address=127.0.0.1"],
    }
    for name, command in commands.items():
        tag = "3.5.16-0" if name == "etcd" else version
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"labels": {"component": name, "tier": "control-plane"}, "name": name,
                            "namespace": "kube-system"},
               "spec": {"containers": [{"command": command, "image": f"{image}/{name}:{tag}",
                                        "imagePullPolicy": "IfNotPresent", "name": name}],
                        "hostNetwork": True, "priorityClassName": "system-node-critical"}}
        write_file(f"/etc/kubernetes/manifests/{name}.yaml", yaml.safe_dump(pod, sort_keys=False), 0o600)
    # etcd's data directory is a DirectoryOrCreate hostPath: the kubelet makes it when it starts the pod.
    path(cluster["etcdDataDir"]).mkdir(mode=0o700, parents=True, exist_ok=True)
