"""kubeadm token, upgrade, config images/validate and reset for the double."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import yaml

from . import api, certs, files, pki
from .common import Failure, UsageError, path
from .config import ConfigFile, parse_version, validate_join
from .lifecycle import CONTROL_PLANE_FILES, IMAGES, NO_SYSTEMD_ENV, NODE_FILE, UNIT, local_cluster
from .state import HOLDER_FILE, STATE_FILE


def token_create(values: dict, positional: list[str], version: str, details: dict) -> int:
    if len(positional) > 1:
        raise UsageError(f'unknown command "{positional[1]}" for "kubeadm token create"')
    result = api.admin_request("token-create", {"ttl": values["ttl"], "description": values["description"],
                                                "usages": values["usages"] or None, "groups": values["groups"] or None,
                                                "token": positional[0] if positional else ""}, values["kubeconfig"])
    token = result["token"]
    if not values["print-join-command"]:
        print(token)
        return 0
    server = yaml.safe_load(path(values["kubeconfig"]).read_text())["clusters"][0]["cluster"]["server"]
    line = (f"kubeadm join {server.removeprefix('https://')} --token {token} "
            f"--discovery-token-ca-cert-hash {pki.ca_cert_hash(files.pki_path('ca.crt'))} ")
    if values["certificate-key"]:
        line += f"--control-plane --certificate-key {values['certificate-key']}"
    print(line)
    return 0


def token_delete(values: dict, positional: list[str], version: str, details: dict) -> int:
    if not positional:
        raise Failure("missing subcommand; 'token delete' is missing token of form \"[a-z0-9]{6}\" or "
                      "\"[a-z0-9]{6}\\.[a-z0-9]{16}\"")
    for token in positional:
        api.admin_request("token-delete", {"id": token}, values["kubeconfig"])
        print(f'bootstrap token "{token.split(".")[0]}" deleted')
    return 0


def token_list(values: dict, positional: list[str], version: str, details: dict) -> int:
    tokens = api.admin_request("token-list", {}, values["kubeconfig"])["tokens"]
    if values["output"] == "json":
        print(json.dumps(tokens, indent=2))
        return 0
    print(f"{'TOKEN':<24}{'TTL':<6}{'EXPIRES':<22}{'USAGES':<26}{'DESCRIPTION':<40}EXTRA GROUPS")
    for token in tokens:
        left = token["expires"] - time.time() if token["expires"] else 0
        ttl = f"{int(left // 3600)}h" if left >= 3600 else f"{int(left // 60)}m" if token["expires"] else "<forever>"
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(token["expires"])) if token["expires"] else "<never>"
        print(f"{token['id'] + '.<redacted>':<24}{ttl:<6}{expires:<22}{','.join(token['usages']):<26}"
              f"{token['description'] or '<none>':<40}{','.join(token['groups'])}")
    return 0


def _targets(positional: list[str], version: str, current: str) -> str:
    """Check a requested upgrade version as kubeadm does; return it as vX.Y.Z."""
    target = positional[0] if positional else f"v{version}"
    wanted, cluster, tool = parse_version(target), parse_version(current), parse_version(version)
    target = "v{}.{}.{}".format(*wanted)
    if wanted > tool:
        raise Failure(f'[upgrade/version] FATAL: the --version argument is invalid due to these errors:\n\n\t- Specified '
                      f'version to upgrade to "{target}" is higher than the kubeadm version "v{version}". Upgrade '
                      f'kubeadm first using the tool you used to install kubeadm')
    if wanted[1] > cluster[1] + 1:
        raise Failure(f'[upgrade/version] FATAL: Specified version to upgrade to "{target}" is too high; kubeadm can '
                      f'upgrade only 1 minor version at a time')
    if wanted < cluster:
        raise Failure(f'[upgrade/version] FATAL: Specified version to upgrade to "{target}" is lower than the cluster '
                      f'version "{current}". Downgrades are not supported')
    return target


def upgrade_plan(values: dict, positional: list[str], version: str, details: dict) -> int:
    configuration = api.admin_request("config", {}, values["kubeconfig"])
    current = configuration["version"]
    target = _targets(positional, version, current)
    nodes = api.admin_request("nodes", {}, values["kubeconfig"])["items"]
    print(f"[upgrade/versions] Cluster version: {current}\n[upgrade/versions] kubeadm version: v{version}")
    if target == current:
        print("\nAwesome, you're up-to-date! Enjoy!")
        return 0
    print(f"[upgrade/versions] Target version: {target}\n\nComponents that must be upgraded manually after you have "
          "upgraded the control plane with 'kubeadm upgrade apply':\nCOMPONENT   NODE       CURRENT   TARGET")
    for node in nodes:
        print(f"kubelet     {node['metadata']['name']:<10} {node['status']['nodeInfo']['kubeletVersion']:<9} {target}")
    print("\nUpgrade to the latest version in the v{}.{} series:\n".format(*parse_version(target)[:2]))
    print("COMPONENT                 NODE       CURRENT    TARGET")
    for node in [n for n in nodes if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"]]:
        for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
            print(f"{component:<25} {node['metadata']['name']:<10} {current:<10} {target}")
    print(f"\nYou can now apply the upgrade by executing the following command:\n\n\tkubeadm upgrade apply {target}\n")
    details["target"] = target
    return 0


def _upgrade_local(target: str, renew: bool, details: dict) -> None:
    """Rewrite this node's manifests for ``target`` and renew its certificates (kubeadm's default)."""
    name, address, cluster = local_cluster()
    cluster["kubernetesVersion"] = target
    if path(CONTROL_PLANE_FILES[1]).exists():
        etcd = yaml.safe_load(path(CONTROL_PLANE_FILES[0]).read_text())["spec"]["containers"][0]["command"]
        members = next(a.split("=", 1)[1] for a in etcd if a.startswith("--initial-cluster="))
        state_flag = next(a.split("=", 1)[1] for a in etcd if a.startswith("--initial-cluster-state="))
        files.write_manifests(name, address, cluster, target, members, state_flag)
        if renew:
            certs.renew({"_set": set()}, ["all"], target, details)
    record = json.loads(path(NODE_FILE).read_text())
    record["cluster"] = cluster
    path(NODE_FILE).write_text(json.dumps(record))


def upgrade_apply(values: dict, positional: list[str], version: str, details: dict) -> int:
    if not positional and not values["config"]:
        raise Failure("missing one or more required arguments. Required arguments: [version]")
    if not path(CONTROL_PLANE_FILES[1]).exists():
        raise Failure("[upgrade/apply] FATAL: this node is not a control plane node (no kube-apiserver manifest)")
    current = api.admin_request("config", {}, values["kubeconfig"])["version"]
    target = _targets(positional, version, current)
    details["target"] = target
    if not values["yes"]:
        print("[upgrade] Are you sure you want to proceed? [y/N]: ", end="", flush=True)
        if sys.stdin.readline().strip().lower() != "y":
            raise Failure("won't proceed; the user didn't answer (Y|y) in order to continue")
    if values["dry-run"]:
        print(f"[dryrun] Would upgrade the control plane to {target}")
        return 0
    api.admin_request("set-version", {"version": target}, values["kubeconfig"])
    _upgrade_local(target, values["certificate-renewal"], details)
    print(f'[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "{target}".\n\n'
          "[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.")
    return 0


def upgrade_node(values: dict, positional: list[str], version: str, details: dict) -> int:
    if positional:
        raise UsageError(f'unknown command "{positional[0]}" for "kubeadm upgrade node"')
    kubeconfig = values["kubeconfig"] if path(values["kubeconfig"]).exists() else "/etc/kubernetes/kubelet.conf"
    configuration = api.admin_request("config", {}, kubeconfig)
    target = configuration["version"]
    if parse_version(target) > parse_version(version):
        raise Failure(f'the cluster version "{target}" is newer than the kubeadm version "v{version}": upgrade kubeadm first')
    details["target"] = target
    if not values["dry-run"]:
        _upgrade_local(target, values["certificate-renewal"], details)
        _, address, cluster = local_cluster()
        node_ip = path("/var/lib/kubelet/kubeadm-flags.env").read_text().split("--node-ip=")[1].split('"')[0]
        socket_arg = path("/var/lib/kubelet/kubeadm-flags.env").read_text().split("--container-runtime-endpoint=")[1].split()[0]
        files.write_kubelet_files(configuration["kubelet"], node_ip, socket_arg, cluster)
    print("[upgrade] The configuration for this node was successfully upgraded!\n"
          "[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.")
    return 0


def _images(values: dict, details: dict) -> list[str]:
    version, repository = values["kubernetes-version"], values["image-repository"]
    if values["config"]:
        cluster = ConfigFile(values["config"]).get("ClusterConfiguration")
        details["config_digest"] = ConfigFile(values["config"]).digest
        version = cluster.get("kubernetesVersion", version)
        repository = cluster.get("imageRepository", repository)
    major, minor, patch = parse_version(version)
    if minor not in IMAGES:
        raise Failure(f"lab double: no image list for Kubernetes v{major}.{minor}")
    repository = repository or "registry.k8s.io"
    coredns, etcd = IMAGES[minor]
    tag = f"v{major}.{minor}.{patch}"
    return [f"{repository}/{name}:{tag}" for name in ("kube-apiserver", "kube-controller-manager",
                                                       "kube-scheduler", "kube-proxy")] + \
        [f"{repository}/coredns/coredns:{coredns}", f"{repository}/pause:3.10", f"{repository}/etcd:{etcd}"]


def images_list(values: dict, positional: list[str], version: str, details: dict) -> int:
    print("\n".join(_images(values, details)))
    return 0


def images_pull(values: dict, positional: list[str], version: str, details: dict) -> int:
    images = _images(values, details)
    raise Failure(f"failed to pull image {images[0]}: lab double: no container registry is reachable from a lab node")


def config_validate(values: dict, positional: list[str], version: str, details: dict) -> int:
    if not values["config"]:
        raise Failure("the --config flag is mandatory")
    config = ConfigFile(values["config"], strict=True)
    details["config_digest"] = config.digest
    if "ClusterConfiguration" in config.documents:
        parse_version(config.get("ClusterConfiguration").get("kubernetesVersion", f"v{version}"))
    if "JoinConfiguration" in config.documents:
        validate_join(config.get("JoinConfiguration"))
    print("ok")
    return 0


def reset(values: dict, positional: list[str], version: str, details: dict) -> int:
    if not values["force"]:
        print("[reset] Are you sure you want to proceed? [y/N]: ", end="", flush=True)
        if sys.stdin.readline().strip().lower() != "y":
            raise Failure("aborted reset operation")
    if path(f"/etc/systemd/system/{UNIT}").exists():
        if not os.environ.get(NO_SYSTEMD_ENV):
            subprocess.run(["systemctl", "disable", "--now", UNIT], capture_output=True)
        path(f"/etc/systemd/system/{UNIT}").unlink()
    if path(NODE_FILE).exists() and json.loads(path(NODE_FILE).read_text())["controlPlane"] \
            and not path(STATE_FILE).exists() and path("/etc/kubernetes/admin.conf").exists():
        name = json.loads(path(NODE_FILE).read_text())["name"]
        api.admin_request("leave-etcd", {"name": name})  # phase remove-etcd-member
        print(f"[reset] Removing member {name} from the etcd cluster")
    removed = []
    for target in [*CONTROL_PLANE_FILES, "/etc/kubernetes/pki", "/var/lib/etcd", "/var/lib/kubelet/pki",
                   "/var/lib/kubelet/config.yaml", "/var/lib/kubelet/kubeadm-flags.env", NODE_FILE, HOLDER_FILE,
                   STATE_FILE, "/etc/kubernetes/bootstrap-kubelet.conf",
                   *(f"/etc/kubernetes/{c}" for c in ("admin.conf", "super-admin.conf", "kubelet.conf",
                                                      "controller-manager.conf", "scheduler.conf"))]:
        if path(target).is_dir():
            shutil.rmtree(path(target))
        elif path(target).exists():
            path(target).unlink()
        else:
            continue
        removed.append(target)
    details["removed"] = removed
    print("[reset] Deleted contents of the etcd data directory: /var/lib/etcd\n[reset] Deleting contents of "
          "directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]\n\nThe reset process does "
          "not clean CNI configuration. To do so, you must remove /etc/cni/net.d")
    return 0
