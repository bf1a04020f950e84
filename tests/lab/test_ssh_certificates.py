"""SSH certificates end to end over real OpenSSH against lab nodes (spec 90 checks 11–18, 21).

Boots allyrion (replication source), bettley and erenford (replica) in a lab of their own, with a
CA directory of its own, deploys deploys/ssh_certificates.py twice and logs in with certificates.
Connections use a client configuration that only carries the lab's ProxyCommand, a known_hosts
file holding only the `@cert-authority` line and a throw-away key that no authorized_keys lists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from goldentooth import PROJECT_ROOT
from goldentooth.pki.certificates import CertificateRequest, Issuer, fingerprint
from goldentooth.pki.sshca import CADirectory
from goldentooth.pyinfra_run import RunReport, pyinfra_executable

pytestmark = [
    pytest.mark.lab,
    pytest.mark.e2e,
    pytest.mark.operator,
    pytest.mark.skipif(os.geteuid() != 0, reason="lab tests need root (network namespaces, systemd-nspawn)"),
]

NODES = {"allyrion": "10.4.0.10", "bettley": "10.4.0.11", "erenford": "10.4.0.14"}
DEPLOY = PROJECT_ROOT / "deploys" / "ssh_certificates.py"
BIN = Path(sys.executable).parent
pytest.importorskip("goldentooth.lab", reason="the lab runtime (`goldentooth lab`) is not installed")


@dataclass
class Lab:
    dir: Path
    env: dict[str, str]
    ca: CADirectory
    outputs: list[str]
    first: RunReport | None = None

    @property
    def inventory(self) -> Path:
        return self.dir / "inventory.py"

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(list(argv), env=self.env, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)
        self.outputs += [result.stdout, result.stderr]
        if check:
            assert result.returncode == 0, f"{argv}: {result.stdout}\n{result.stderr}"
        return result

    def goldentooth(self, *args: str, inventory: Path = PROJECT_ROOT / "inventory.py",
                    check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(BIN / "goldentooth"), "-i", str(inventory), *args, check=check)

    def deploy(self) -> RunReport:
        result = self.run(pyinfra_executable(), str(self.inventory), "--json", "-y", str(DEPLOY), check=False)
        report = RunReport.from_json(json.loads(result.stdout[result.stdout.index("{") :]))
        assert result.returncode == 0 and not report.failed_hosts, result.stderr
        return report

    def in_fabric(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`goldentooth -i <lab inventory> ARGS` inside the lab's fabric namespace (nodes reachable)."""
        ssh_config = (self.dir / "ssh_config").read_text()
        fabric = ssh_config.split("nsenter --net=", 1)[1].split()[0]
        return self.run("nsenter", f"--net={fabric}", str(BIN / "goldentooth"), "-i", str(self.inventory), *args, check=check)

    def on(self, node: str, command: str) -> str:
        """Run a command on a node as root through the lab's own access."""
        return self.run("ssh", "-F", str(self.dir / "ssh_config"), node, command).stdout


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("sshcert-lab")
    secrets = base / "secrets.yaml"
    secrets.write_text("haproxy_stats_password: lab-only\n")
    secrets.chmod(0o600)
    env = {
        **os.environ,
        "GOLDENTOOTH_LAB_DIR": str(base / "state"),
        "GOLDENTOOTH_LAB_NAME": f"sc{os.getpid() % 10000}",
        "GOLDENTOOTH_SECRETS": str(secrets),
    }
    # `lab up` makes the lab's own CAs (as `ssh-ca init` does) in the CA directory of its data.
    lab = Lab(base / "state", env, CADirectory.at(base / "state" / "ssh-ca"), [])
    lab.goldentooth("lab", "up", "--hosts", ",".join(NODES), "--no-repo")
    try:
        refused = lab.goldentooth("ssh-ca", "init", inventory=lab.inventory, check=False)
        assert refused.returncode != 0 and "refusing to overwrite existing CA files" in refused.stderr
        lab.first = lab.deploy()
        yield lab
    finally:
        lab.goldentooth("lab", "down")


