"""SSH certificates on every host (spec 90-ssh-certificates.md checks 1–10).

The expected CA keys are the operator's public CA files (data `ssh_ca_dir`); nothing here reads
a CA private key. Logins with test certificates are lab tests (tests/lab/test_ssh_certificates.py).
"""

from __future__ import annotations

import time

import pytest

from goldentooth.health.checks import assert_content, file_content
from goldentooth.pki import cluster as identities
from goldentooth.pki.certificates import BACKDATE, describe, parse
from goldentooth.pki.sshca import CADirectory

pytestmark = pytest.mark.groups("all")

DROPIN = "/etc/ssh/sshd_config.d/10-goldentooth-certificates.conf"
USER_CA = "/etc/ssh/ssh_user_ca.pub"
PRINCIPALS_ROOT = "/etc/ssh/auth_principals/root"
KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"
CLIENT_CONFIG = "/etc/ssh/ssh_config.d/10-goldentooth.conf"


def ca_line(node, kind: str) -> str:
    return CADirectory.at(node.data.get("ssh_ca_dir")).authority(kind).public_line()


def owned(node, path: str, mode: int) -> None:
    file = node.file(path)
    assert file.exists, f"{path} is missing"
    assert (file.user, file.group, file.mode) == ("root", "root", mode), f"{path}: {file.user}:{file.group} {file.mode:o}"


def certificate_fields(node, path: str) -> dict:
    raw = file_content(node, path)
    assert raw is not None, f"{path} is missing"
    cert = parse(raw.decode())
    cert.verify_cert_signature()
    return describe(cert)


def same_key(a: str, b: str) -> bool:
    return a.split()[:2] == b.split()[:2]


def test_host_certificate(node):
    """Check 1: signed by the host CA for this host's key, exact principals, valid now, 30 days + 300 s."""
    owned(node, identities.HOST_CERTIFICATE, 0o644)
    fields = certificate_fields(node, identities.HOST_CERTIFICATE)
    host_key = file_content(node, identities.HOST_KEY).decode()
    now = int(time.time())
    assert fields["kind"] == "host" and fields["key_id"] == node.name
    assert same_key(fields["public_key"], host_key)
    assert same_key(fields["signature_key"], ca_line(node, "host"))
    assert fields["principals"] == list(identities.host_principals(node.inventory))
    assert fields["critical_options"] == {} and fields["extensions"] == []
    assert fields["valid_after"] <= now < fields["valid_before"]
    assert fields["valid_before"] - fields["valid_after"] == int(node.data["ssh_host_cert_validity"]) + BACKDATE


def test_host_certificate_has_a_third_of_its_validity_left(node):
    """Check 2: the deploy renews before a third is left, so a converged host never shows less."""
    fields = certificate_fields(node, identities.HOST_CERTIFICATE)
    assert (fields["valid_before"] - time.time()) * 3 >= fields["valid_before"] - fields["valid_after"]


def test_user_ca_trusted(node):
    """Check 3."""
    owned(node, USER_CA, 0o644)
    assert_content(node, USER_CA, ca_line(node, "user") + "\n")


def test_sshd_dropin_and_effective_configuration(node):
    """Check 4: the drop-in is exact and sshd's effective configuration uses it."""
    owned(node, DROPIN, 0o644)
    assert_content(node, DROPIN, identities.SSHD_DROPIN)
    effective = set(node.check_output("/usr/sbin/sshd -T").splitlines())
    assert f"hostcertificate {identities.HOST_CERTIFICATE}" in effective
    assert f"trustedusercakeys {USER_CA}" in effective
    assert "authorizedprincipalsfile /etc/ssh/auth_principals/%u" in effective
    assert "hostkey /etc/ssh/ssh_host_ed25519_key" in effective
    assert effective & {"permitrootlogin without-password", "permitrootlogin yes"}


def test_sshd_configuration_valid(node):
    """Check 5: exit 0 and nothing on stderr (a missing certificate only warns)."""
    result = node.run("/usr/sbin/sshd -t")
    assert (result.rc, result.stderr) == (0, "")


def test_root_principals(node, cluster):
    """Check 6: root by certificate; the replication principal only on replicas, only from the source."""
    owned(node, PRINCIPALS_ROOT, 0o644)
    text = file_content(node, PRINCIPALS_ROOT).decode()
    assert text.splitlines()[0] == "root"
    assert text == identities.principals_file(cluster, node.inventory, "root")
    assert ("zfs-replication" in text) == (node.name in cluster.zfs_replicas)


def test_known_hosts_trust_the_host_ca_for_cluster_names_only(node, cluster):
    """Check 7."""
    owned(node, KNOWN_HOSTS, 0o644)
    assert_content(node, KNOWN_HOSTS, identities.cert_authority_line(cluster, ca_line(node, "host")))


def test_strict_host_key_checking_stays_on(node, cluster):
    """Check 8: no configuration turns host verification off; cluster names are strict."""
    assert_content(node, CLIENT_CONFIG, identities.client_config(cluster))
    for path in node.check_output("ls /etc/ssh/ssh_config /etc/ssh/ssh_config.d/*.conf /root/.ssh/config 2>/dev/null || true").split():
        text = (file_content(node, path) or b"").decode().lower()
        assert "stricthostkeychecking no" not in text and "userknownhostsfile /dev/null" not in text, path
    other = next(name for name in cluster.hosts if name != node.name) if len(cluster.hosts) > 1 else node.name
    assert "stricthostkeychecking true" in node.check_output(f"ssh -G {other}").splitlines()


@pytest.mark.groups("zfs", where=lambda host: host.name == host.get("zfs_replication_source"))
def test_replication_identity(node, cluster):
    """Check 10: the source's replication key and its user certificate."""
    key = str(node.data["zfs_replication_ssh_key"])
    owned(node, key, 0o600)
    owned(node, f"{key}.pub", 0o644)
    owned(node, f"{key}-cert.pub", 0o644)
    fields = certificate_fields(node, f"{key}-cert.pub")
    request = identities.replication_request(cluster)
    assert fields["kind"] == "user" and fields["key_id"] == request.key_id
    assert fields["principals"] == list(request.principals)
    assert fields["critical_options"] == dict(request.critical_options) and fields["extensions"] == []
    assert same_key(fields["signature_key"], ca_line(node, "user"))
    assert same_key(fields["public_key"], file_content(node, f"{key}.pub").decode())
    assert fields["valid_after"] <= time.time() < fields["valid_before"]


@pytest.mark.operator
def test_host_presents_its_certificate(node):
    """Check 9: what the host presents on the wire (from the operator machine)."""
    scan = node.backend.run_local(f"ssh-keyscan -T 5 -t ed25519 -c {node.inventory.address}")
    lines = [line for line in scan.stdout.splitlines() if line and not line.startswith("#")]
    assert lines, scan.stderr
    problems = identities.host_certificate_problems(
        " ".join(lines[0].split()[1:3]), node.inventory, ca_line(node, "host"), int(time.time())
    )
    assert problems == []
