"""kubeadm lifecycle: init, root kubeconfig, Calico, joins, labels and taints (spec 50-kubeadm.md §1 S2-S6).

Usable alone (`pyinfra inventory.py deploys/kubeadm.py`) once the node path (base, load balancer,
containerd, packages) has converged; deploys/kubernetes.py composes it after those.
Cluster-level steps run on the admin host, the first control plane (never `_run_once`), and are
added on every Kubernetes host at one call site so the cluster-wide order holds (`cluster_step`).
Join material made during the run (token, CA pin, certificate key) passes to later steps in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import files, systemd

from facts.kubernetes import UploadedKubeadmConfig
from goldentooth import calico as calico_manifest
from goldentooth import join_material, kubeadm_config
from goldentooth.inventory import current
from goldentooth.kubeadm_gates import JoinGate, LoadBalancers
from goldentooth.kubeadm_state import ADMIN_CONF, INIT_PHASES
from goldentooth.model import Cluster, Host
from goldentooth.validation import parse_duration
from operations import calico, kubeadm, kubeadm_pki, kubernetes_node, sequence, text_files
from deploys import run_as_entry

#: This run's join material: filled at execution time on the admin host, read by the joins.
MATERIAL = join_material.RUN
LEGACY_FILES = ("/etc/kubernetes/kubeadm-controlplane.yaml",)
KUBELET_OVERRIDE = "/etc/systemd/system/kubelet.service.d/override.conf"


def cluster_step(runs_on: list[str], name: str, operation: Callable[..., Any], **kwargs: Any) -> None:
    """Add one cluster-wide step: `operation` on the hosts in `runs_on`, a place-holder elsewhere.

    Execution arguments (`_parallel`, ...) go to both: pyinfra requires them equal on every host.
    """
    here = host.name in runs_on
    execution = {key: value for key, value in kwargs.items() if key.startswith("_")}
    arguments = {key: value for key, value in kwargs.items() if not key.startswith("_")} if here else {"runs_on": ", ".join(runs_on)}
    (operation if here else sequence.elsewhere)(name=name, **arguments, **execution)


def load_balancers(cluster: Cluster, node: Host) -> LoadBalancers:
    """The API load balancers and where their stats are read."""
    return {"hosts": cluster.names("load_balancer"), "stats_port": int(node.get("haproxy_stats_port")),
            "stats_uri": str(node.get("haproxy_stats_uri"))}


def report_drift(cluster: Cluster) -> None:
    """Warn where the configuration the cluster was made with differs from data (spec 50 §3).

    Converge never applies such a change: reconfiguring a running cluster is a manual procedure,
    and its version changes only through `goldentooth upgrade`.
    """
    uploaded = host.get_fact(UploadedKubeadmConfig)
    rendered = {"ClusterConfiguration": kubeadm_config.cluster_configuration(cluster),
                "KubeletConfiguration": kubeadm_config.kubelet_configuration(cluster)}
    for kind, document in rendered.items():
        for line in kubeadm_config.drift(document, uploaded[kind]) if kind in uploaded else []:
            logger.warning(f"{host.name}: {kind} drift, not applied by converge: {line}")


def join_gate(cluster: Cluster, node: Host) -> JoinGate:
    """The checks after `node` joins: a control plane expects itself and the control planes before it in etcd."""
    control_planes = cluster.names("k8s_control_plane")
    members = control_planes[: control_planes.index(node.name) + 1] if node.name in control_planes else []
    return {"admin": cluster.init_node, "etcd_members": members, "balancers": load_balancers(cluster, node),
            "timeout": parse_duration(str(node.get("node_ready_timeout")))}


@deploy("kubeadm cluster")
def kubeadm_cluster() -> None:
    cluster = current()
    if host.name not in cluster.names("k8s_cluster"):
        return
    node = cluster.host(host.name)
    admin = [cluster.init_node]
    config_dir = str(node.get("kubeadm_config_dir"))
    version = str(node.get("kubernetes_version"))
    control_plane = node.in_group("k8s_control_plane")

    files.directory(name="Create the kubeadm configuration directory", path=config_dir, user="root", group="root", mode="0700")
    for legacy in LEGACY_FILES:
        files.file(name=f"Remove the original's {legacy}", path=legacy, present=False)
    override = files.file(name="Remove the original's kubelet drop-in with the invalid --image-gc-max-age flag", path=KUBELET_OVERRIDE, present=False)
    systemd.service(
        name="Restart kubelet without the removed drop-in",
        service="kubelet.service", daemon_reload=True, restarted=True, _if=override.did_change,
    )

    # S2: the init node.
    init_path = f"{config_dir}/init.yaml"
    if host.name in admin:
        text_files.present(
            name="Write the kubeadm init configuration",
            path=init_path, content=kubeadm_config.init_file(cluster, node), user="root", group="root", mode="0600",
        )
        report_drift(cluster)
        text = calico_manifest.verified_text(str(node.get("calico_manifest")), str(node.get("calico_version")))
        if node.get("lab"):
            logger.warning(f"{host.name}: lab host: no registry and no workloads, so images are not pre-pulled and the Calico rollout is not awaited")
    cluster_step(
        admin, f"Initialise the cluster with kubeadm init (phases: {', '.join(phase for phase, _ in INIT_PHASES)})",
        kubeadm.init, config_path=init_path, kubernetes_version=version, endpoint=cluster.control_plane_endpoint,
        control_planes=cluster.names("k8s_control_plane"), balancers=load_balancers(cluster, node), pull_images=not node.get("lab"),
    )
    cluster_step(
        admin, f"Install Calico {node.get('calico_version')} from the vendored manifest", calico.manifest,
        manifest=calico_manifest.render(text, str(node.get("calico_ip_autodetection_method"))) if host.name in admin else "",
        version=str(node.get("calico_version")), remote_path=f"{config_dir}/calico.yaml", wait=not node.get("lab"),
    )
    cluster_step(
        admin, "Create a short-lived bootstrap token for the nodes that join", kubeadm.bootstrap_token,
        material=MATERIAL, nodes=cluster.names("k8s_cluster"), ttl=str(node.get("join_token_ttl")),
    )
    cluster_step(
        admin, "Upload the control-plane certificates with a fresh certificate key", kubeadm.certificate_key,
        material=MATERIAL, control_planes=cluster.joining_control_planes,
    )

    # S3: joining control planes, one at a time in group order; S4: workers, at most 4 at once.
    join_path = f"{config_dir}/join.yaml"
    join_document = kubeadm_config.join_configuration(cluster, node, "", "", "" if control_plane else None)
    join = {"material": MATERIAL, "configuration": join_document, "config_path": join_path, "kubernetes_version": version,
            "gate": join_gate(cluster, node)}
    for name in host.loop(cluster.joining_control_planes):
        cluster_step([name], f"Join {name} as a control plane", kubeadm.join, **join)
    workers = [name for name in cluster.names("k8s_workers") if name not in cluster.names("k8s_control_plane")]
    cluster_step(workers, "Join the workers (at most 4 at once)", kubeadm.join, _parallel=4, **join)

    kubeadm_pki.expiry(name="Check the expiry of the kubeadm certificates", warn_days=int(node.get("cert_expiry_warn_days")))
    if control_plane:
        files.directory(name="Create root's kubeconfig directory", path="/root/.kube", user="root", group="root", mode="0700")
        files.link(name="Link root's kubeconfig to admin.conf", path="/root/.kube/config", target=ADMIN_CONF)

    # S5/S6: the admin host reconciles labels and taints, then deletes this run's token.
    desired = {
        member.name: {"labels": dict(member.get("node_labels") or {}), "taints": list(member.get("node_taints") or [])}
        for member in cluster.group("k8s_cluster")
    }
    cluster_step(admin, "Reconcile labels and taints of every node", kubernetes_node.metadata, nodes=desired)
    cluster_step(admin, "Delete this run's bootstrap token", kubeadm.delete_bootstrap_token, material=MATERIAL)


run_as_entry(globals(), kubeadm_cluster)