@pytest.fixture(scope="module")
def client(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A client directory: ssh config with only the ProxyCommand, a known_hosts with only the CA line."""
    directory = tmp_path_factory.mktemp("client")
    proxy = next(line.strip() for line in (lab.dir / "ssh_config").read_text().splitlines() if line.strip().startswith("ProxyCommand "))
    (directory / "config").write_text(f"Host *\n    {proxy}\n    ConnectTimeout 10\n")
    known_hosts = lab.ca.known_hosts.read_text()
    assert known_hosts.startswith("@cert-authority *.nodes.goldentooth.net,allyrion,bettley,erenford,10.4.0.10,10.4.0.11,10.4.0.14 ")
    assert len(known_hosts.splitlines()) == 1
    (directory / "known_hosts").write_text(known_hosts)
    lab.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab-test", "-f", str(directory / "id_test"))
    return directory


def user_cert(lab: Lab, client: Path, name: str, principals: tuple[str, ...], *, now: int, validity: int,
              ca: CADirectory | None = None, options: dict[str, str] | None = None) -> Path:
    request = CertificateRequest("user", name, principals, validity, options or {}, ("permit-pty",))
    line = Issuer(ca or lab.ca, now).sign(request, (client / "id_test.pub").read_text().strip())
    path = client / f"{name}-cert.pub"
    path.write_text(line + "\n")
    return path


def ssh(lab: Lab, client: Path, certificate: Path, address: str, alias: str, *command: str,
        known_hosts: Path | None = None) -> subprocess.CompletedProcess[str]:
    return lab.run(
        "ssh", "-F", str(client / "config"),
        "-o", f"UserKnownHostsFile={known_hosts or client / 'known_hosts'}", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
        "-o", f"HostKeyAlias={alias}", "-i", str(client / "id_test"), "-o", f"CertificateFile={certificate}",
        f"root@{address}", *(command or ("true",)), check=False,
    )


def test_the_cert_authority_line_alone_verifies_every_node_by_name_fqdn_and_address(lab: Lab, client: Path) -> None:
    now = int(time.time())
    certificate = user_cert(lab, client, "lab-test-login", ("root",), now=now, validity=300)
    for node, address in NODES.items():
        assert lab.ca.authority("user").public_line() not in lab.on(node, "cat /root/.ssh/authorized_keys")
        assert (client / "id_test.pub").read_text().split()[1] not in lab.on(node, "cat /root/.ssh/authorized_keys")
        for alias in (node, f"{node}.nodes.goldentooth.net", address):
            result = ssh(lab, client, certificate, address, alias, "hostname")
            assert (result.returncode, result.stdout.strip()) == (0, node), result.stderr
        journal = lab.on(node, "journalctl -u ssh.service --no-pager -o cat")
        assert (
            f"ED25519-CERT {fingerprint((client / 'id_test.pub').read_text())} ID lab-test-login (serial "
            in journal
        )
        assert f"CA ED25519 {fingerprint(lab.ca.authority('user').public_line())}" in journal


def test_an_unlisted_name_is_not_a_principal(lab: Lab, client: Path) -> None:
    certificate = user_cert(lab, client, "lab-test-alias", ("root",), now=int(time.time()), validity=300)
    result = ssh(lab, client, certificate, NODES["allyrion"], "bettley")
    assert result.returncode == 255
    assert "Certificate invalid: name is not a listed principal" in result.stderr
    assert "Host key verification failed." in result.stderr


def test_another_host_ca_fails_host_verification(lab: Lab, client: Path, tmp_path: Path) -> None:
    other = CADirectory.at(tmp_path / "other-ca")
    other.init()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(lab.ca.known_hosts.read_text().replace(
        lab.ca.authority("host").public_line(), other.authority("host").public_line()))
    certificate = user_cert(lab, client, "lab-test-hostca", ("root",), now=int(time.time()), validity=300)
    result = ssh(lab, client, certificate, NODES["bettley"], "bettley", known_hosts=known_hosts)
    assert result.returncode == 255 and "Host key verification failed." in result.stderr


@pytest.mark.parametrize("case", ["expired", "foreign CA", "principal not listed"])
def test_bad_user_certificates_are_refused(lab: Lab, client: Path, tmp_path: Path, case: str) -> None:
    now = int(time.time())
    if case == "expired":  # valid from now-2h to now-1h
        certificate = user_cert(lab, client, "lab-test-expired", ("root",), now=now - 7200 + 300, validity=3600 - 300)
    elif case == "foreign CA":
        foreign = CADirectory.at(tmp_path / "foreign")
        foreign.init()
        certificate = user_cert(lab, client, "lab-test-foreign", ("root",), now=now, validity=300, ca=foreign)
    else:
        certificate = user_cert(lab, client, "lab-test-nobody", ("nobody",), now=now, validity=300)
    result = ssh(lab, client, certificate, NODES["bettley"], "bettley")
    assert result.returncode == 255
    assert "Permission denied (publickey" in result.stderr
    if case == "expired":
        assert "Certificate invalid: expired" in lab.on("bettley", "journalctl -u ssh.service --no-pager -o cat")


def test_replication_identity_logs_in_to_replicas_only_without_pty(lab: Lab) -> None:
    base = "ssh -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -i /root/.ssh/id_ed25519_zfs_replication"
    assert lab.on("allyrion", f"{base} root@{NODES['erenford']} hostname").strip() == "erenford"
    tty = lab.run("ssh", "-F", str(lab.dir / "ssh_config"), "allyrion", f"{base} -tt root@{NODES['erenford']} true", check=False)
    assert "PTY allocation request failed" in tty.stdout + tty.stderr
    refused = lab.run("ssh", "-F", str(lab.dir / "ssh_config"), "allyrion", f"{base} root@{NODES['bettley']} true", check=False)
    assert refused.returncode == 255 and "Permission denied (publickey" in refused.stderr


def test_replication_principal_is_refused_from_elsewhere(lab: Lab, client: Path) -> None:
    now = int(time.time())
    for name, options in (("lab-test-repl-source", {"source-address": "10.4.0.10/32"}), ("lab-test-repl-any", {})):
        request = CertificateRequest("user", name, ("zfs-replication",), 300, options)
        path = client / f"{name}-cert.pub"
        path.write_text(Issuer(lab.ca, now).sign(request, (client / "id_test.pub").read_text().strip()) + "\n")
        result = ssh(lab, client, path, NODES["erenford"], "erenford")
        assert result.returncode == 255, result.stdout


def test_second_run_re_signs_nothing_and_does_not_reload_sshd(lab: Lab) -> None:
    assert lab.first is not None and lab.first.change_count > 0
    issued = lab.ca.issued_log.read_text().splitlines()
    assert sorted(json.loads(line)["key_id"] for line in issued) == ["allyrion", "bettley", "erenford", "zfs-replication@allyrion"]
    started = {node: lab.on(node, "systemctl show -p ExecMainStartTimestampMonotonic ssh.service") for node in NODES}
    since = lab.on("bettley", "date '+%Y-%m-%d %H:%M:%S'").strip()
    time.sleep(1)
    second = lab.deploy()
    assert second.change_count == 0, dict(second.changed)
    assert lab.ca.issued_log.read_text().splitlines() == issued
    for node in NODES:
        assert lab.on(node, "systemctl show -p ExecMainStartTimestampMonotonic ssh.service") == started[node]
        journal = lab.on(node, f"journalctl -u ssh.service --no-pager -o cat --since '{since}'")
        assert "Reloading" not in journal and "Stopping" not in journal


def test_ca_private_keys_are_on_no_node_and_in_no_output(lab: Lab) -> None:
    """Every private key file on every node is loaded here and compared with the CAs."""
    ca_public = [lab.ca.authority(kind).public_key() for kind in ("host", "user")]
    for node in NODES:
        listing = lab.on(node, "grep -rlsI --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -e 'PRIVATE KEY-----' / || true")
        paths = [path for path in listing.splitlines() if path]
        assert "/root/.ssh/id_ed25519_zfs_replication" in paths or node != "allyrion"
        for path in paths:
            text = lab.on(node, f"cat '{path}'")
            if "BEGIN OPENSSH PRIVATE KEY" in text:
                key = serialization.load_ssh_private_key(text.encode(), password=None)
                assert key.public_key() not in ca_public, f"{node}:{path} holds a CA private key"
    secret_lines = [
        line
        for kind in ("host", "user")
        for line in lab.ca.authority(kind).key_path.read_text().splitlines()[2:-1]
    ]
    assert secret_lines and not any(line in output for output in lab.outputs for line in secret_lines)


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("PermitRootLogin maybe\n", "unsupported option"),
        ("HostCertificate /etc/ssh/no-such-cert.pub\n", "Could not load host certificate"),
    ],
)
def test_a_rejected_dropin_is_restored_and_sshd_keeps_running(lab: Lab, tmp_path: Path, content: str, complaint: str) -> None:
    """sshd -t must exit 0 with empty stderr; otherwise the previous drop-in comes back."""
    path = "/etc/ssh/sshd_config.d/10-goldentooth-certificates.conf"
    before = lab.on("bettley", f"cat {path}")
    started = lab.on("bettley", "systemctl show -p ExecMainStartTimestampMonotonic ssh.service")
    deploy = tmp_path / "bad_dropin.py"
    deploy.write_text(
        "from operations import sshd\n"
        f"sshd.config_dropin(name='Install a drop-in sshd rejects', path={path!r}, content={content!r})\n"
    )
    result = lab.run(pyinfra_executable(), str(lab.inventory), "--limit", "bettley", "-y", str(deploy), check=False)
    assert result.returncode != 0
    assert complaint in result.stdout + result.stderr
    assert lab.on("bettley", f"cat {path}") == before
    assert lab.on("bettley", f"ls {path}.goldentooth-previous {path}.goldentooth-new 2>/dev/null || true") == ""
    assert lab.run("ssh", "-F", str(lab.dir / "ssh_config"), "bettley", "/usr/sbin/sshd -t").stderr == ""
    assert lab.on("bettley", "systemctl show -p ExecMainStartTimestampMonotonic ssh.service") == started


def test_pyinfra_connects_strictly_with_ca_verified_plain_keys(lab: Lab) -> None:
    """Check 18: refresh-known-hosts (run where the nodes are reachable) verifies each presented
    certificate and writes plain keys; pyinfra, strict, connects with that file and changes nothing."""
    lab.in_fabric("ssh-ca", "refresh-known-hosts")
    plain = lab.ca.pyinfra_known_hosts.read_text()
    assert "@" not in plain
    lab_keys = {
        (line.split()[0].split(",")[0], line.split()[2])
        for line in (lab.dir / "known_hosts").read_text().splitlines()
        if line.split()[1:2] == ["ssh-ed25519"]
    }
    assert {(line.split()[0].split(",")[0], line.split()[2]) for line in plain.splitlines()} == lab_keys
    result = lab.run(
        pyinfra_executable(), str(lab.inventory), "--json", "-y",
        "--data", f"ssh_known_hosts_file={lab.ca.pyinfra_known_hosts}", "--data", "ssh_strict_host_key_checking=yes",
        str(DEPLOY),
    )
    report = RunReport.from_json(json.loads(result.stdout[result.stdout.index("{") :]))
    assert not report.failed_hosts and report.change_count == 0


def test_refresh_trusts_no_foreign_certificate_and_bootstraps_only_named_hosts(lab: Lab, tmp_path: Path) -> None:
    """With another host CA every presented certificate is refused; --bootstrap records only the
    named host's plain key, after printing its fingerprint."""
    other = tmp_path / "other-ca"
    lab.in_fabric("ssh-ca", "--ca-dir", str(other), "init")
    refused = lab.in_fabric("ssh-ca", "--ca-dir", str(other), "refresh-known-hosts", check=False)
    assert refused.returncode == 1
    assert refused.stderr.count("certificate refused: not signed by the host CA") == len(NODES)
    assert (other / "pyinfra_known_hosts").read_text() == ""
    booted = lab.in_fabric("ssh-ca", "--ca-dir", str(other), "refresh-known-hosts", "--bootstrap", "bettley", "--yes", check=False)
    assert booted.returncode == 1 and "no verified host key for: allyrion, erenford" in booted.stderr
    lab_key = next(
        line.split()[2] for line in (lab.dir / "known_hosts").read_text().splitlines()
        if line.startswith("bettley,") and line.split()[1] == "ssh-ed25519"
    )
    assert f"bettley (10.4.0.11) presents {fingerprint('ssh-ed25519 ' + lab_key)}" in booted.stdout
    assert (other / "pyinfra_known_hosts").read_text() == f"bettley,10.4.0.11 ssh-ed25519 {lab_key}\n"
