"""Cluster-wide defaults (spec 00-topology-and-data.md §4).

Every host sees these values; host data in inventory.py overrides them. Secrets are not kept
here: they come from the operator's secret file (see goldentooth.secrets).
"""

from goldentooth.pki.sshca import default_ca_dir as _default_ca_dir

# Identity and networks (§4.1)
cluster_name = "goldentooth"
domain = "goldentooth.net"
node_domain = "nodes.goldentooth.net"
host_network_cidr = "10.4.0.0/20"
gateway = "10.4.0.1"
dhcp_range = "10.4.0.100-10.4.0.254"
service_cidr = "172.16.0.0/20"
pod_cidr = "192.168.0.0/16"
metallb_cidr = "10.4.11.0/24"
cluster_dns_domain = "cluster.local"
api_endpoint_host = "10.4.0.10"
api_endpoint_port = 6443
api_endpoint_alias = "lb-apiserver.kubernetes.local"
api_server_cert_sans = ["10.4.0.10", "lb-apiserver.kubernetes.local"]

# Kubernetes (§4.2)
kubernetes_version = "1.32.3"
kubernetes_package_revision = "1.1"
kubernetes_apt_base = "https://pkgs.k8s.io/core:/stable:"
kubernetes_packages = ["kubeadm", "kubelet", "kubectl"]
kubernetes_apt_keyring = "/etc/apt/keyrings/kubernetes.asc"
kubernetes_apt_sources_file = "/etc/apt/sources.list.d/kubernetes.sources"
image_repository = "registry.k8s.io"
sandbox_image_by_minor = {
    "1.29": "registry.k8s.io/pause:3.9",
    "1.30": "registry.k8s.io/pause:3.9",
    "1.31": "registry.k8s.io/pause:3.10",
    "1.32": "registry.k8s.io/pause:3.10",
    "1.33": "registry.k8s.io/pause:3.10",
}
cri_socket = "unix:///var/run/containerd/containerd.sock"
kubeadm_config_dir = "/etc/kubernetes/kubeadm"
kubeadm_ignore_preflight_errors: list[str] = []
kubeadm_timeouts: dict[str, str] = {}
join_token_ttl = "1h"
kubelet_image_gc_high_threshold_percent = 85
kubelet_image_gc_low_threshold_percent = 75
kubelet_image_maximum_gc_age = "24h"
calico_version = "v3.29.3"
calico_manifest = "files/calico/v3.29.3/calico.yaml"
calico_ip_autodetection_method = "cidr=10.4.0.0/20"
drain_timeout = "300s"
drain_grace_period = -1
node_ready_timeout = "300s"
upgrade_stabilisation_seconds = 30  # cluster gate pause after each upgraded node (spec 50 §10.3 step 10)
upgrade_worker_parallelism = 1
cert_expiry_warn_days = 30
cert_expiry_fail_days = 7

# Load balancer (§4.4); haproxy_stats_password is a secret.
haproxy_stats_port = 8404
haproxy_stats_uri = "/stats"
haproxy_stats_user = "admin"
haproxy_health_path = "/readyz"
haproxy_check_inter = "2s"
haproxy_check_fall = 3
haproxy_check_rise = 2
haproxy_api_timeout = "86400s"

# containerd (§4.5)
containerd_package = "containerd.io"
containerd_package_version = "1.7.27-1"
# Docker's apt repository is configured only when containerd_package is "containerd.io" (it exists
# nowhere else); any other package (Debian's "containerd") comes from the distribution's sources.
# `{os_id}` is the host's /etc/os-release ID (debian, ubuntu), filled in from facts.
docker_apt_url = "https://download.docker.com/linux/{os_id}"
docker_apt_key_url = "https://download.docker.com/linux/{os_id}/gpg"
docker_apt_keyring = "/etc/apt/keyrings/docker.asc"
docker_apt_sources_file = "/etc/apt/sources.list.d/docker.sources"
containerd_dropin_dir = "/etc/containerd/conf.d"

# Node base (§4.6)
timezone = "America/New_York"
ntp_servers: list[str] = []
time_sync_service = "chrony"
journald_system_max_use = "256M"
apt_blocked_packages = [
    "docker-ce",
    "docker-ce-cli",
    "docker-ce-rootless-extras",
    "docker-buildx-plugin",
    "docker-compose-plugin",
    "docker.io",
    "docker-compose",
    "docker-registry",
    "docker-doc",
]
pi_cmdline_tokens = ["cgroup_enable=cpuset", "cgroup_enable=memory", "cgroup_enable=hugetlb", "cgroup_memory=1"]
pi_config_txt = {"arm_boost": 1, "arm_freq": 2000, "over_voltage": 6}
pi_fan = {"gpiopin": 14, "temp": 60000}
pi_disable_wifi = True

# NFS client mounts (spec 70-nfs.md §2)
nfs_mounts = [
    {
        "name": "primary",
        "server": "allyrion",
        "export": "/mnt/usb1",
        "where": "/mnt/nfs",
        "options": ["rw", "hard"],
        "idle_timeout_sec": 300,
    },
    {
        "name": "gpu_storage",
        "server": "velaryon",
        "export": "/mnt/gpu-storage",
        "where": "/mnt/gpu-storage",
        "options": ["rw", "hard"],
        "idle_timeout_sec": 300,
    },
]

# Debian backports archive (ZFS hosts, spec 80-zfs.md §2); the lab points it at its own repository.
debian_backports_apt_url = "http://deb.debian.org/debian"

# SSH certificates (spec 90-ssh-certificates.md)
ssh_host_cert_validity = 2592000
ssh_ca_dir = str(_default_ca_dir())
ssh_cert_login_users = ["root"]
ssh_replication_principal = "zfs-replication"
# pyinfra 3.10 cannot read @cert-authority lines (spec 90 §9): it gets plain, CA-verified host
# keys and strict checking (its default "accept-new" would silently trust unknown keys).
ssh_known_hosts_file = f"{ssh_ca_dir}/pyinfra_known_hosts"
ssh_strict_host_key_checking = "yes"
