"""PKI helpers, join material, the §2 guard table and the callbacks that handle join secrets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from goldentooth import join_material
from goldentooth.pki import x509 as pki
from goldentooth.kubeadm_state import INIT, JOIN_CONTROL_PLANE, JOIN_WORKER, NONE, NodeFiles, StateError, classify
from operations import kubeadm as kubeadm_ops

HERE = Path(__file__).parent
CA = HERE / "data" / "pki" / "ca.crt"


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is needed for the reference pipeline")
def test_ca_hash_equals_the_openssl_pipeline():
    pubkey = subprocess.run(["openssl", "x509", "-in", str(CA), "-noout", "-pubkey"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pubkey, capture_output=True, check=True).stdout
    import hashlib

    assert pki.ca_cert_hash(CA.read_text()) == "sha256:" + hashlib.sha256(der).hexdigest()
    assert pki.CA_HASH.match(pki.ca_cert_hash(CA.read_text()))


def test_pem_parsing_errors_are_clear():
    with pytest.raises(ValueError, match="no PEM certificate"):
        pki.load_certificate("not a certificate")
    with pytest.raises(ValueError, match="not base64"):
        pki.pem_from_base64("%%%")


A = dict(admin_conf=True, kubelet_conf=True, apiserver_manifest=True, ca_crt=True, kubelet_config=True)


@pytest.mark.parametrize("role,files,registered,exists,expected", [
    ("init", A, None, False, NONE),
    ("init", {}, None, False, INIT),
    ("control-plane", {}, None, False, JOIN_CONTROL_PLANE),
    ("control-plane", A, True, False, NONE),
    ("worker", {}, None, False, JOIN_WORKER),
    ("worker", dict(kubelet_conf=True, ca_crt=True, kubelet_config=True), True, False, NONE),
])
def test_guard_table_actions(role, files, registered, exists, expected):
    assert classify("node", role, NodeFiles(**files), registered, exists) == expected


@pytest.mark.parametrize("role,files,registered,exists,message", [
    ("init", {}, None, True, "lost its state in a live cluster"),
    ("control-plane", dict(A, admin_conf=False), None, False, "admin.conf is missing"),
    ("control-plane", dict(apiserver_manifest=True), None, False, "half set up"),
    ("init", dict(kubelet_conf=True), None, False, "half set up"),
    ("control-plane", dict(ca_crt=True), None, False, "earlier attempt"),
    ("worker", dict(ca_crt=True), None, False, "previous join failed"),
    ("worker", dict(kubelet_config=True), None, False, "previous join failed"),
    ("worker", A, True, False, "runs a control plane"),
    ("worker", dict(kubelet_conf=True), False, False, "orphan"),
])
def test_guard_table_failures_name_the_way_out(role, files, registered, exists, message):
    with pytest.raises(StateError, match=message):
        classify("node", role, NodeFiles(**files), registered, exists)


def test_no_fixture_ever_produces_kubeadm_reset():
    for path in (HERE / "operations").glob("*/*.yaml"):
        case = yaml.safe_load(path.read_text())
        assert "kubeadm reset" not in str(case.get("commands", [])), path


def test_mask_hides_tokens_and_keys():
    text = "kubeadm join 10.4.0.10:6443 --token abcdef.0123456789abcdef --certificate-key " + "0f" * 32
    masked = join_material.mask(text)
    assert "0123456789abcdef" not in masked and "0f0f" not in masked and "abcdef.<masked>" in masked


class FakeOutput:
    def __init__(self, stdout):
        self.stdout = stdout


class FakeHost:
    """Stands in for a pyinfra host inside callbacks: scripted command output, recorded uploads."""

    def __init__(self, outputs):
        self.outputs, self.commands, self.uploads = outputs, [], {}

    def run_shell_command(self, command):
        raw = command.get_raw_value()
        self.commands.append(raw)
        for prefix, output in self.outputs.items():
            if raw.startswith(prefix) or prefix in raw:
                return output is not None, FakeOutput(output or "")
        return True, FakeOutput("")

    def put_file(self, src, dest):
        self.uploads[dest] = src.read()
        return True

    def log_styled(self, *args, **kwargs):
        pass


def test_token_callback_records_token_and_ca_pin():
    host = FakeHost({"kubeadm token create": "abcdef.0123456789abcdef\n", "cat ": CA.read_text()})
    material = {}
    assert kubeadm_ops.create_bootstrap_token(None, host, material, "1h", "goldentooth join")
    assert material["token"] == "abcdef.0123456789abcdef"
    assert material["ca_cert_hash"] == pki.ca_cert_hash(CA.read_text())
    assert join_material.valid(material, "token")
    assert host.commands[0] == "kubeadm token create --ttl 1h --description 'goldentooth join'"


def test_certificate_key_callback_uploads_with_a_masked_key():
    key = "ab" * 32
    host = FakeHost({"kubeadm certs certificate-key": key + "\n"})
    material = {"certificate_key": "0f" * 32, "certificate_key_expires": "2020-01-01T00:00:00+00:00"}
    assert kubeadm_ops.upload_certificate_key(None, host, material)
    assert material["certificate_key"] == key and join_material.valid(material, "certificate_key")
    assert f"kubeadm init phase upload-certs --upload-certs --certificate-key {key}" in host.commands[1]


def test_join_configuration_callback_fills_secrets_and_refuses_without_them():
    document = {"kind": "JoinConfiguration", "discovery": {"bootstrapToken": {"token": "", "caCertHashes": [""]}, "tlsBootstrapToken": ""},
                "controlPlane": {"certificateKey": ""}, "nodeRegistration": {"name": "cargyll"}}
    host = FakeHost({})
    assert not join_material.write_join_configuration(None, host, {}, document, "/etc/kubernetes/kubeadm/join.yaml")
    material = {"token": "abcdef.0123456789abcdef", "token_expires": "2099-01-01T00:00:00+00:00", "ca_cert_hash": "sha256:" + "1" * 64,
                "certificate_key": "ab" * 32, "certificate_key_expires": "2020-01-01T00:00:00+00:00"}
    assert not join_material.write_join_configuration(None, host, material, document, "/etc/kubernetes/kubeadm/join.yaml"), "expired key"
    material["certificate_key_expires"] = "2099-01-01T00:00:00+00:00"
    assert join_material.write_join_configuration(None, host, material, document, "/etc/kubernetes/kubeadm/join.yaml")
    written = yaml.safe_load(host.uploads["/etc/kubernetes/kubeadm/join.yaml"])
    assert written["discovery"]["bootstrapToken"] == {"token": "abcdef.0123456789abcdef", "caCertHashes": ["sha256:" + "1" * 64]}
    assert written["controlPlane"]["certificateKey"] == "ab" * 32
    assert document["discovery"]["tlsBootstrapToken"] == "", "the caller's document keeps no secret"
    assert host.commands[-1] == "install -m 0600 /dev/null /etc/kubernetes/kubeadm/join.yaml"
    assert material["unfinished"] == "cargyll", "the next join waits for this control plane's health gate"


def test_no_node_joins_after_a_control_plane_that_failed_its_gate():
    document = {"kind": "JoinConfiguration", "discovery": {"bootstrapToken": {"token": "", "caCertHashes": [""]}, "tlsBootstrapToken": ""},
                "nodeRegistration": {"name": "erenford"}}
    material = {"token": "abcdef.0123456789abcdef", "token_expires": "2099-01-01T00:00:00+00:00", "ca_cert_hash": "sha256:" + "1" * 64,
                "unfinished": "cargyll"}
    host = FakeHost({})
    assert not join_material.write_join_configuration(None, host, material, document, "/etc/kubernetes/kubeadm/join.yaml")
    assert host.commands == [] and host.uploads == {}
