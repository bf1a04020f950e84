"""Test doubles for the lab's stand-in packages (kubeadm, kubectl, kubelet, crictl, CNI, NVIDIA).

They run on lab nodes from /usr/lib/goldentooth-lab/<package>/doubles and never on real hosts.
See README.md for their design.
"""
