"""kubeadm operations: init, join material, joins (spec 50-kubeadm.md §4, §6, §7).

Guards are evaluated when the operation body runs, which pyinfra does again at execution time,
immediately before the kubeadm command (§2). No operation here ever runs `kubeadm reset`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pyinfra import host, logger
from pyinfra.api import FunctionCommand, HiddenValue, OperationError, QuoteString, StringCommand, operation

from facts.kubeadm import ApiServerAnswers, KubeadmNodeState, NodeReadiness
from facts.kubernetes import ClusterNodes, kubectl
from goldentooth import join_material
from goldentooth.kubeadm_gates import (
    JoinGate, LoadBalancers, control_plane_gate, readiness_problems, refuse_second_cluster, worker_ready,
)
from goldentooth.pki import x509 as pki
from goldentooth.kubeadm_state import CA_CRT, INIT, NONE, NodeFiles, StateError, classify
from goldentooth.validation import parse_duration

VERSION = re.compile(r"^\d+\.\d+\.\d+$")
CONFIG_PATH = re.compile(r"^/[A-Za-z0-9._/-]+\.yaml$")
MAX_TOKEN_TTL = 24 * 3600
MASK_OUTPUT = (
    "sed -E 's/([a-z0-9]{6})\\.[a-z0-9]{16}/\\1.<masked>/g; s/[0-9a-f]{64}/<masked>/g'"
)


def _check_path(path: str) -> None:
    if not CONFIG_PATH.match(path):
        raise OperationError(f"invalid kubeadm config path {path!r}")


def _check_version(version: str) -> None:
    if not VERSION.match(str(version)):
        raise OperationError(f"invalid Kubernetes version {version!r}: expected MAJOR.MINOR.PATCH such as 1.32.3")


def masked(command: StringCommand) -> StringCommand:
    """Run a kubeadm command printing its output with tokens and keys masked, keeping its exit code."""
    return StringCommand("out=$(", command, "2>&1); rc=$?; printf '%s\\n' \"$out\" |", MASK_OUTPUT, "; exit $rc")


def _files_and_action(role: str, cluster_exists: bool = False) -> tuple[dict[str, Any], str]:
    state = host.get_fact(KubeadmNodeState)
    try:
        return state, classify(host.name, role, NodeFiles.from_fact(state), None, cluster_exists)
    except StateError as error:
        raise OperationError(str(error)) from None


def _check_ready(step: str) -> None:
    """Refuse init/join on a node without a synchronised clock, the cgroup controllers or containerd's CRI."""
    problems, warnings = readiness_problems(host.get_fact(NodeReadiness))
    for warning in warnings:
        logger.warning(f"{host.name}: {warning}")
    if problems:
        raise OperationError(f"{host.name} is not ready for kubeadm {step}: {'; '.join(problems)}")


def _check_installed(state: dict[str, Any], package: str, version: str) -> None:
    """Refuse to init/join with a package at another version (checked once it is installed)."""
    installed = state.get("packages", {}).get(package)
    if installed and not installed.startswith(f"{version}-"):
        raise OperationError(f"{package} {installed} is installed on {host.name}; data wants {version}: converge the packages first")


@operation(is_idempotent=False)
def init(config_path: str, kubernetes_version: str, endpoint: str, control_planes: list[str], balancers: LoadBalancers,
         pull_images: bool = True):
    """
    Create the cluster with ``kubeadm init`` on the first control plane, once.

    + config_path: the rendered init.yaml (Init-, Cluster- and KubeletConfiguration)
    + kubernetes_version: exact version the installed kubeadm must have (``1.32.3``)
    + endpoint: ``host:port`` of the API load balancer, probed to refuse a second cluster
    + control_planes: every control plane in data; init is refused when another one has kubeadm files
    + balancers: the load balancers (hosts, stats port and URI); init is refused when one routes to a
      live API server or its stats cannot be read
    + pull_images: pre-pull the control-plane images so slow disks do not time init out (off only
      where no registry can be reached, i.e. the lab, which says so in the deploy)

    Runs only where admin.conf, kubelet.conf, kube-apiserver.yaml and pki/ca.crt are all absent and
    no API server answers behind the endpoint; a node with some of them stops the run. Immediately
    before init, the other control planes and the load balancers are checked again for any sign of
    a running cluster (spec 50 §2). The node must have a synchronised clock, the memory and cpuset
    cgroup controllers and containerd's CRI plugin. The config file is validated first, images are
    pulled, then every init phase runs (no skipped phases); the step ends when the API answers
    ``/readyz`` through the load balancer.

    **Examples:**

    .. code:: python

        kubeadm.init(
            name="Initialise the cluster on the first control plane",
            config_path="/etc/kubernetes/kubeadm/init.yaml",
            kubernetes_version="1.32.3",
            endpoint="10.4.0.10:6443",
            control_planes=["bettley", "cargyll", "dalt"],
            balancers={"hosts": ["allyrion"], "stats_port": 8404, "stats_uri": "/stats"},
        )
    """
    _check_path(config_path)
    _check_version(kubernetes_version)
    state, action = _files_and_action("init")
    if action == INIT and host.get_fact(ApiServerAnswers, endpoint=endpoint):
        state, action = _files_and_action("init", cluster_exists=True)
    if action == NONE:
        host.noop(f"cluster is initialised on {host.name} (admin.conf present)")
        return
    _check_installed(state, "kubeadm", kubernetes_version)
    _check_ready("init")
    config = QuoteString(config_path)
    yield FunctionCommand(refuse_second_cluster, [list(control_planes), balancers], {})
    yield StringCommand("kubeadm", "config", "validate", "--config", config)
    if pull_images:
        yield StringCommand("kubeadm", "config", "images", "pull", "--config", config)
    yield masked(StringCommand("kubeadm", "init", "--config", config))
    yield wait_ready_through_endpoint()


