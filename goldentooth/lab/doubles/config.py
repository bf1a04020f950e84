"""kubeadm configuration files: multi-document YAML, checked against the kubeadm v1beta4 API.

Field names and shapes follow kubeadm.k8s.io/v1beta4 (Init-, Cluster-, Join-, Reset- and
UpgradeConfiguration); in v1beta4 extraArgs and kubeletExtraArgs are lists of {name, value}.
Unknown fields are errors for ``kubeadm config validate`` and warnings elsewhere, as in kubeadm.
KubeletConfiguration (kubelet.config.k8s.io/v1beta1) is checked for kind and a few values only.
"""

from __future__ import annotations

import hashlib
import re

import yaml

from .common import Failure, path

KUBEADM_API = "kubeadm.k8s.io/v1beta4"
KUBELET_API = "kubelet.config.k8s.io/v1beta1"
TOKEN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
CERT_KEY = re.compile(r"^[0-9a-f]{64}$")
CA_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")

ARGS = [{"name": str, "value": str}]
VOLUMES = [{"name": str, "hostPath": str, "mountPath": str, "readOnly": bool, "pathType": str}]
ENVS = [{"name": str, "value": str}]
COMPONENT = {"extraArgs": ARGS, "extraVolumes": VOLUMES, "extraEnvs": ENVS}
TAINTS = [{"key": str, "value": str, "effect": str, "timeAdded": str}]
NODE_REGISTRATION = {"name": str, "criSocket": str, "taints": TAINTS, "kubeletExtraArgs": ARGS,
                     "ignorePreflightErrors": [str], "imagePullPolicy": str, "imagePullSerial": bool}
ENDPOINT = {"advertiseAddress": str, "bindPort": int}
TIMEOUTS = {key: str for key in ("controlPlaneComponentHealthCheck", "kubeletHealthCheck", "kubernetesAPICall",
                                 "etcdAPICall", "tlsBootstrap", "discovery", "upgradeManifests")}
PATCHES = {"directory": str}
SCHEMAS: dict[str, dict] = {
    "InitConfiguration": {
        "bootstrapTokens": [{"token": str, "description": str, "ttl": str, "expires": str, "usages": [str],
                             "groups": [str]}],
        "dryRun": bool, "nodeRegistration": NODE_REGISTRATION, "localAPIEndpoint": ENDPOINT,
        "certificateKey": str, "skipPhases": [str], "patches": PATCHES, "timeouts": TIMEOUTS},
    "ClusterConfiguration": {
        "etcd": {"local": {"imageRepository": str, "imageTag": str, "extraArgs": ARGS, "extraEnvs": ENVS,
                           "dataDir": str, "serverCertSANs": [str], "peerCertSANs": [str]},
                 "external": {"endpoints": [str], "caFile": str, "certFile": str, "keyFile": str}},
        "networking": {"serviceSubnet": str, "podSubnet": str, "dnsDomain": str},
        "kubernetesVersion": str, "controlPlaneEndpoint": str,
        "apiServer": {**COMPONENT, "certSANs": [str]}, "controllerManager": COMPONENT, "scheduler": COMPONENT,
        "dns": {"disabled": bool, "imageRepository": str, "imageTag": str}, "proxy": {"disabled": bool},
        "certificatesDir": str, "imageRepository": str, "featureGates": dict, "clusterName": str,
        "encryptionAlgorithm": str, "certificateValidityPeriod": str, "caCertificateValidityPeriod": str},
    "JoinConfiguration": {
        "dryRun": bool, "nodeRegistration": NODE_REGISTRATION, "caCertPath": str,
        "discovery": {"bootstrapToken": {"token": str, "apiServerEndpoint": str, "caCertHashes": [str],
                                         "unsafeSkipCAVerification": bool},
                      "file": {"kubeConfigPath": str}, "tlsBootstrapToken": str},
        "controlPlane": {"localAPIEndpoint": ENDPOINT, "certificateKey": str},
        "skipPhases": [str], "patches": PATCHES, "timeouts": TIMEOUTS},
    "ResetConfiguration": {"cleanupTmpDir": bool, "certificatesDir": str, "criSocket": str, "dryRun": bool,
                           "force": bool, "ignorePreflightErrors": [str], "skipPhases": [str],
                           "unmountFlags": [str]},
    "UpgradeConfiguration": {"apply": dict, "node": dict, "plan": dict, "diff": dict, "timeouts": TIMEOUTS},
}


