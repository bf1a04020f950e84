"""`goldentooth ssh-ca`: the operator's SSH CAs, user certificates and known_hosts files.

`status` reads host certificates from the operator's local record (`issued.jsonl`: the last host
certificate the deploy installed per host), so it needs no network; the health checks
(`goldentooth test`) verify what each host actually presents.
"""

from __future__ import annotations

import getpass
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

import click

from ..errors import GoldentoothError
from ..model import Cluster
from ..pki import cluster as identities
from ..pki.certificates import CertificateRequest, Issuer, RequestError, describe, fingerprint, parse
from ..pki.sshca import AUTHORITIES, CADirectory
from ..validation import parse_duration
from . import EXIT_FAILED, EXIT_INVALID, Context, cli, pass_context

MAX_USER_VALIDITY = 24 * 3600
USER_EXTENSIONS = ("permit-pty",)
FORWARDING_EXTENSIONS = ("permit-agent-forwarding", "permit-port-forwarding")


def _fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    click.echo(f"goldentooth: {message}", err=True)
    sys.exit(code)


class CAContext:
    """The inventory context plus the CA directory chosen by --ca-dir or data `ssh_ca_dir`."""

    def __init__(self, context: Context, ca_dir: str | None):
        self.context = context
        self.option = ca_dir
        self._cluster: Cluster | None = None

    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            self._cluster = self.context.cluster()
        return self._cluster

    @property
    def ca_dir(self) -> CADirectory:
        """--ca-dir, else the hosts' `ssh_ca_dir` (the directory the deploy signs with; one for all)."""
        if self.option:
            return CADirectory.at(self.option)
        chosen = {str(host.get("ssh_ca_dir")) for host in self.cluster.hosts.values() if host.get("ssh_ca_dir")}
        if len(chosen) > 1:
            _fail(f"hosts name different ssh_ca_dir values ({', '.join(sorted(chosen))}): give --ca-dir")
        return CADirectory.at(chosen.pop() if chosen else self.cluster.settings.get("ssh_ca_dir"))

    def write_known_hosts(self) -> Path:
        """The operator's @cert-authority known_hosts for OpenSSH tools."""
        line = identities.cert_authority_line(self.cluster, self.ca_dir.authority("host").public_line())
        self.ca_dir.write_public(self.ca_dir.known_hosts, line)
        return self.ca_dir.known_hosts


pass_ca = click.make_pass_decorator(CAContext)


@cli.group(name="ssh-ca")
@click.option("--ca-dir", type=click.Path(file_okay=False), help="CA directory (default: data `ssh_ca_dir`).")
@pass_context
@click.pass_context
def ssh_ca(ctx: click.Context, context: Context, ca_dir: str | None) -> None:
    """The operator's SSH host and user CAs (kept on this machine only)."""
    ctx.obj = CAContext(context, ca_dir)


@ssh_ca.command()
@pass_ca
def init(ca: CAContext) -> None:
    """Create the host CA and the user CA (ed25519); refuse to overwrite existing keys."""
    try:
        made = ca.ca_dir.init()
        known_hosts = ca.write_known_hosts()
    except GoldentoothError as error:
        _fail(str(error))
    for path in made:
        click.echo(f"created {path}")
    click.echo(f"wrote {known_hosts}")


@ssh_ca.command()
@pass_ca
def status(ca: CAContext) -> None:
    """Show both CAs and, per host, the last host certificate installed (principals, days left)."""
    now = int(time.time())
    for kind in AUTHORITIES:
        authority = ca.ca_dir.authority(kind)
        try:
            line = authority.public_line()
        except GoldentoothError as error:
            _fail(str(error), EXIT_FAILED)
        mode = oct(authority.key_path.stat().st_mode & 0o777) if authority.key_path.exists() else "missing"
        click.echo(f"{kind} CA  {fingerprint(line)}  {authority.key_path} ({mode})")
    latest: dict[str, dict] = {}
    if ca.ca_dir.issued_log.exists():
        for raw in ca.ca_dir.issued_log.read_text(encoding="utf-8").splitlines():
            entry = json.loads(raw)
            if entry["type"] == "host":
                latest[entry["key_id"]] = entry
    for name in ca.cluster.hosts:
        entry = latest.get(name)
        if entry is None:
            click.echo(f"{name:<10} no host certificate issued")
            continue
        days = identities.days_left(entry, now)
        state = "EXPIRED" if days <= 0 else f"{days:.1f} days left"
        click.echo(f"{name:<10} {state:<16} serial {entry['serial']}  {','.join(entry['principals'])}")