def wait_ready_through_endpoint(seconds: int = 300) -> StringCommand:
    """Wait until the API answers /readyz through the load balancer (admin.conf points there)."""
    readyz = kubectl("get", "--raw=/readyz")
    return StringCommand(
        f"for i in $(seq {seconds // 5}); do", readyz, ">/dev/null 2>&1 && exit 0; sleep 5; done;",
        f"echo 'the API server did not answer /readyz through the endpoint within {seconds}s' >&2; exit 1",
    )


def _waiting(nodes: list[str]) -> list[str]:
    """Nodes of `nodes` the API does not list (all of them before the cluster exists)."""
    registered = host.get_fact(ClusterNodes)
    return [name for name in nodes if name not in registered]


def _ttl_seconds(ttl: str) -> int:
    seconds = parse_duration(ttl)
    if not seconds or seconds > MAX_TOKEN_TTL:
        raise OperationError(f"invalid bootstrap token TTL {ttl!r}: a duration such as 1h, at most 24h")
    return seconds


def create_bootstrap_token(state, host, material: dict, ttl: str, description: str) -> bool:
    """Create a bootstrap token on this host and read the CA pin; both go into `material`."""
    command = StringCommand("kubeadm", "token", "create", "--ttl", QuoteString(ttl), "--description", QuoteString(description))
    ok, output = host.run_shell_command(command)
    match = join_material.TOKEN.search(output.stdout) if ok else None
    if not match:
        host.log_styled("kubeadm token create printed no token", fg="red")
        return False
    ok, ca_output = host.run_shell_command(StringCommand("cat", QuoteString(CA_CRT)))
    if not ok:
        return False
    material.update(
        token=match.group(0),
        token_expires=(join_material.now() + timedelta(seconds=_ttl_seconds(ttl))).isoformat(),
        token_created=True,
        ca_cert_hash=pki.ca_cert_hash(ca_output.stdout),
    )
    return True


@operation(is_idempotent=False)
def bootstrap_token(material: dict, nodes: list[str], ttl: str = "1h", description: str = "goldentooth join"):
    """
    Create one short-lived bootstrap token for this run's joins, only when a node waits to join.

    + material: the run's join material; receives ``token``, ``token_expires`` and ``ca_cert_hash``
    + nodes: every node that should be in the cluster
    + ttl: token lifetime (``join_token_ttl``; at most 24h)
    + description: shown by ``kubeadm token list``

    **Examples:**

    .. code:: python

        kubeadm.bootstrap_token(
            name="Create a bootstrap token for the nodes that join",
            material=material, nodes=["bettley", "erenford"], ttl="1h",
        )
    """
    _ttl_seconds(ttl)
    waiting = _waiting(nodes)
    if not waiting:
        host.noop("every node is registered; no bootstrap token needed")
        return
    if join_material.valid(material, "token"):
        host.noop(f"bootstrap token {join_material.token_id(material['token'])} is valid until {material['token_expires']}")
        return
    yield FunctionCommand(create_bootstrap_token, [material, ttl, description], {})


def upload_certificate_key(state, host, material: dict) -> bool:
    """Generate a certificate key and upload the control-plane certificates encrypted with it."""
    ok, output = host.run_shell_command(StringCommand("kubeadm", "certs", "certificate-key"))
    match = join_material.CERTIFICATE_KEY.search(output.stdout) if ok else None
    if not match:
        host.log_styled("kubeadm certs certificate-key printed no key", fg="red")
        return False
    key = match.group(0)
    upload = StringCommand("kubeadm", "init", "phase", "upload-certs", "--upload-certs", "--certificate-key", HiddenValue(key))
    ok, _ = host.run_shell_command(masked(upload))
    if ok:
        material.update(
            certificate_key=key,
            certificate_key_expires=(join_material.now() + join_material.CERTIFICATE_KEY_LIFETIME).isoformat(),
        )
    return ok


