"""Converge the whole cluster: ``pyinfra inventory.py deploys/kubernetes.py``.

Each capability selects its own hosts by group; this list is the order they run in.
"""

from deploys.containerd import containerd
from deploys.kubernetes_packages import kubernetes_packages
from deploys.load_balancer import load_balancer
from deploys.node_base import node_base

node_base()
load_balancer()
containerd()
kubernetes_packages()
