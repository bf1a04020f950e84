"""kubeadm init, join, tokens, upload-certs, upgrade, images, validate and reset for the double."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from . import api, files, pki, state
from .common import Failure, UsageError, path, write_file
from .config import ConfigFile, parse_version, validate_join

NODE_FILE = "/var/lib/kubeadm-double/node.json"
UNIT = "kube-apiserver-double.service"
NO_SYSTEMD_ENV = "GOLDENTOOTH_DOUBLE_NO_SYSTEMD"
CONFIG_FLAGS = {"config", "dry-run", "ignore-preflight-errors", "skip-phases", "patches", "upload-certs",
                "skip-certificate-key-print", "skip-token-print", "v"}
IMAGES = {32: ("v1.11.3", "3.5.16-0"), 33: ("v1.12.0", "3.5.21-0")}


def _config(values: dict, details: dict, strict: bool = False) -> ConfigFile:
    if not values.get("config"):
        raise Failure("lab double: only configuration files are implemented; pass --config")
    mixed = sorted(values["_set"] - CONFIG_FLAGS)
    if mixed:
        raise Failure(f"can not mix '--config' with arguments {mixed}")
    config = ConfigFile(values["config"], strict)
    details["config"] = values["config"]
    details["config_digest"] = config.digest
    for warning in config.warnings:
        print(warning, file=sys.stderr)
    return config


def _no_args(positional: list[str], command: str) -> None:
    if positional:
        raise UsageError(f'unknown command "{positional[0]}" for "kubeadm {command}"')


def local_cluster() -> tuple[str, str, dict]:
    """(node name, address, cluster settings) recorded on this node by init or join."""
    if not path(NODE_FILE).exists():
        raise Failure("couldn't read the local node's kubeadm state: this node was never initialised or joined")
    node = json.loads(path(NODE_FILE).read_text())
    return node["name"], node["address"], node["cluster"]


def _preflight(checks: dict[str, str], ignored: set[str]) -> None:
    print("[preflight] Running pre-flight checks")
    errors = [f"\t[ERROR {name}]: {message}" for name, message in checks.items()
              if name not in ignored and "all" not in ignored]
    if errors:
        raise Failure("error execution phase preflight: [preflight] Some fatal errors occurred:\n" + "\n".join(errors)
                      + "\n[preflight] If you know what you are doing, you can make a check non-fatal with "
                        "`--ignore-preflight-errors=...`")


def _file_checks(*names: str) -> dict[str, str]:
    found = {}
    for name in names:
        if path(name).exists():
            found[f"FileAvailable-{name.replace('/', '-')}"] = f"{name} already exists"
    if path("/var/lib/etcd").is_dir() and any(path("/var/lib/etcd").iterdir()) and "/etc/kubernetes/manifests/etcd.yaml" in names:
        found["DirAvailable--var-lib-etcd"] = "/var/lib/etcd is not empty"
    return found


CONTROL_PLANE_FILES = tuple(f"/etc/kubernetes/manifests/{m}.yaml" for m in files.MANIFESTS)


def _cluster_settings(cluster: dict, version: str) -> dict:
    networking = cluster.get("networking") or {}
    return {"clusterName": cluster.get("clusterName", "kubernetes"), "kubernetesVersion": version,
            "controlPlaneEndpoint": cluster.get("controlPlaneEndpoint", ""),
            "serviceSubnet": networking.get("serviceSubnet", "10.96.0.0/12"),
            "podSubnet": networking.get("podSubnet", ""), "dnsDomain": networking.get("dnsDomain", "cluster.local"),
            "certSANs": (cluster.get("apiServer") or {}).get("certSANs", []),
            "imageRepository": cluster.get("imageRepository", "registry.k8s.io"),
            "etcdDataDir": ((cluster.get("etcd") or {}).get("local") or {}).get("dataDir", "/var/lib/etcd")}


def _registration(document: dict, control_plane: bool) -> tuple[str, str, list]:
    registration = document.get("nodeRegistration") or {}
    name = registration.get("name") or socket.gethostname()
    taints = registration.get("taints")
    if taints is None:
        taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}] if control_plane else []
    node_ip = next((a["value"] for a in registration.get("kubeletExtraArgs") or [] if a["name"] == "node-ip"), "")
    return name, node_ip, taints


def _start_kubelet() -> None:
    """kubelet-start: (re)start kubelet as kubeadm does; in the lab its double posts status, then exits."""
    print('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
    if not os.environ.get(NO_SYSTEMD_ENV):
        subprocess.run(["systemctl", "restart", "kubelet"], capture_output=True)


def _start_apiserver(bind: str) -> None:
    library = Path(__file__).resolve().parents[1]
    write_file(f"/etc/systemd/system/{UNIT}",
               "[Unit]\nDescription=Lab double of kube-apiserver (goldentooth lab)\nAfter=network-online.target\n\n"
               f"[Service]\nEnvironment=PYTHONPATH={library}\nExecStart=/usr/bin/python3 -m doubles.api --bind {bind}\n"
               "Restart=always\nRestartSec=1\n\n[Install]\nWantedBy=multi-user.target\n")
    if os.environ.get(NO_SYSTEMD_ENV):
        return
    for command in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", UNIT]):
        subprocess.run(command, check=True, capture_output=True)
    print("[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods")
    host, port = bind.rsplit(":", 1)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                print("[api-check] The API server is healthy")
                return
        except OSError:
            time.sleep(0.5)
    raise Failure("error execution phase wait-control-plane: the API server double did not come up within 60s")


def init(values: dict, positional: list[str], version: str, details: dict) -> int:
    _no_args(positional, "init")
    config = _config(values, details)
    cluster_doc, init_doc = config.get("ClusterConfiguration"), config.get("InitConfiguration")
    target = cluster_doc.get("kubernetesVersion", f"v{version}")
    major, minor, patch = parse_version(target)
    if minor > parse_version(version)[1]:
        raise Failure(f'this version of kubeadm only supports deploying clusters with the control plane version '
                      f'<= v{version}. Current version: {target}')
    target = f"v{major}.{minor}.{patch}"
    print(f"[init] Using Kubernetes version: {target}")
    name, node_ip, taints = _registration(init_doc, True)
    endpoint = init_doc.get("localAPIEndpoint") or {}
    address = endpoint.get("advertiseAddress") or node_ip
    if not address:
        raise Failure("lab double: set localAPIEndpoint.advertiseAddress in the InitConfiguration")
    bind = f"{address}:{endpoint.get('bindPort', 6443)}"
    cluster = _cluster_settings(cluster_doc, target)
    cluster["controlPlaneEndpoint"] = cluster["controlPlaneEndpoint"] or bind
    ignored = set((init_doc.get("nodeRegistration") or {}).get("ignorePreflightErrors") or []) | set(values["ignore-preflight-errors"])
    if "preflight" not in values["skip-phases"]:
        _preflight(_file_checks(*CONTROL_PLANE_FILES, "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/admin.conf"), ignored)
    if values["dry-run"]:
        print("[dryrun] Finished dry-running successfully. Above are the resources that would be created")
        return 0
    print('[certs] Using certificateDir folder "/etc/kubernetes/pki"')
    files.make_cas()
    files.make_leaves(name, address, cluster)
    files.write_kubeconfigs(cluster, f"https://{bind}", list(files.KUBECONFIGS))
    files.write_kubelet_kubeconfig(cluster, name)
    files.write_manifests(name, address, cluster, target, f"{name}=https://{address}:2380", "new")
    kubelet = config.get("KubeletConfiguration")
    files.write_kubelet_files(kubelet, node_ip or address, (init_doc.get("nodeRegistration") or {}).get(
        "criSocket", "unix:///var/run/containerd/containerd.sock"), cluster)
    uploaded = {**cluster_doc, "kubernetesVersion": target, "controlPlaneEndpoint": cluster["controlPlaneEndpoint"]}
    data = {"version": target, "cluster": cluster, "kubelet": kubelet, "clusterConfiguration": uploaded, "tokens": {}, "nodes": {}, "objects": {},
            "etcdMembers": {name: address}, "holder": bind,
            "clusterInfo": files.kubeconfig(cluster["clusterName"], f"https://{cluster['controlPlaneEndpoint']}", "", {})}
    state.register_node(data, name, address, f"v{version}", True, taints)
    tokens = [state.new_token(data, t.get("ttl", "24h"), t.get("description", ""), t.get("usages"), t.get("groups"),
                              t.get("token", "")) for t in init_doc.get("bootstrapTokens") or [{}]]
    key = ""
    if values["upload-certs"]:
        key = secrets.token_hex(32)
        data["kubeadmCerts"] = {"blob": _certs_blob(key), "expires": time.time() + state.CERTS_TTL}
    state.save(data)
    write_file(state.HOLDER_FILE, bind + "\n")
    write_file(NODE_FILE, json.dumps({"name": name, "address": address, "cluster": cluster, "controlPlane": True}))
    _start_apiserver(bind)
    _start_kubelet()
    details.update(node=name, ca_cert_hash=pki.ca_cert_hash(files.pki_path("ca.crt")))
    print(f"[bootstrap-token] Using token: {tokens[0] if not values['skip-token-print'] else '<value withheld>'}")
    print("\nYour Kubernetes control-plane has initialized successfully!\n")
    join = f"kubeadm join {cluster['controlPlaneEndpoint']} --token {tokens[0]} \\\n\t--discovery-token-ca-cert-hash {details['ca_cert_hash']}"
    if key and not values["skip-certificate-key-print"]:
        print(f"[upload-certs] Using certificate key:\n{key}\n")
    print(f"You can now join any number of control-plane nodes running the following command on each as root:\n\n  {join} \\\n\t--control-plane"
          + (f" --certificate-key {key}" if key else "") + "\n")
    print(f"Then you can join any number of worker nodes by running the following on each as root:\n\n{join}")
    return 0


def _certs_blob(key: str) -> str:
    payload = {name: base64.b64encode(files.pki_path(name).read_bytes()).decode() for name in files.SHARED}
    return base64.b64encode(pki.encrypt(key, json.dumps(payload).encode())).decode()


def upload_certs(values: dict, positional: list[str], version: str, details: dict) -> int:
    _no_args(positional, "init phase upload-certs")
    if not values["upload-certs"]:
        print("[upload-certs] Skipping phase. Please see --upload-certs")
        return 0
    if values["config"] and values["certificate-key"]:
        raise Failure("can not mix '--config' with arguments [certificate-key]")
    key = values["certificate-key"] or secrets.token_hex(32)
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise Failure("error decoding certificate key: encoding/hex: invalid byte or odd length")
    api.admin_request("upload-certs", {"blob": _certs_blob(key)}, values["kubeconfig"])
    print('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    if not values["skip-certificate-key-print"]:
        print(f"[upload-certs] Using certificate key:\n{key}")
    return 0


def _discover(token: str, endpoint: str, hashes: list[str], unsafe: bool) -> str:
    """Fetch cluster-info, check its token signature and pin the CA by hash; return the CA PEM."""
    info = api.request(f"https://{endpoint}", "cluster-info")
    token_id, _, secret = token.partition(".")
    signature = info["data"].get(f"jws-kubeconfig-{token_id}")
    if signature is None:
        raise Failure(f'there is no JWS signed token in the cluster-info ConfigMap. This token id "{token_id}" '
                      f"is invalid for this cluster, can't connect")
    kubeconfig = info["data"]["kubeconfig"]
    if not hmac.compare_digest(signature, hmac.new(secret.encode(), kubeconfig.encode(), hashlib.sha256).hexdigest()):
        raise Failure("failed to verify JWS signature of received cluster info object, can't trust this API server")
    ca_pem = base64.b64decode(yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]["certificate-authority-data"])
    actual = pki.ca_hash_of_pem(ca_pem)
    if unsafe and not hashes:
        print("[discovery] WARNING: unsafeSkipCAVerification is set: the cluster CA is not pinned", file=sys.stderr)
    elif actual not in hashes:
        raise Failure(f'cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "{actual}" '
                      f"are pinned")
    return ca_pem.decode()


def join(values: dict, positional: list[str], version: str, details: dict) -> int:
    config = _config(values, details)
    config.require("JoinConfiguration")
    document = config.get("JoinConfiguration")
    discovery = validate_join(document)
    control_plane = "controlPlane" in document
    name, node_ip, taints = _registration(document, control_plane)
    ignored = set((document.get("nodeRegistration") or {}).get("ignorePreflightErrors") or []) | set(values["ignore-preflight-errors"])
    checks = ("/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt") + (CONTROL_PLANE_FILES if control_plane else ())
    if "preflight" not in values["skip-phases"]:
        _preflight(_file_checks(*checks), ignored)
    endpoint, token = discovery["apiServerEndpoint"], discovery["token"]
    ca_pem = _discover(token, endpoint, discovery.get("caCertHashes") or [], bool(discovery.get("unsafeSkipCAVerification")))
    details.update(node=name, control_plane=control_plane, ca_cert_hash=pki.ca_hash_of_pem(ca_pem.encode()))
    print(f"[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server \"{endpoint}\"")
    key_file = path("/var/lib/kubelet/pki/kubelet-client.key")
    pki.new_key(key_file)
    local = (document.get("controlPlane") or {}).get("localAPIEndpoint") or {}
    address = local.get("advertiseAddress") or node_ip
    if not address:
        raise Failure("lab double: set nodeRegistration.kubeletExtraArgs node-ip or controlPlane.localAPIEndpoint")
    server = f"https://{endpoint}"
    certs_blob = None
    if control_plane:
        key = document["controlPlane"].get("certificateKey", "")
        if not key:
            raise Failure("lab double: a control-plane join needs controlPlane.certificateKey (certificates are downloaded)")
        certs_blob = api.request(server, "download-certs", token=token, ca_pem=ca_pem.encode())["blob"]
        shared = json.loads(pki.decrypt(key, base64.b64decode(certs_blob)))
    csr = pki.csr_for(key_file, f"/O=system:nodes/CN=system:node:{name}").decode()
    answer = api.request(server, "join", {"name": name, "address": address, "controlPlane": control_plane,
                                          "taints": taints, "kubeletVersion": f"v{version}", "csr": csr},
                         token=token, ca_pem=ca_pem.encode())
    key_pem = key_file.read_bytes()
    key_file.unlink()
    cluster = answer["cluster"]
    write_file("/etc/kubernetes/pki/ca.crt", ca_pem)
    if control_plane:
        for file_name, content in shared.items():
            write_file(f"{files.PKI}/{file_name}", base64.b64decode(content), 0o600 if file_name.endswith(".key") else 0o644)
        bind = f"{address}:{local.get('bindPort', 6443)}"
        files.make_leaves(name, address, cluster)
        files.write_kubeconfigs(cluster, f"https://{bind}", ["admin.conf", "controller-manager.conf", "scheduler.conf"])
        members = ",".join(f"{n}=https://{a}:2380" for n, a in sorted(answer["etcdMembers"].items()))
        files.write_manifests(name, address, cluster, answer["version"], members, "existing")
        write_file(state.HOLDER_FILE, answer["holder"] + "\n")
    files.write_kubelet_client(cluster, answer["kubeletCertificate"].encode() + key_pem)
    files.write_kubelet_files(answer["kubelet"], node_ip or address, (document.get("nodeRegistration") or {}).get(
        "criSocket", "unix:///var/run/containerd/containerd.sock"), cluster)
    write_file(NODE_FILE, json.dumps({"name": name, "address": address, "cluster": cluster, "controlPlane": control_plane}))
    if control_plane:
        _start_apiserver(bind)
    _start_kubelet()
    print("\nThis node has joined the cluster" + (" and a new control plane instance was created" if control_plane else "") + ":")
    print("* Certificate signing request was sent to apiserver and a response was received.")
    print("* The Kubelet was informed of the new secure connection details.")
    return 0
