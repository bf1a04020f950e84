"""Converge everything goldentooth manages: ``pyinfra inventory.py deploys/site.py``.

SSH certificates first, then the Kubernetes cluster, then storage (NFS exports and automounts,
ZFS pools, Sanoid and Syncoid).
"""

from deploys import run_as_entry
from deploys.kubernetes import kubernetes_cluster
from deploys.ssh_certificates import ssh_certificates
from deploys.storage import storage

run_as_entry(globals(), ssh_certificates, kubernetes_cluster, storage)
