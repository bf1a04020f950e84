"""Trust files, principals and the ssh-ca CLI for the default inventory (spec 90 §5, §7, §8, §10)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from goldentooth.cli import cli, sshca  # noqa: F401  (registers `ssh-ca`)
from goldentooth.inventory import load_inventory
from goldentooth.model import Cluster
from goldentooth.pki import cluster as identities
from goldentooth.pki.certificates import Issuer, describe, parse
from goldentooth.pki.sshca import CADirectory, public_line

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "secrets.yaml"
    path.write_text("haproxy_stats_password: test-only\n")
    os.chmod(path, 0o600)
    monkeypatch.setenv("GOLDENTOOTH_SECRETS", str(path))
    return path


@pytest.fixture
def cluster(secrets: Path) -> Cluster:
    return load_inventory(ROOT / "inventory.py")


def test_cert_authority_line_is_scoped_to_the_cluster(cluster: Cluster) -> None:
    line = identities.cert_authority_line(cluster, "ssh-ed25519 AAAAKEY goldentooth-host-ca")
    assert line == (
        "@cert-authority *.nodes.goldentooth.net,allyrion,bettley,cargyll,dalt,erenford,fenn,gardener,harlton,"
        "inchfield,jast,karstark,lipps,velaryon,10.4.0.10,10.4.0.11,10.4.0.12,10.4.0.13,10.4.0.14,10.4.0.15,"
        "10.4.0.16,10.4.0.17,10.4.0.18,10.4.0.19,10.4.0.20,10.4.0.21,10.4.0.30 ssh-ed25519 AAAAKEY goldentooth-host-ca\n"
    )
    assert "@cert-authority * " not in line


def test_client_config_keeps_strict_checking(cluster: Cluster) -> None:
    text = identities.client_config(cluster)
    assert text.startswith("# Managed by goldentooth. Local edits are overwritten.\nHost *.nodes.goldentooth.net allyrion ")
    assert text.endswith(" 10.4.0.21 10.4.0.30\n    StrictHostKeyChecking yes\n")


def test_host_principals(cluster: Cluster) -> None:
    request = identities.host_request(cluster.host("velaryon"))
    assert (request.kind, request.key_id, request.validity) == ("host", "velaryon", 2592000)
    assert request.principals == ("velaryon", "velaryon.nodes.goldentooth.net", "10.4.0.30")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("erenford", 'root\nfrom="10.4.0.10",restrict zfs-replication\n'),
        ("gardener", 'root\nfrom="10.4.0.10",restrict zfs-replication\n'),
        ("allyrion", "root\n"),
        ("bettley", "root\n"),
    ],
)
def test_principals_files(cluster: Cluster, name: str, expected: str) -> None:
    assert identities.principals_file(cluster, cluster.host(name), "root") == expected


def test_replication_request(cluster: Cluster) -> None:
    request = identities.replication_request(cluster)
    assert request is not None
    assert (request.kind, request.key_id, request.principals) == ("user", "zfs-replication@allyrion", ("zfs-replication",))
    assert request.critical_options == {"source-address": "10.4.0.10/32"} and request.extensions == ()


def test_sshd_dropin_content() -> None:
    assert identities.SSHD_DROPIN == (
        "# Managed by goldentooth. Local edits are overwritten.\n"
        "HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n"
        "TrustedUserCAKeys /etc/ssh/ssh_user_ca.pub\n"
        "AuthorizedPrincipalsFile /etc/ssh/auth_principals/%u\n"
    )
    assert "HostKey " not in identities.SSHD_DROPIN


def test_pyinfra_data_uses_plain_known_hosts_and_strict_checking(cluster: Cluster) -> None:
    for host in cluster.hosts.values():
        assert host.get("ssh_strict_host_key_checking") == "yes"
        assert host.get("ssh_known_hosts_file") == f"{host.get('ssh_ca_dir')}/pyinfra_known_hosts"


def test_host_certificate_problems(tmp_path: Path, cluster: Cluster) -> None:
    ca = CADirectory.at(tmp_path / "ca")
    ca.init()
    host = cluster.host("bettley")
    subject = public_line(Ed25519PrivateKey.generate().public_key(), "k")
    good = Issuer(ca, NOW).sign(identities.host_request(host), subject)
    host_ca = ca.authority("host").public_line()
    assert identities.host_certificate_problems(good, host, host_ca, NOW) == []
    assert identities.host_certificate_problems(good, cluster.host("cargyll"), host_ca, NOW) == [
        "principals ['bettley', 'bettley.nodes.goldentooth.net', '10.4.0.11'] != "
        "['cargyll', 'cargyll.nodes.goldentooth.net', '10.4.0.12']"
    ]
    assert identities.host_certificate_problems(good, host, ca.authority("user").public_line(), NOW) == [
        "not signed by the host CA"
    ]
    assert identities.host_certificate_problems(good, host, host_ca, NOW + 40 * 86400) == ["not valid now"]


# --- the CLI ----------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["-i", str(ROOT / "inventory.py"), *args])
    return result.exit_code, result.output


@pytest.fixture
def user_key(tmp_path: Path) -> Path:
    path = tmp_path / "id_ed25519.pub"
    path.write_text(public_line(Ed25519PrivateKey.generate().public_key(), "me@laptop") + "\n")
    return path


def test_cli_init_status_and_sign_user(tmp_path: Path, secrets: Path, user_key: Path) -> None:
    ca_dir = tmp_path / "ca"
    code, output = run("ssh-ca", "--ca-dir", str(ca_dir), "init")
    assert code == 0, output
    assert (ca_dir / "known_hosts").read_text().startswith("@cert-authority *.nodes.goldentooth.net,allyrion,")
    code, output = run("ssh-ca", "--ca-dir", str(ca_dir), "init")
    assert code == 2 and "refusing to overwrite" in output
    code, output = run("ssh-ca", "--ca-dir", str(ca_dir), "sign-user", "--principal", "root", "--validity", "16h", "--pubkey", str(user_key))
    assert code == 0, output
    fields = describe(parse((tmp_path / "id_ed25519-cert.pub").read_text()))
    assert fields["kind"] == "user" and fields["principals"] == ["root"]
    assert fields["valid_before"] - fields["valid_after"] == 16 * 3600 + 300
    assert fields["extensions"] == ["permit-pty"] and fields["critical_options"] == {}
    assert fields["signature_key"] == " ".join((ca_dir / "user_ca.pub").read_text().split()[:2])
    code, output = run("ssh-ca", "--ca-dir", str(ca_dir), "status")
    assert code == 0 and "host CA  SHA256:" in output and "bettley    no host certificate issued" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--validity", "25h"), "longer than 24h"),
        (("--principal", "zfs-replication"), "reserved for ZFS replication"),
        (("--validity", "soon"), "is not a duration"),
    ],
)
def test_cli_sign_user_refusals(tmp_path: Path, secrets: Path, user_key: Path, args: tuple[str, ...], message: str) -> None:
    ca_dir = tmp_path / "ca"
    assert run("ssh-ca", "--ca-dir", str(ca_dir), "init")[0] == 0
    code, output = run("ssh-ca", "--ca-dir", str(ca_dir), "sign-user", "--pubkey", str(user_key), *args)
    assert code == 2 and message in output
    assert not (tmp_path / "id_ed25519-cert.pub").exists()
