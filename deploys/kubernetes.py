"""Converge the Kubernetes cluster: ``pyinfra inventory.py deploys/kubernetes.py``.

Each capability selects its own hosts by group; this list is the order they run in: every node's
base, the API load balancer, the container runtime (with the NVIDIA runtime on GPU nodes), the
pinned Kubernetes packages, then the kubeadm phases (init, joins, CNI, labels and taints) and the
cluster objects of the GPU node.
"""

from deploys import run_as_entry
from deploys.containerd import containerd
from deploys.gpu import gpu_cluster_objects, gpu_node
from deploys.kubeadm import kubeadm_cluster
from deploys.kubernetes_packages import kubernetes_packages
from deploys.load_balancer import load_balancer
from deploys.node_base import node_base


def kubernetes_cluster() -> None:
    """The Kubernetes path, in order."""
    node_base()
    load_balancer()
    containerd()
    gpu_node()
    kubernetes_packages()
    kubeadm_cluster()
    gpu_cluster_objects()


run_as_entry(globals(), kubernetes_cluster)