@operation(is_idempotent=False)
def certificate_key(material: dict, control_planes: list[str]):
    """
    Make a certificate key and upload the shared control-plane certificates, when a control plane
    waits to join and no unexpired key exists (kubeadm drops uploaded certificates after 2 hours).

    + material: the run's join material; receives ``certificate_key`` and its expiry
    + control_planes: the control planes that should be in the cluster

    **Examples:**

    .. code:: python

        kubeadm.certificate_key(
            name="Upload the control-plane certificates for cargyll",
            material=material, control_planes=["cargyll"],
        )
    """
    if not _waiting(control_planes):
        host.noop("no control plane waits to join; no certificate key needed")
        return
    if join_material.valid(material, "certificate_key"):
        host.noop(f"certificate key is valid until {material['certificate_key_expires']}")
        return
    yield FunctionCommand(upload_certificate_key, [material], {})


@operation(is_idempotent=False)
def join(material: dict, configuration: dict, config_path: str, kubernetes_version: str, gate: JoinGate):
    """
    Join this node with ``kubeadm join``, as a control plane when the configuration has a
    ``controlPlane`` part, otherwise as a worker; only where it has not joined.

    + material: the run's join material (token, CA pin, certificate key), read at execution
    + configuration: this node's JoinConfiguration without secrets (token and key are filled in)
    + config_path: where join.yaml is written just before the join and deleted after it
    + kubernetes_version: exact version the installed kubeadm and kubelet must have
    + gate: the checks after the join (admin host, expected etcd members, load balancers, timeout)

    A control plane joins only where kube-apiserver.yaml is absent, a worker only where
    kubelet.conf is absent; a half-joined node stops the run and is never reset. The node must
    have a synchronised clock, the memory and cpuset cgroup controllers and containerd's CRI
    plugin. A joined control plane must be Ready, etcd must list exactly the expected members,
    all healthy, and every load balancer must route to it; until then no further node joins in
    this run. A joined worker must be Ready (waited for on the admin host).

    **Examples:**

    .. code:: python

        kubeadm.join(
            name="Join erenford as a worker",
            material=material,
            configuration=kubeadm_config.join_configuration(cluster, node, "", ""),
            config_path="/etc/kubernetes/kubeadm/join.yaml",
            kubernetes_version="1.32.3",
            gate={"admin": "bettley", "etcd_members": [], "timeout": 300,
                  "balancers": {"hosts": ["allyrion"], "stats_port": 8404, "stats_uri": "/stats"}},
        )
    """
    _check_path(config_path)
    _check_version(kubernetes_version)
    control_plane = "controlPlane" in configuration
    state, action = _files_and_action("control-plane" if control_plane else "worker")
    if action == NONE:
        host.noop(f"{host.name} has joined the cluster as a {'control plane' if control_plane else 'worker'}")
        return
    for package in ("kubeadm", "kubelet"):
        _check_installed(state, package, kubernetes_version)
    _check_ready("join")
    config = QuoteString(config_path)
    name = configuration["nodeRegistration"]["name"]
    yield FunctionCommand(join_material.write_join_configuration, [material, configuration, config_path], {})
    yield StringCommand("kubeadm", "config", "validate", "--config", config)
    yield masked(StringCommand("kubeadm", "join", "--config", config))
    yield StringCommand("rm", "-f", config)
    if control_plane:
        yield kubectl("wait", "--for=condition=Ready", QuoteString(f"node/{name}"), f"--timeout={int(gate['timeout'])}s")
        yield FunctionCommand(control_plane_gate, [name, list(gate["etcd_members"]), gate["balancers"], int(gate["timeout"]), material], {})
    else:
        yield FunctionCommand(worker_ready, [gate["admin"], name, int(gate["timeout"])], {})


@operation(is_idempotent=False)
def delete_bootstrap_token(material: dict):
    """
    Delete the bootstrap token this run created, once its joins are done.

    + material: the run's join material

    **Examples:**

    .. code:: python

        kubeadm.delete_bootstrap_token(name="Delete this run's bootstrap token", material=material)
    """
    if not material.get("token_created"):
        host.noop("this run created no bootstrap token")
        return
    yield StringCommand("kubeadm", "token", "delete", QuoteString(join_material.token_id(material["token"])))
