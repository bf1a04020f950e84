"""The digest of a file's content, for any file name.

pyinfra's `files.Sha1File` parses `sha1sum <path>`, whose output GNU coreutils escapes (a
leading backslash) when the name contains a backslash, as systemd unit names like
`mnt-gpu\\x2dstorage.mount` do; the fact then reads as None and `files.put` uploads on every
run. Reading the content on stdin avoids the file name in the output.
"""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand


class ContentSha1(FactBase[str | None]):
    """
    SHA1 of a regular file's content, or None when the file does not exist.

    .. code:: python

        "3f786850e387550fdab836ed7e6dc881de23001b"
    """

    def requires_command(self, path: str) -> str:
        return "sha1sum"

    def command(self, path: str) -> StringCommand:
        return StringCommand("if", "[", "-f", QuoteString(path), "];", "then", "sha1sum", "<", QuoteString(path), ";", "fi")

    def process(self, output: list[str]) -> str | None:
        return output[0].split()[0] if output else None
