"""The lab's archive signing key: generated once into the lab cache, never committed.

The key lives in its own GnuPG home under the cache directory. Every signing call stops the
gpg-agent it started, so no process outlives a repository build.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

KEY_UID = "goldentooth lab archive signing key <lab@goldentooth.invalid>"


class LabKey:
    """An ed25519 signing key in ``home`` (a private GnuPG home, mode 0700)."""

    def __init__(self, home: Path):
        self.home = home

    @classmethod
    def ensure(cls, cache_dir: Path) -> LabKey:
        """The key in ``cache_dir/gnupg``, generated on first use."""
        key = cls(cache_dir / "gnupg")
        if not (key.home / "fingerprint").exists():
            key._generate()
        return key

    @property
    def fingerprint(self) -> str:
        return (self.home / "fingerprint").read_text().strip()

    def public_armoured(self) -> str:
        """The ASCII-armoured public key (what upstream serves as Release.key or gpg)."""
        return self._gpg("--armor", "--export", self.fingerprint).stdout.decode()

    def sign(self, source: Path, target: Path, *, clear: bool) -> None:
        """Clearsign ``source`` into ``target`` or write a detached armoured signature."""
        mode = "--clearsign" if clear else "--detach-sign"
        self._gpg("--yes", "--armor", "--digest-algo", "SHA256", "--local-user", self.fingerprint,
                  "--output", str(target), mode, str(source))

    def _generate(self) -> None:
        self.home.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".gnupg-", dir=self.home.parent))
        pending = LabKey(staging)
        pending._gpg("--passphrase", "", "--quick-generate-key", KEY_UID, "ed25519", "sign", "3y")
        listing = pending._gpg("--with-colons", "--list-secret-keys").stdout.decode()
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        (staging / "fingerprint").write_text(fingerprint + "\n")
        if self.home.exists():
            shutil.rmtree(self.home)
        staging.rename(self.home)

    def _gpg(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        """Run gpg in this home, then stop its agent.

        gpg-agent's socket lives in the home directory and socket paths are limited to about 100
        bytes, so gpg is pointed at the home through a short symlink in the temporary directory.
        """
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(prefix="gt-gpg-") as short:
            home = Path(short) / "h"
            home.symlink_to(self.home.resolve())
            command = ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--pinentry-mode", "loopback", *args]
            try:
                result = subprocess.run(command, capture_output=True)
            finally:
                subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True)
        if result.returncode != 0:
            raise RuntimeError(f"gpg {' '.join(args[:2])} failed: {result.stderr.decode(errors='replace').strip()}")
        return result
