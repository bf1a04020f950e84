"""Facts about a node's kubeadm state, its PKI and the cluster CA (spec 50-kubeadm.md §2, §6.2, §11.1)."""

from __future__ import annotations

import re
from typing import Any

from pyinfra.api import FactBase, QuoteString, StringCommand

from goldentooth.pki import x509 as pki
from goldentooth.kubeadm_state import CA_CRT, STATE_FILES

PACKAGES = ("kubeadm", "kubelet", "kubectl")
KUBECONFIGS = ("admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf")
KUBELET_CLIENT_PEM = "/var/lib/kubelet/pki/kubelet-client-current.pem"


class KubeadmNodeState(FactBase[dict[str, Any]]):
    """
    The kubeadm files present on a node and the installed Kubernetes package versions, in one command.

    ``role`` is ``control-plane`` when kube-apiserver.yaml exists, ``worker`` when only kubelet.conf
    does, ``none`` otherwise. A package that is not installed (dpkg status other than ``?i``, e.g.
    ``rc``) is absent from ``packages``; held packages (``hi``) count as installed.

    .. code:: python

        {
            "files": ["/etc/kubernetes/admin.conf", "/etc/kubernetes/kubelet.conf", ...],
            "packages": {"kubeadm": "1.32.3-1.1", "kubelet": "1.32.3-1.1", "kubectl": "1.32.3-1.1"},
            "role": "control-plane",
        }
    """

    def command(self) -> StringCommand:
        return StringCommand(
            "for f in",
            *(QuoteString(path) for path in STATE_FILES),
            '; do [ -e "$f" ] && echo "file $f"; done;',
            "dpkg-query -W -f='package ${Package} ${db:Status-Abbrev} ${Version}\\n'",
            *PACKAGES,
            "2>/dev/null || true",
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        files: list[str] = []
        packages: dict[str, str] = {}
        for line in output:
            parts = line.split()
            if len(parts) == 2 and parts[0] == "file":
                files.append(parts[1])
            elif len(parts) == 4 and parts[0] == "package" and parts[2][1:2] == "i":  # ii, hi: installed
                packages[parts[1]] = parts[3]
        if "/etc/kubernetes/manifests/kube-apiserver.yaml" in files:
            role = "control-plane"
        elif "/etc/kubernetes/kubelet.conf" in files:
            role = "worker"
        else:
            role = "none"
        return {"files": sorted(files), "packages": packages, "role": role}


class PkiCertificates(FactBase[dict[str, Any]]):
    """
    Expiry of every certificate under /etc/kubernetes/pki, the client certificates embedded in the
    kubeconfigs and kubelet's rotating client certificate, with days left by the node's clock.

    Only public material is read (``*.crt`` files, ``client-certificate-data`` lines, the
    certificate block of the kubelet PEM). Empty ``certificates`` when the node has no PKI.

    .. code:: python

        {"now": "2026-11-21T06:00:00+00:00", "certificates": {
            "/etc/kubernetes/pki/apiserver.crt": {"not_after": "2027-11-21T06:00:00+00:00", "days_left": 365},
        }}
    """

    def command(self) -> StringCommand:
        kubeconfigs = " ".join(f"/etc/kubernetes/{name}" for name in KUBECONFIGS)
        return StringCommand(
            "date -u +'now %s';"
            " find /etc/kubernetes/pki -name '*.crt' -type f 2>/dev/null | sort | while read -r f;"
            ' do echo "cert $f"; cat "$f"; done;'
            f" for f in {kubeconfigs}; do [ -f \"$f\" ] && grep -h 'client-certificate-data:' \"$f\""
            ' | sed "s|^ *client-certificate-data: *|kubeconfig $f |"; done;'
            f" [ -f {KUBELET_CLIENT_PEM} ] && echo 'cert {KUBELET_CLIENT_PEM}' &&"
            f" sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' {KUBELET_CLIENT_PEM}; true"
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        now = None
        blocks: dict[str, list[str]] = {}
        current: str | None = None
        for line in output:
            if line.startswith("now "):
                now = pki.utc_from_epoch(int(line.split()[1]))
            elif line.startswith("cert "):
                current = line[5:].strip()
                blocks[current] = []
            elif line.startswith("kubeconfig "):
                _, path, data = line.split(" ", 2)
                blocks[path] = pki.pem_from_base64(data).splitlines()
                current = None
            elif current is not None:
                blocks[current].append(line)
        if now is None:
            raise ValueError("PkiCertificates: the node's clock was not read")
        certificates = {}
        for path, lines in sorted(blocks.items()):
            expiry = pki.not_after("\n".join(lines))
            certificates[path] = {"not_after": expiry.isoformat(), "days_left": pki.days_left(expiry, now)}
        return {"now": now.isoformat(), "certificates": certificates}


class CaCertHash(FactBase[str | None]):
    """
    The discovery pin of the cluster CA (``sha256:`` + SHA-256 of its SubjectPublicKeyInfo),
    computed locally from /etc/kubernetes/pki/ca.crt. None when the node has no CA certificate.

    .. code:: python

        "sha256:0f2b...e1"
    """

    def command(self) -> StringCommand:
        return StringCommand("[ -f", QuoteString(CA_CRT), "] && cat", QuoteString(CA_CRT), "|| true")

    def process(self, output: list[str]) -> str | None:
        text = "\n".join(output)
        return pki.ca_cert_hash(text) if "BEGIN CERTIFICATE" in text else None


class ApiServerAnswers(FactBase[bool]):
    """
    Whether an API server answers ``/version`` with HTTP 200 at the endpoint (``host:port``).
    Used before ``kubeadm init`` to refuse creating a second cluster behind the load balancer.

    .. code:: python

        False
    """

    ENDPOINT = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$")

    def requires_command(self, endpoint: str) -> str:
        return "curl"

    def command(self, endpoint: str) -> StringCommand:
        if not self.ENDPOINT.match(endpoint):
            raise ValueError(f"invalid endpoint {endpoint!r}")
        return StringCommand(
            "curl -sk -o /dev/null -w '%{http_code}' --max-time 5",
            QuoteString(f"https://{endpoint}/version"),
            "|| true",
        )

    def process(self, output: list[str]) -> bool:
        return "".join(output).strip() == "200"


class NodeReadiness(FactBase[dict[str, Any]]):
    """
    What kubeadm init and join need on the node (spec 50-kubeadm.md §2, last paragraph): the clock
    synchronised, the ``memory`` and ``cpuset`` cgroup controllers enabled, containerd active with
    its CRI plugin loaded; and whether the node is a container, where the clock cannot be set.

    Controllers come from ``/sys/fs/cgroup/cgroup.controllers`` (cgroup v2), else from the enabled
    rows of ``/proc/cgroups`` (v1 and hybrid hierarchies).

    .. code:: python

        {"ntp_synchronized": True, "cgroup_controllers": ["cpuset", "memory", "pids"],
         "containerd": "active", "cri": "ok", "container": None}
    """

    def command(self) -> str:
        return (
            "echo \"ntp=$(timedatectl show -p NTPSynchronized --value 2>/dev/null)\"; "
            "if [ -r /sys/fs/cgroup/cgroup.controllers ]; then echo \"controllers=$(cat /sys/fs/cgroup/cgroup.controllers)\"; "
            "else echo \"controllers=$(awk '!/^#/ && $4 == 1 {print $1}' /proc/cgroups | tr '\\n' ' ')\"; fi; "
            "echo \"containerd=$(systemctl is-active containerd 2>/dev/null)\"; "
            "echo \"cri=$(ctr plugins ls 2>/dev/null | awk '$1 == \"io.containerd.grpc.v1\" && $2 == \"cri\" {print $NF}')\"; "
            "echo \"container=$(systemd-detect-virt --container 2>/dev/null)\""
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        values = {key: value.strip() for key, _, value in (line.partition("=") for line in output)}
        container = values.get("container") or None
        return {
            "ntp_synchronized": values.get("ntp") == "yes",
            "cgroup_controllers": sorted(values.get("controllers", "").split()),
            "containerd": values.get("containerd") or "unknown",
            "cri": values.get("cri") or "missing",
            "container": None if container == "none" else container,
        }
