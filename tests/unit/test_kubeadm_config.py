"""Rendered kubeadm configuration: values from spec 50 §3, and every field checked against the API schema."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from goldentooth import kubeadm_config

SCHEMA = yaml.safe_load((Path(__file__).parent / "data" / "kubeadm_api_schema.yaml").read_text())
GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
TOKEN = "abcdef.0123456789abcdef"
CA_HASH = "sha256:" + "ab" * 32
KEY = "0f" * 32


def schema_errors(value: Any, type_name: str, path: str) -> list[str]:
    """Every field of `value` that the schema type does not define or whose value has another type."""
    if type_name.startswith("["):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        return [error for i, item in enumerate(value) for error in schema_errors(item, type_name[1:-1], f"{path}[{i}]")]
    if type_name.startswith("{"):
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {value!r}"]
        return [error for key, item in value.items() for error in schema_errors(item, type_name[1:-1], f"{path}.{key}")]
    if type_name.startswith("enum:"):
        allowed = type_name[5:].split("|")
        return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
    scalar_checks = {
        "string": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "int32": lambda v: isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31,
        "int64": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "duration": lambda v: isinstance(v, str) and bool(GO_DURATION.match(v)),
        "time": lambda v: isinstance(v, str),
    }
    if type_name in scalar_checks:
        return [] if scalar_checks[type_name](value) else [f"{path}: {value!r} is not a {type_name}"]
    fields = SCHEMA["types"][type_name]
    if not isinstance(value, dict):
        return [f"{path}: expected a {type_name} object, got {value!r}"]
    errors = []
    for key, item in value.items():
        if key not in fields:
            errors.append(f"{path}.{key}: no such field in {type_name}")
        else:
            errors.extend(schema_errors(item, fields[key], f"{path}.{key}"))
    return errors


def check_document(document: dict[str, Any]) -> None:
    kinds = SCHEMA["kinds"].get(document.get("apiVersion"), [])
    assert document.get("kind") in kinds, f"{document.get('apiVersion')}/{document.get('kind')} is not a known kind"
    assert schema_errors(document, document["kind"], document["kind"]) == []


def test_schema_check_rejects_unknown_fields_and_wrong_types():
    bad = {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "JoinConfiguration",
        "discovery": {"timeout": "5m", "bootstrapToken": {"token": TOKEN, "caCertHashes": CA_HASH}},
        "nodeRegistration": {"kubeletExtraArgs": {"node-ip": "10.4.0.14"}},
    }
    errors = schema_errors(bad, "JoinConfiguration", "JoinConfiguration")
    assert "JoinConfiguration.discovery.timeout: no such field in Discovery" in errors
    assert any("caCertHashes: expected a list" in error for error in errors)
    assert any("kubeletExtraArgs: expected a list" in error for error in errors)


def test_init_file_has_three_documents_valid_against_the_api(cluster):
    documents = list(yaml.safe_load_all(kubeadm_config.init_file(cluster, cluster.host("bettley"))))
    assert [doc["kind"] for doc in documents] == ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"]
    for document in documents:
        check_document(document)
    init, config, kubelet = documents
    assert init["localAPIEndpoint"] == {"advertiseAddress": "10.4.0.11", "bindPort": 6443}
    assert {"name": "node-ip", "value": "10.4.0.11"} in init["nodeRegistration"]["kubeletExtraArgs"]
    assert init["nodeRegistration"]["taints"] == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    assert "token" not in init["bootstrapTokens"][0] and init["bootstrapTokens"][0]["ttl"] == "1h0m0s"
    assert "certificateKey" not in init and "skipPhases" not in init and "timeouts" not in init
    assert config["kubernetesVersion"] == "v1.32.3"
    assert config["controlPlaneEndpoint"] == "10.4.0.10:6443"
    assert config["networking"] == {"serviceSubnet": "172.16.0.0/20", "podSubnet": "192.168.0.0/16", "dnsDomain": "cluster.local"}
    assert config["apiServer"]["certSANs"] == ["10.4.0.10", "lb-apiserver.kubernetes.local"]
    assert kubelet["cgroupDriver"] == "systemd" and kubelet["imageMaximumGCAge"] == "24h"
    assert (kubelet["imageGCHighThresholdPercent"], kubelet["imageGCLowThresholdPercent"]) == (85, 75)


def test_worker_join_for_velaryon_pins_the_ca_and_carries_the_gpu_taint(cluster):
    document = kubeadm_config.join_configuration(cluster, cluster.host("velaryon"), TOKEN, CA_HASH)
    check_document(document)
    discovery = document["discovery"]
    assert discovery["bootstrapToken"]["caCertHashes"] == [CA_HASH]
    assert re.match(r"^sha256:[0-9a-f]{64}$", discovery["bootstrapToken"]["caCertHashes"][0])
    assert "unsafeSkipCAVerification" not in discovery["bootstrapToken"]
    assert discovery["tlsBootstrapToken"] == TOKEN
    assert "controlPlane" not in document
    assert document["nodeRegistration"]["taints"] == [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]


def test_control_plane_join_for_cargyll(cluster):
    document = kubeadm_config.join_configuration(cluster, cluster.host("cargyll"), TOKEN, CA_HASH, KEY)
    check_document(document)
    assert document["controlPlane"]["localAPIEndpoint"]["advertiseAddress"] == "10.4.0.12"
    assert re.match(r"^[0-9a-f]{64}$", document["controlPlane"]["certificateKey"])
    with pytest.raises(ValueError, match="needs a certificate key"):
        kubeadm_config.join_configuration(cluster, cluster.host("cargyll"), TOKEN, CA_HASH)


def test_every_node_renders_valid_documents_and_timeouts_from_data(cluster):
    settings = dict(cluster.settings, kubeadm_timeouts={"controlPlaneComponentHealthCheck": "8m0s"})
    timed = type(cluster)(cluster.hosts, cluster.groups, settings, cluster.source)
    for host in cluster.group("k8s_cluster"):
        key = KEY if host.in_group("k8s_control_plane") else None
        document = kubeadm_config.join_configuration(timed, host, TOKEN, CA_HASH, key)
        check_document(document)
        assert document["timeouts"] == {"controlPlaneComponentHealthCheck": "8m0s"}


def test_render_is_deterministic(cluster):
    bettley = cluster.host("bettley")
    assert kubeadm_config.init_file(cluster, bettley) == kubeadm_config.init_file(cluster, bettley)


def test_drift_compares_only_what_data_renders_and_names_each_value():
    rendered = {"networking": {"podSubnet": "10.244.0.0/16", "serviceSubnet": "172.16.0.0/20"},
                "apiServer": {"certSANs": ["10.4.0.10", "lb.example"]}, "clusterName": "goldentooth"}
    uploaded = {"networking": {"podSubnet": "192.168.0.0/16", "serviceSubnet": "172.16.0.0/20", "dnsDomain": "cluster.local"},
                "apiServer": {"certSANs": ["10.4.0.10"]}, "certificatesDir": "/etc/kubernetes/pki"}
    assert kubeadm_config.drift(rendered, uploaded) == [
        'networking.podSubnet: the cluster has "192.168.0.0/16", data renders "10.244.0.0/16"',
        'apiServer.certSANs: the cluster has ["10.4.0.10"], data renders ["10.4.0.10", "lb.example"]',
        'clusterName: the cluster has nothing, data renders "goldentooth"',
    ]


def test_no_drift_between_data_and_the_configuration_it_uploaded(cluster):
    document = kubeadm_config.cluster_configuration(cluster)
    assert kubeadm_config.drift(document, {**document, "certificatesDir": "/etc/kubernetes/pki"}) == []