class ConfigFile:
    """A parsed config file: documents by kind, plus the file's sha256 for the invocation log."""

    def __init__(self, file: str, strict: bool = False):
        source = path(file)
        try:
            raw = source.read_bytes()
        except OSError as error:
            raise Failure(f"unable to read config from \"{file}\" : {error}") from error
        self.file = file
        self.digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        self.documents: dict[str, dict] = {}
        self.warnings: list[str] = []
        try:
            documents = [d for d in yaml.safe_load_all(raw) if d is not None]
        except yaml.YAMLError as error:
            raise Failure(f"error unmarshaling config file {file}: {error}") from error
        for document in documents:
            self._add(document, strict)

    def _add(self, document: dict, strict: bool) -> None:
        if not isinstance(document, dict) or "kind" not in document or "apiVersion" not in document:
            raise Failure(f"{self.file}: Object 'Kind' is missing in '{document}'")
        kind, api = document["kind"], document["apiVersion"]
        if kind in self.documents:
            raise Failure(f"invalid configuration: kind {kind!r} is specified twice in YAML file")
        if kind == "KubeletConfiguration":
            if api != KUBELET_API:
                raise Failure(f'no kind "KubeletConfiguration" is registered for version "{api}"')
            _check_kubelet(document)
        elif kind in SCHEMAS:
            if api != KUBEADM_API:
                raise Failure(f'your configuration file uses an old API spec: "{api}" ({kind}); '
                              f'please use "{KUBEADM_API}"' if api.startswith("kubeadm.k8s.io/")
                              else f'no kind "{kind}" is registered for version "{api}"')
            problems = _check(document, SCHEMAS[kind], "")
            if problems and strict:
                raise Failure("\n".join(f"{kind}: {p}" for p in problems))
            self.warnings += [f'[config] WARNING: strict decoding error: {p}' for p in problems]
        else:
            self.warnings.append(f'[config] WARNING: Ignored configuration document with GroupVersionKind {api}, Kind={kind}')
            return
        self.documents[kind] = document

    def get(self, kind: str) -> dict:
        return self.documents.get(kind, {})

    def require(self, *kinds: str) -> None:
        missing = [k for k in kinds if k not in self.documents]
        if missing:
            raise Failure(f"{self.file}: no {' or '.join(missing)} found in the config file")


def _check(value: object, schema: object, where: str) -> list[str]:
    """Field names and types of ``value`` against ``schema`` (dicts, one-element lists, types)."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{where or '.'}: expected an object, got {type(value).__name__}"]
        problems = []
        for key, item in value.items():
            field = f"{where}.{key}" if where else key
            if key in ("apiVersion", "kind") and not where:
                continue
            if key not in schema:
                problems.append(f'unknown field "{field}"')
            else:
                problems += _check(item, schema[key], field)
        return problems
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list of {_name(schema[0])}, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in _check(item, schema[0], f"{where}[{i}]")]
    if schema is dict:
        return [] if isinstance(value, dict) else [f"{where}: expected an object"]
    if schema is int and isinstance(value, bool) or not isinstance(value, schema):  # type: ignore[arg-type]
        return [f"{where}: expected {_name(schema)}, got {type(value).__name__}"]
    return []


def _name(schema: object) -> str:
    names = {str: "string", int: "integer", bool: "boolean"}
    return names.get(schema, "object") if isinstance(schema, type) else "object"


def _check_kubelet(document: dict) -> None:
    driver = document.get("cgroupDriver", "cgroupfs")
    if driver not in ("systemd", "cgroupfs"):
        raise Failure(f'KubeletConfiguration: invalid cgroupDriver "{driver}"')
    for key in ("imageMaximumGCAge", "imageMinimumGCAge"):
        if key in document and not re.fullmatch(r"(\d+(\.\d+)?(ns|us|ms|s|m|h))+", str(document[key])):
            raise Failure(f'KubeletConfiguration: {key}: invalid duration "{document[key]}"')


def parse_version(text: str) -> tuple[int, int, int]:
    """``v1.32.3`` -> (1, 32, 3); labels such as ``stable-1.32`` need the internet and fail here."""
    match = VERSION.match(str(text))
    if not match:
        raise Failure(f'unable to fetch file. URL: "https://dl.k8s.io/release/{text}.txt", error: lab nodes '
                      f'have no internet: version labels cannot be resolved; give an exact version')
    return int(match[1]), int(match[2]), int(match[3])


def validate_join(join: dict) -> dict:
    """The bootstrapToken discovery block, checked as kubeadm does before it connects."""
    discovery = join.get("discovery") or {}
    token_discovery = discovery.get("bootstrapToken")
    if not token_discovery:
        raise Failure("discovery: Invalid value: \"\": bootstrapToken or file must be set")
    token = token_discovery.get("token", "")
    if not TOKEN.match(token):
        raise Failure(f'discovery.bootstrapToken.token: Invalid value: "{token}": the bootstrap token '
                      f'"{token}" was not of the form "^([a-z0-9]{{6}})\\.([a-z0-9]{{16}})$"')
    if not token_discovery.get("apiServerEndpoint"):
        raise Failure("discovery.bootstrapToken.apiServerEndpoint: Invalid value: \"\": the endpoint must be set")
    hashes = token_discovery.get("caCertHashes") or []
    if not hashes and not token_discovery.get("unsafeSkipCAVerification"):
        raise Failure('discovery.bootstrapToken.caCertHashes: Invalid value: "": using token-based discovery '
                      'without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm '
                      'config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue')
    for value in hashes:
        if not CA_HASH.match(value):
            raise Failure(f'discovery.bootstrapToken.caCertHashes: Invalid value: "{value}": invalid hash, '
                          f'expected "format:hex-value"')
    key = (join.get("controlPlane") or {}).get("certificateKey")
    if key is not None and not CERT_KEY.match(key):
        raise Failure(f'controlPlane.certificateKey: Invalid value: "{key}": certificate key must be 64 hex characters')
    return token_discovery
