"""The GPU node's rendered files: Kubernetes objects checked against the API's field names,
the spec's offline checks, and the containerd drop-in and apt source against the spec's text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploys.containerd import config_version
from deploys.gpu import KEYRING, RUNTIME_BINARY, RUNTIME_HANDLER, cluster_manifest
from goldentooth import PROJECT_ROOT
from goldentooth.inventory import load_group_data
from goldentooth.manifests import DIGEST_ANNOTATION
from goldentooth.render import render

DATA = Path(__file__).parent / "data"
SCHEMA = yaml.safe_load((DATA / "kubernetes_fields.yaml").read_text())
GPU_DATA = load_group_data(PROJECT_ROOT / "group_data")["gpu"]
DRIVER_VERSION = re.compile(r"\b\d{3}\.\d{2,3}(\.\d{2})?\b")
SCALARS = {"string": str, "integer": int, "boolean": bool}


def objects() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(cluster_manifest(GPU_DATA)))


def by_kind(kind: str) -> dict[str, Any]:
    return next(document for document in objects() if document["kind"] == kind)


def unknown_fields(value: Any, type_name: str, path: str) -> list[str]:
    """Every path in `value` that the vendored API schema does not allow for `type_name`."""
    if type_name == "object":
        return [] if isinstance(value, dict) else [f"{path}: expected an object"]
    if type_name == "map":
        ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        return [] if ok else [f"{path}: expected a map of strings to strings, got {value!r}"]
    if type_name == "intorstring":
        return [] if isinstance(value, (int, str)) and not isinstance(value, bool) else [f"{path}: int or string"]
    if type_name.startswith("[]"):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [error for index, item in enumerate(value) for error in unknown_fields(item, type_name[2:], f"{path}[{index}]")]
    if type_name in SCALARS:
        python_type = SCALARS[type_name]
        ok = isinstance(value, python_type) and (python_type is bool or not isinstance(value, bool))
        return [] if ok else [f"{path}: expected {type_name}, got {value!r}"]
    fields = SCHEMA["types"][type_name]
    if not isinstance(value, dict):
        return [f"{path}: expected {type_name} object"]
    errors = [f"{path}.{key}: not a field of {type_name}" for key in value if key not in fields]
    return errors + [error for key, item in value.items() if key in fields for error in unknown_fields(item, fields[key], f"{path}.{key}")]


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (str(key), *strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [str(value)]


def test_manifest_holds_runtime_class_then_daemonset():
    assert [(doc["apiVersion"], doc["kind"]) for doc in objects()] == [
        ("node.k8s.io/v1", "RuntimeClass"),
        ("apps/v1", "DaemonSet"),
    ]


@pytest.mark.parametrize("kind", ["RuntimeClass", "DaemonSet"])
def test_every_field_exists_in_the_kubernetes_api(kind):
    document = by_kind(kind)
    root = SCHEMA["roots"][f"{document['apiVersion']}/{kind}"]
    assert unknown_fields(document, root, kind) == []


def test_schema_walk_rejects_unknown_and_mistyped_fields():
    document = by_kind("DaemonSet")
    pod = document["spec"]["template"]["spec"]
    pod["runtimeClass"] = "nvidia"
    pod["nodeSelector"] = {"gpu": True}
    pod["containers"][0]["securityContext"]["privilegd"] = True
    assert unknown_fields(document, "DaemonSet", "DaemonSet") == [
        "DaemonSet.spec.template.spec.runtimeClass: not a field of PodSpec",
        "DaemonSet.spec.template.spec.containers[0].securityContext.privilegd: not a field of SecurityContext",
        "DaemonSet.spec.template.spec.nodeSelector: expected a map of strings to strings, got {'gpu': True}",
    ]


def test_runtime_class_maps_to_the_containerd_handler():
    runtime_class = by_kind("RuntimeClass")
    assert runtime_class["metadata"]["name"] == "nvidia"
    assert runtime_class["handler"] == RUNTIME_HANDLER == "nvidia"
    assert runtime_class["scheduling"] == {
        "nodeSelector": {"gpu": "true"},
        "tolerations": [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
    }


def test_device_plugin_meets_the_spec_offline_checks():
    daemonset = by_kind("DaemonSet")
    assert daemonset["metadata"]["name"] == "nvidia-device-plugin-daemonset"
    assert daemonset["metadata"]["namespace"] == "kube-system"
    assert daemonset["spec"]["selector"] == {"matchLabels": {"name": "nvidia-device-plugin-ds"}}
    assert daemonset["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "nvidia"
    assert pod["priorityClassName"] == "system-node-critical"
    assert pod["nodeSelector"] == {"gpu": "true"}
    assert pod["tolerations"] == [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    (container,) = pod["containers"]
    assert container["image"] == "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["env"] == [{"name": "FAIL_ON_INIT_ERROR", "value": "true"}]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert [volume["hostPath"] for volume in pod["volumes"]] == [{"path": "/var/lib/kubelet/device-plugins", "type": "Directory"}]
    everything = strings(daemonset)
    assert "privileged" not in everything
    assert not [s for s in everything if "libnvidia-ml" in s or s == "/dev" or s.startswith("/dev/")]


def test_objects_carry_one_digest_that_follows_the_data():
    digests = {doc["metadata"]["annotations"][DIGEST_ANNOTATION] for doc in objects()}
    assert len(digests) == 1
    bumped = dict(GPU_DATA, nvidia_device_plugin_image="nvcr.io/nvidia/k8s-device-plugin:v0.17.2")
    assert cluster_manifest(bumped) != cluster_manifest(GPU_DATA)
    assert cluster_manifest(GPU_DATA) == cluster_manifest(dict(GPU_DATA))


def test_no_driver_version_in_templates_or_rendered_files():
    texts = [path.read_text() for path in (PROJECT_ROOT / "templates").rglob("*.j2")]
    texts += [cluster_manifest(GPU_DATA), dropin(2), dropin(3)]
    assert not [match.group(0) for text in texts for match in DRIVER_VERSION.finditer(text)]


def dropin(version: int) -> str:
    return render(
        "containerd/99-nvidia.toml.j2",
        config_version=version,
        sandbox_image="registry.k8s.io/pause:3.10",
        handler=RUNTIME_HANDLER,
        binary=RUNTIME_BINARY,
    )


def without_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


@pytest.mark.parametrize("version", [2, 3])
def test_containerd_dropin_is_the_spec_text(version):
    assert without_comments(dropin(version)) == (DATA / f"containerd-99-nvidia-v{version}.toml").read_text()


@pytest.mark.parametrize(
    ("installed", "package", "expected"),
    [({"version": "1.7.27", "major": 1}, "1.7.27-1", 2), ({"version": "1.6.20", "major": 1}, "1.6.20~ds1-1+deb12u1", 2),
     ({"version": "2.0.5", "major": 2}, "1.7.27-1", 3), (None, "2.1.0-1", 3), (None, "1.7.27-1", 2), (None, "1:2.0.0-1", 3)],
)
def test_containerd_config_version_follows_the_installed_major(installed, package, expected):
    assert config_version(installed, package) == expected


def test_apt_source_is_the_spec_text():
    source = render(
        "gpu/nvidia-container-toolkit.sources.j2",
        url=GPU_DATA["nvidia_container_toolkit_apt_url"],
        arch="amd64",
        keyring=KEYRING,
    )
    assert without_comments(source) == (DATA / "nvidia-container-toolkit.sources").read_text()
