"""Facts about apt signing keys kept in /etc/apt/keyrings and the URL each comes from."""

from __future__ import annotations

from typing import Any

from pyinfra.api import FactBase, QuoteString, StringCommand

#: apt's own downloader: present wherever apt is, needs neither curl nor wget.
APT_HELPER = "/usr/lib/apt/apt-helper"
ARMOUR = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


class KeyDigests(FactBase[dict[str, Any]]):
    """
    sha256 of the key published at ``url`` (fetched now, on the host, with apt's downloader) and of
    the key file at ``path``. ``remote`` None: the URL could not be fetched; ``local`` None: no
    file; ``armoured``: the fetched key is an ASCII-armoured PGP public key block.

    .. code:: python

        {"remote": "3f1c...", "local": "3f1c...", "armoured": True}
    """

    default = dict

    def command(self, url: str, path: str) -> StringCommand:
        key = QuoteString(path)
        return StringCommand(
            'tmp=$(mktemp -d) && chmod 0755 "$tmp" &&',
            APT_HELPER, "download-file", QuoteString(url), '"$tmp/key"', ">/dev/null", "2>&1", "&&",
            'echo "remote=$(sha256sum < "$tmp/key" | cut -d" " -f1)" &&',
            "grep", "-q", "--", QuoteString(ARMOUR), '"$tmp/key"', "&&", "echo", "armoured=yes", ";",
            'rm -rf "$tmp" ;',
            "if", "test", "-f", key, ";", "then",
            'echo "local=$(sha256sum <', key, '| cut -d" " -f1)"', ";", "fi",
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        values = dict(line.strip().partition("=")[::2] for line in output if "=" in line)
        return {
            "remote": values.get("remote") or None,
            "local": values.get("local") or None,
            "armoured": values.get("armoured") == "yes",
        }
