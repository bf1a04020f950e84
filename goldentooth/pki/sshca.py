"""The CA directory on the operator's machine: creating and loading the host and user CAs.

Layout (spec 90 §1): `host_ca`/`user_ca` (ed25519, OpenSSH private format, 0600), their `.pub`
files (0644), `issued.jsonl` (0600), `known_hosts` and `pyinfra_known_hosts` (0644), all in a
0700 directory. Private keys are created with `cryptography`, never overwritten and never
loaded when group- or world-readable.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import GoldentoothError

#: The two authorities: file stem -> comment of the public key line.
AUTHORITIES = {"host": "goldentooth-host-ca", "user": "goldentooth-user-ca"}
ENV_VAR = "GOLDENTOOTH_SSH_CA_DIR"


class CAError(GoldentoothError):
    """A CA directory or key is missing, unsafe or would be overwritten."""


def default_ca_dir() -> Path:
    """$GOLDENTOOTH_SSH_CA_DIR, else ${XDG_DATA_HOME:-~/.local/share}/goldentooth/ssh-ca."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "goldentooth" / "ssh-ca"


def public_line(key: Ed25519PublicKey, comment: str) -> str:
    """`ssh-ed25519 AAAA… comment` (no newline)."""
    blob = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{blob} {comment}"


def _write_new(path: Path, content: bytes, mode: int) -> None:
    """Create a file that must not exist yet, with its final mode from the first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    os.chmod(path, mode)


@dataclass(frozen=True)
class CertificateAuthority:
    """One CA of a CA directory: its kind (`host` or `user`) and files."""

    directory: Path
    kind: str

    @property
    def key_path(self) -> Path:
        return self.directory / f"{self.kind}_ca"

    @property
    def pub_path(self) -> Path:
        return self.directory / f"{self.kind}_ca.pub"

    def public_line(self) -> str:
        """The public key line as stored in `<kind>_ca.pub` (no newline)."""
        try:
            return self.pub_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise CAError(f"{self.pub_path} is missing: run `goldentooth ssh-ca init`") from None

    def public_key(self) -> Ed25519PublicKey:
        key = serialization.load_ssh_public_key(self.public_line().encode())
        if not isinstance(key, Ed25519PublicKey):
            raise CAError(f"{self.pub_path} is not an ed25519 key")
        return key

    def private_key(self) -> Ed25519PrivateKey:
        """Load the signing key; refuse a file or directory others can read."""
        for path in (self.directory, self.key_path):
            if not path.exists():
                raise CAError(f"{path} is missing: run `goldentooth ssh-ca init`")
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise CAError(f"{path} is accessible by group or others (mode {mode:04o}); run: chmod go-rwx {path}")
        key = serialization.load_ssh_private_key(self.key_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CAError(f"{self.key_path} is not an ed25519 key")
        if key.public_key() != self.public_key():
            raise CAError(f"{self.key_path} does not match {self.pub_path}")
        return key

    def create(self) -> None:
        """Generate the key pair; never replaces an existing file."""
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        _write_new(self.key_path, private, 0o600)
        _write_new(self.pub_path, (public_line(key.public_key(), AUTHORITIES[self.kind]) + "\n").encode(), 0o644)


@dataclass(frozen=True)
class CADirectory:
    """The operator's CA directory."""

    path: Path

    @classmethod
    def at(cls, path: str | Path | None = None) -> CADirectory:
        return cls(Path(path).expanduser() if path else default_ca_dir())

    def authority(self, kind: str) -> CertificateAuthority:
        if kind not in AUTHORITIES:
            raise CAError(f"unknown CA {kind!r}; one of {', '.join(AUTHORITIES)}")
        return CertificateAuthority(self.path, kind)

    @property
    def issued_log(self) -> Path:
        return self.path / "issued.jsonl"

    @property
    def known_hosts(self) -> Path:
        return self.path / "known_hosts"

    @property
    def pyinfra_known_hosts(self) -> Path:
        return self.path / "pyinfra_known_hosts"

    def init(self) -> list[Path]:
        """Create both CAs; refuse when any of their files already exists. Returns the files made."""
        existing = [
            path
            for kind in AUTHORITIES
            for path in (self.authority(kind).key_path, self.authority(kind).pub_path)
            if path.exists()
        ]
        if existing:
            raise CAError(f"refusing to overwrite existing CA files: {', '.join(map(str, existing))}")
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.path, 0o700)
        made: list[Path] = []
        for kind in AUTHORITIES:
            self.authority(kind).create()
            made += [self.authority(kind).key_path, self.authority(kind).pub_path]
        return made

    def write_public(self, path: Path, text: str) -> None:
        """Replace a public file (known_hosts lists) atomically, mode 0644."""
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