@ssh_ca.command(name="sign-user")
@click.option("--principal", "principals", multiple=True, default=("root",), show_default=True, help="Repeatable.")
@click.option("--validity", default="8h", show_default=True, help="Duration, at most 24h (e.g. 16h, 90m).")
@click.option("--pubkey", type=click.Path(exists=True, dir_okay=False), default=None, help="Default ~/.ssh/id_ed25519.pub.")
@click.option("--allow-forwarding", is_flag=True, help="Also permit agent and port forwarding.")
@pass_ca
def sign_user(ca: CAContext, principals: tuple[str, ...], validity: str, pubkey: str | None, allow_forwarding: bool) -> None:
    """Issue a short-lived user certificate for your public key, signed by the user CA.

    Writes `<key>-cert.pub` beside the public key, where OpenSSH and pyinfra find it.
    """
    seconds = parse_duration(validity)
    if seconds is None or seconds <= 0:
        _fail(f"--validity {validity!r} is not a duration like 16h or 90m")
    if seconds > MAX_USER_VALIDITY:
        _fail(f"--validity {validity} is longer than 24h: user certificates are short-lived")
    replication = ca.cluster.settings.get("ssh_replication_principal", "zfs-replication")
    if replication in principals:
        _fail(f"principal {replication!r} is reserved for ZFS replication and never issued to people")
    key_path = Path(pubkey or Path.home() / ".ssh" / "id_ed25519.pub")
    if not key_path.is_file() or key_path.suffix != ".pub":
        _fail(f"{key_path} is not a public key file (*.pub)")
    extensions = USER_EXTENSIONS + (FORWARDING_EXTENSIONS if allow_forwarding else ())
    try:
        request = CertificateRequest(
            "user", f"{getpass.getuser()}@{socket.gethostname()}", principals, seconds, extensions=extensions
        )
        issuer = Issuer(ca.ca_dir, int(time.time()))
        subject = key_path.read_text(encoding="utf-8").strip()
        line = issuer.sign(request, subject, comment=request.key_id)
    except (GoldentoothError, RequestError, ValueError) as error:
        _fail(str(error))
    out = key_path.with_name(key_path.name.removesuffix(".pub") + "-cert.pub")
    ca.ca_dir.write_public(out, line + "\n")
    issuer.record(line, subject)
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issuer.now + seconds))
    click.echo(f"wrote {out}: principals {', '.join(principals)}; valid until {expiry}")


def _scan(address: str, certificate: bool) -> list[str]:
    """Key lines (`<type> <base64>`) an ssh-keyscan of the host returns.

    Plain keys come as `<host> <type> <base64>`, certificates (-c) as `<type> <base64>`.
    """
    argv = ["ssh-keyscan", "-T", "5", "-t", "ed25519"] + (["-c"] if certificate else []) + [address]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    keys = []
    for fields in (line.split() for line in result.stdout.splitlines() if line and not line.startswith("#")):
        start = next((i for i, field in enumerate(fields) if field.startswith("ssh-")), None)
        if start is not None and len(fields) > start + 1:
            keys.append(f"{fields[start]} {fields[start + 1]}")
    return keys


@ssh_ca.command(name="refresh-known-hosts")
@click.option("--bootstrap", "bootstrap", default="", help="Hosts (comma-separated) without a certificate yet.")
@click.option("--yes", is_flag=True, help="Accept the bootstrap fingerprints shown without asking.")
@pass_ca
def refresh_known_hosts(ca: CAContext, bootstrap: str, yes: bool) -> None:
    """Rebuild pyinfra's plain known_hosts from CA-verified host certificates (ssh-keyscan -c).

    pyinfra 3.10 cannot read `@cert-authority` lines, so it gets each host's plain key, written
    only after the host's certificate verified against the host CA. --bootstrap records the plain
    key of named hosts after you confirm its fingerprint out of band.
    """
    cluster = ca.cluster
    try:
        host_ca = ca.ca_dir.authority("host").public_line()
        first_contact = {host.name for host in cluster.select(bootstrap)} if bootstrap else set()
    except KeyError as error:
        _fail(f"{error.args[0]!r} is neither a host nor a group")
    except GoldentoothError as error:
        _fail(str(error))
    now, lines, missing = int(time.time()), [], []
    for host in cluster.hosts.values():
        key = None
        for certificate in _scan(host.address, certificate=True):
            problems = identities.host_certificate_problems(certificate, host, host_ca, now)
            if not problems:
                key = describe(parse(certificate))["public_key"]
            else:
                click.echo(f"{host.name}: certificate refused: {'; '.join(problems)}", err=True)
        if key is None and host.name in first_contact:
            for plain in _scan(host.address, certificate=False):
                click.echo(f"{host.name} ({host.address}) presents {fingerprint(plain)} (no valid certificate)")
                if yes or click.confirm("Does this match the host's own `ssh-keygen -lf` output?"):
                    key = plain
        if key is None:
            missing.append(host.name)
            continue
        lines.append(f"{host.name},{host.address} {key}\n")
    ca.ca_dir.write_public(ca.ca_dir.pyinfra_known_hosts, "".join(lines))
    ca.write_known_hosts()
    click.echo(f"wrote {ca.ca_dir.pyinfra_known_hosts} ({len(lines)} host(s)) and {ca.ca_dir.known_hosts}")
    if missing:
        _fail(f"no verified host key for: {', '.join(missing)} (pyinfra will refuse them)", EXIT_FAILED)

