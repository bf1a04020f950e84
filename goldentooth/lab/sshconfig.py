"""The lab's SSH client files: operator key, known_hosts of the nodes, and an ssh_config.

The ssh_config reaches each node through a ProxyCommand that opens the TCP connection inside the
lab's fabric namespace; OpenSSH, pyinfra (paramiko) and testinfra all honour it. Host keys are the
ones the lab generated for each node, so StrictHostKeyChecking stays on.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..model import Cluster
from ..pki.cluster import cert_authority_line
from ..pki.sshca import AUTHORITIES, CADirectory
from .command import run
from .network import netns_path

RELAY = Path(__file__).with_name("relay.py")


def ensure_operator_key(key: Path) -> str:
    """Create the lab's operator key (ed25519, no passphrase) once; return its public half."""
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "goldentooth-lab-operator", "-f", str(key)])
    return key.with_suffix(".pub").read_text(encoding="utf-8").strip()


def ensure_ssh_ca(directory: Path, cluster: Cluster) -> bool:
    """The lab's own host and user CAs (never the operator's), made once, with the `@cert-authority`
    known_hosts of the lab's hosts as `goldentooth ssh-ca init` writes it; True when made now."""
    ca_dir = CADirectory.at(directory)
    made = not all(ca_dir.authority(kind).pub_path.exists() for kind in AUTHORITIES)
    if made:
        ca_dir.init()
    ca_dir.write_public(ca_dir.known_hosts, cert_authority_line(cluster, ca_dir.authority("host").public_line()))
    return made


def proxy_command(fabric: str) -> str:
    """nsenter into the fabric namespace and relay stdin/stdout to %h:%p."""
    nsenter = shutil.which("nsenter") or "nsenter"
    argv = [nsenter, f"--net={netns_path(fabric)}", sys.executable, "-I", "-S", str(RELAY), "%h", "%p"]
    return " ".join(shlex.quote(part) if "%" not in part else part for part in argv)


def write_known_hosts(path: Path, names: Mapping[str, Sequence[str]], keys: Mapping[str, Sequence[str]]) -> None:
    """One line per node and key type: `name,address,fqdn keytype key`."""
    lines = []
    for node, aliases in names.items():
        for key in keys[node]:
            keytype, blob = key.split()[:2]
            lines.append(f"{','.join(aliases)} {keytype} {blob}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_ssh_config(path: Path, lab: str, fabric: str, hosts: Mapping[str, tuple[str, str]], key: Path,
                     known_hosts: Path, control_dir: Path) -> None:
    """An ssh_config with one Host entry per node: `hosts` maps name -> (address, fqdn)."""
    control_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    common = [
        "User root",
        f"IdentityFile {key}",
        "IdentitiesOnly yes",
        f"UserKnownHostsFile {known_hosts}",
        "GlobalKnownHostsFile /dev/null",
        "StrictHostKeyChecking yes",
        f"ProxyCommand {proxy_command(fabric)}",
        "ControlMaster auto",
        f"ControlPath {control_dir}/%C",
        "ControlPersist 60s",
        "ConnectTimeout 10",
        "ServerAliveInterval 15",
    ]
    blocks = [f"# Lab {lab}: written by `goldentooth lab up`, removed by `goldentooth lab down`."]
    for name, (address, fqdn) in hosts.items():
        blocks.append("\n".join([f"Host {name} {fqdn}", f"    HostName {address}", *(f"    {line}" for line in common)]))
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def close_masters(ssh_config: Path, hosts: Sequence[str]) -> None:
    """Stop the SSH control masters of this lab (they would linger up to ControlPersist)."""
    if not ssh_config.is_file():
        return
    for host in hosts:
        run(["ssh", "-F", str(ssh_config), "-O", "exit", host], check=False)
