"""The vendored Calico manifest: missing file and checksum refusals, the one edit on parsed YAML."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from goldentooth import calico

MANIFEST = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system}
spec:
  template:
    spec:
      containers:
      - name: calico-node
        image: docker.io/calico/node:v3.29.3
        env:
        - {name: CALICO_NETWORKING_BACKEND, value: bird}
        - {name: IP_AUTODETECTION_METHOD, value: first-found}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: calico-config, namespace: kube-system}
"""


def vendor(tmp_path, text=MANIFEST, checksum=None):
    path = tmp_path / "calico.yaml"
    path.write_text(text)
    (tmp_path / "calico.yaml.sha256").write_text(f"{checksum or hashlib.sha256(text.encode()).hexdigest()}  calico.yaml\n")
    return str(path)


def test_missing_manifest_fails_with_the_way_to_vendor_it(tmp_path):
    with pytest.raises(calico.ManifestError, match="is not vendored: add the file from https://raw.githubusercontent.com/projectcalico/calico/v3.29.3/manifests/calico.yaml"):
        calico.verified_text(str(tmp_path / "calico.yaml"), "v3.29.3")


def test_altered_manifest_is_refused(tmp_path):
    with pytest.raises(calico.ManifestError, match="refusing an altered manifest"):
        calico.verified_text(vendor(tmp_path, checksum="0" * 64), "v3.29.3")


def test_autodetection_is_set_on_calico_node_only(tmp_path):
    text = calico.verified_text(vendor(tmp_path), "v3.29.3")
    documents = list(yaml.safe_load_all(calico.render(text, "cidr=10.4.0.0/20")))
    env = documents[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "CALICO_NETWORKING_BACKEND", "value": "bird"}, {"name": "IP_AUTODETECTION_METHOD", "value": "cidr=10.4.0.0/20"}]
    assert documents[1] == yaml.safe_load(MANIFEST.split("---\n")[1])


def test_manifest_without_calico_node_is_refused():
    with pytest.raises(calico.ManifestError, match="no calico-node container"):
        calico.render("kind: ConfigMap\nmetadata: {name: x}\n", "cidr=10.4.0.0/20")
