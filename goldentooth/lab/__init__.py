"""The lab: a local replica of the cluster as systemd-nspawn nodes on one Linux machine.

Each node is a booted systemd with its own network namespace, address, hostname and sshd, reached
over real SSH through the lab's fabric namespace. See the README section "The lab".
"""
