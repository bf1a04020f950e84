"""kubeadm lifecycle: init, root kubeconfig, Calico, joins, labels and taints (spec 50-kubeadm.md §1 S2-S6).

Usable alone (`pyinfra inventory.py deploys/kubeadm.py`) once the node path (base, load balancer,
containerd, packages) has converged; deploys/kubernetes.py composes it after those.
Cluster-level steps run on the admin host, the first control plane (never `_run_once`). Join
material made during the run (token, CA pin, certificate key) passes to later steps in memory.
"""

from __future__ import annotations

from io import StringIO

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import files, systemd

from goldentooth import calico as calico_manifest
from goldentooth import join_material, kubeadm_config
from goldentooth.inventory import current
from goldentooth.kubeadm_state import ADMIN_CONF, INIT_PHASES
from operations import calico, kubeadm, kubernetes_node

#: This run's join material: filled at execution time on the admin host, read by the joins.
MATERIAL = join_material.new()
LEGACY_FILES = ("/etc/kubernetes/kubeadm-controlplane.yaml",)
KUBELET_OVERRIDE = "/etc/systemd/system/kubelet.service.d/override.conf"


@deploy("kubeadm cluster")
def kubeadm_cluster() -> None:
    cluster = current()
    if host.name not in cluster.names("k8s_cluster"):
        return
    node = cluster.host(host.name)
    admin = cluster.init_node
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
    if host.name == admin:
        init_path = f"{config_dir}/init.yaml"
        files.put(
            name="Write the kubeadm init configuration",
            src=StringIO(kubeadm_config.init_file(cluster, node)), dest=init_path, user="root", group="root", mode="0600",
        )
        kubeadm.init(
            name=f"Initialise the cluster with kubeadm init (phases: {', '.join(phase for phase, _ in INIT_PHASES)})",
            config_path=init_path, kubernetes_version=version, endpoint=cluster.control_plane_endpoint,
        )
        if node.get("lab"):
            logger.warning(f"{host.name}: lab host: workloads cannot run, so the Calico rollout is not awaited")
        text = calico_manifest.verified_text(str(node.get("calico_manifest")), str(node.get("calico_version")))
        calico.manifest(
            name=f"Install Calico {node.get('calico_version')} from the vendored manifest",
            manifest=calico_manifest.render(text, str(node.get("calico_ip_autodetection_method"))),
            version=str(node.get("calico_version")), remote_path=f"{config_dir}/calico.yaml",
            wait=not node.get("lab"),
        )
        kubeadm.bootstrap_token(
            name="Create a short-lived bootstrap token for the nodes that join",
            material=MATERIAL, nodes=cluster.names("k8s_cluster"), ttl=str(node.get("join_token_ttl")),
        )
        kubeadm.certificate_key(
            name="Upload the control-plane certificates with a fresh certificate key",
            material=MATERIAL, control_planes=cluster.joining_control_planes,
        )

    # S3: joining control planes, one at a time in group order; S4: workers, at most 4 at once.
    join_path = f"{config_dir}/join.yaml"
    join_document = kubeadm_config.join_configuration(cluster, node, "", "", "" if control_plane else None)
    for name in host.loop(cluster.joining_control_planes):
        if host.name == name:
            kubeadm.join(
                name=f"Join {name} as a control plane",
                material=MATERIAL, configuration=join_document, config_path=join_path, kubernetes_version=version,
            )
    if not control_plane:
        kubeadm.join(
            name="Join the worker",
            material=MATERIAL, configuration=join_document, config_path=join_path, kubernetes_version=version,
            _parallel=4,
        )

    if control_plane:
        files.directory(name="Create root's kubeconfig directory", path="/root/.kube", user="root", group="root", mode="0700")
        files.link(name="Link root's kubeconfig to admin.conf", path="/root/.kube/config", target=ADMIN_CONF)

    # S5/S6: the admin host reconciles labels and taints, then deletes this run's token.
    if host.name == admin:
        for member in cluster.group("k8s_cluster"):
            kubernetes_node.metadata(
                name=f"Reconcile labels and taints of {member.name}",
                node=member.name, labels=dict(member.get("node_labels") or {}), taints=list(member.get("node_taints") or []),
            )
        kubeadm.delete_bootstrap_token(name="Delete this run's bootstrap token", material=MATERIAL)


# pyinfra executes this file without a module spec; an import (deploys/kubernetes.py) calls the function.
if globals().get("__spec__") is None:
    kubeadm_cluster()
