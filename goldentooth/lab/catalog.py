"""What the stand-in packages contain: upstream names, versions, dependencies and file paths.

Dependencies follow the upstream packaging (kubernetes/release krel templates: from 1.32 kubeadm
has no package dependencies and kubelet needs kubernetes-cni >= 1.2.0, mount and util-linux,
recommending iptables >= 1.8.4). The doubles add what they need to run: python3, python3-yaml and
openssl; those Debian packages are added to the lab's Debian repository automatically.
"""

from __future__ import annotations

from .standins import (
    DOCKER_VERSION,
    KUBERNETES_RELEASES,
    KUBERNETES_REVISION,
    NVIDIA_TOOLKIT_VERSION,
    StandIn,
)

DOUBLE_RUNTIME = ("python3", "python3-yaml", "openssl")

KUBELET_SERVICE = """\
[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
"""

KUBEADM_DROPIN = """\
# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
"""

NVIDIA_RUNTIME_CONFIG = """\
#accept-nvidia-visible-devices-as-volume-mounts = false
#accept-nvidia-visible-devices-envvar-when-unprivileged = true
disable-require = false
supported-driver-capabilities = "compat32,compute,display,graphics,ngx,utility,video"

[nvidia-container-cli]
environment = []
ldconfig = "@/sbin/ldconfig"
load-kmods = true

[nvidia-container-runtime]
log-level = "info"
mode = "auto"
runtimes = ["runc", "crun"]

[nvidia-container-runtime.modes.cdi]
annotation-prefixes = ["cdi.k8s.io/"]
default-kind = "nvidia.com/gpu"
spec-dirs = ["/etc/cdi", "/var/run/cdi"]

[nvidia-container-runtime-hook]
path = "nvidia-container-runtime-hook"
skip-mode-detection = false

[nvidia-ctk]
path = "nvidia-ctk"
"""

CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")


def kubernetes_packages(minor: str) -> list[StandIn]:
    """The stand-ins of one pkgs.k8s.io minor repository (every patch release it carries)."""
    versions, cri_tools, cni = KUBERNETES_RELEASES[minor]
    packages = [
        StandIn("cri-tools", f"{cri_tools}-{KUBERNETES_REVISION}", "admin",
                "Command-line utility for interacting with a container runtime",
                depends=("python3",), launchers={"/usr/bin/crictl": "crictl"}),
        StandIn("kubernetes-cni", f"{cni}-{KUBERNETES_REVISION}", "net",
                "Binaries required to provision kubernetes container networking",
                depends=("python3",),
                launchers={f"/opt/cni/bin/{plugin}": "cni_plugin" for plugin in CNI_PLUGINS}),
    ]
    for version in versions:
        full = f"{version}-{KUBERNETES_REVISION}"
        packages += [
            StandIn("kubeadm", full, "admin", "Command-line utility for administering a Kubernetes cluster",
                    depends=DOUBLE_RUNTIME, launchers={"/usr/bin/kubeadm": "kubeadm"},
                    files={"/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf": (KUBEADM_DROPIN, 0o644)}),
            StandIn("kubelet", full, "net", "Node agent for Kubernetes clusters",
                    depends=("kubernetes-cni (>= 1.2.0)", "mount", "util-linux", *DOUBLE_RUNTIME),
                    recommends=("iptables (>= 1.8.4)",),
                    launchers={"/usr/bin/kubelet": "kubelet"},
                    files={"/usr/lib/systemd/system/kubelet.service": (KUBELET_SERVICE, 0o600),
                           "/etc/default/kubelet": ("KUBELET_EXTRA_ARGS=\n", 0o644),
                           "/etc/kubernetes/manifests/.kubelet-keep": ("", 0o644),
                           "/var/lib/kubelet/.kubelet-keep": ("", 0o644)},
                    conffiles=("/etc/default/kubelet",)),
            StandIn("kubectl", full, "admin", "Command-line utility for interacting with a Kubernetes cluster",
                    depends=DOUBLE_RUNTIME, launchers={"/usr/bin/kubectl": "kubectl"}),
        ]
    return packages


def docker_packages() -> list[StandIn]:
    """Docker Engine fixtures: they exist only so the node base's apt pin can be shown to block them."""
    notice = "Lab fixture: proves that the goldentooth apt pin blocks Docker Engine. Contains no engine.\n"
    return [
        StandIn(name, DOCKER_VERSION, "admin", description,
                files={f"/usr/share/doc/{name}/README.lab": (notice, 0o644)})
        for name, description in (("docker-ce", "Docker: the open-source application container engine"),
                                  ("docker-ce-cli", "Docker CLI: the open-source application container engine"))
    ]


def nvidia_packages() -> list[StandIn]:
    """The NVIDIA Container Toolkit stand-ins with the upstream dependency chain."""
    version = NVIDIA_TOOLKIT_VERSION
    return [
        StandIn("libnvidia-container1", version, "libs", "NVIDIA container runtime library",
                files={"/usr/share/doc/libnvidia-container1/README.lab": ("Lab stand-in: no library.\n", 0o644)}),
        StandIn("libnvidia-container-tools", version, "utils", "NVIDIA container runtime library (command-line tools)",
                depends=(f"libnvidia-container1 (>= {version})", "python3"),
                launchers={"/usr/bin/nvidia-container-cli": "nvidia_tools"}),
        StandIn("nvidia-container-toolkit-base", version, "utils", "NVIDIA Container Toolkit Base",
                depends=("python3",),
                launchers={"/usr/bin/nvidia-ctk": "nvidia_tools", "/usr/bin/nvidia-container-runtime": "nvidia_tools"},
                files={"/etc/nvidia-container-runtime/config.toml": (NVIDIA_RUNTIME_CONFIG, 0o644)},
                conffiles=("/etc/nvidia-container-runtime/config.toml",)),
        StandIn("nvidia-container-toolkit", version, "utils", "NVIDIA Container toolkit",
                depends=(f"nvidia-container-toolkit-base (= {version})", f"libnvidia-container-tools (>= {version})",
                         "libnvidia-container-tools (<< 2.0.0)"),
                launchers={"/usr/bin/nvidia-container-runtime-hook": "nvidia_tools"}),
    ]


def debian_dependencies() -> set[str]:
    """Debian package names the stand-ins depend on or recommend (they must be in the Debian repo)."""
    ours = {p.name for p in kubernetes_packages("1.32") + nvidia_packages() + docker_packages()}
    names = set()
    for minor in KUBERNETES_RELEASES:
        for package in kubernetes_packages(minor) + nvidia_packages():
            for relation in package.depends + package.recommends:
                names.add(relation.split(" ")[0])
    return names - ours
