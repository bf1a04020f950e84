"""The vendored, pinned Calico manifest: checksum verification and the one edit goldentooth makes.

Spec 50-kubeadm.md §5.2. The manifest is a file in the repository (never fetched at apply time);
its sha256 is recorded beside it (`<manifest>.sha256`, `sha256sum` format) and verified before use.
The only change is env IP_AUTODETECTION_METHOD on the calico-node container, made on the parsed
YAML, never by text substitution.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from . import PROJECT_ROOT
from .errors import GoldentoothError

SOURCE = "https://raw.githubusercontent.com/projectcalico/calico/{version}/manifests/calico.yaml"


class ManifestError(GoldentoothError):
    """The vendored manifest is missing, altered or not the expected shape."""


def manifest_path(relative: str) -> Path:
    path = Path(relative)
    return path if path.is_absolute() else PROJECT_ROOT / path


def verified_text(relative: str, version: str) -> str:
    """The manifest text after checking it exists and matches its recorded sha256."""
    path = manifest_path(relative)
    checksum = path.with_name(path.name + ".sha256")
    if not path.is_file():
        raise ManifestError(
            f"Calico manifest {relative} is not vendored: add the file from {SOURCE.format(version=version)} "
            f"and its sha256 as {checksum.name} (`sha256sum calico.yaml > calico.yaml.sha256`)"
        )
    if not checksum.is_file():
        raise ManifestError(f"{checksum} is missing: the sha256 of {relative} must be recorded beside it")
    expected = checksum.read_text(encoding="utf-8").split()[0].lower()
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ManifestError(f"{relative} has sha256 {actual}, but {checksum.name} records {expected}: refusing an altered manifest")
    return data.decode("utf-8")


def render(text: str, ip_autodetection_method: str) -> str:
    """The manifest with IP_AUTODETECTION_METHOD set on the calico-node container."""
    documents = [doc for doc in yaml.safe_load_all(text) if doc]
    found = False
    for doc in documents:
        if doc.get("kind") == "DaemonSet" and doc.get("metadata", {}).get("name") == "calico-node":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container.get("name") == "calico-node":
                    env = [item for item in container.get("env", []) if item.get("name") != "IP_AUTODETECTION_METHOD"]
                    env.append({"name": "IP_AUTODETECTION_METHOD", "value": ip_autodetection_method})
                    container["env"] = env
                    found = True
    if not found:
        raise ManifestError("the Calico manifest has no calico-node container in a calico-node DaemonSet")
    return "---\n".join(yaml.safe_dump(doc, sort_keys=True, default_flow_style=False) for doc in documents)
